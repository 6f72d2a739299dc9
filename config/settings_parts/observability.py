"""Logging, error reports and metrics (docs/operations.md, "Monitoring").

Part of config/settings.py, included into it by django-split-settings (`include`): it runs in the
settings' own namespace, so it reads `env`, `BASE_DIR`, `VAR_DIR` and the settings above it, and
defines settings the same way. Every environment variable it reads has a row in README.md.
"""

# ruff: noqa: F821  (env, BASE_DIR, VAR_DIR, DEBUG... come from config/settings.py)

from config.observability.logs import admins_parse, logging_config
from config.observability.sentry import sentry_init

# --- Logging ------------------------------------------------------------------------

# plain: one readable line per record; json: one JSON object per line (a log collector's input).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
# Who gets an email for each error Django logs for a request (a 500 with its traceback), when DEBUG
# is off: "Ann <ann@example.com>, ops@example.com". From SERVER_EMAIL (config/settings.py).
ADMINS = admins_parse(env.str("ADMINS", default=""))
LOGGING = logging_config(
    log_format=LOG_FORMAT,
    level=env.str("LOG_LEVEL", default="INFO"),
    mail_admins=bool(ADMINS) and not DEBUG,
)

# --- Sentry (optional) --------------------------------------------------------------------

SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
# Share of requests and tasks sent as performance traces (0 to 1); errors are always sent.
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if UNDER_PYTEST:
    SENTRY_DSN = ""  # a developer's DSN never receives the suite's errors
if SENTRY_DSN:
    sentry_init(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE)

# --- Metrics ------------------------------------------------------------------------------

# The bearer token Prometheus sends to /metrics; empty: the endpoint answers 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
