"""Logging, error reports and metrics (docs/operations.md).

Part of config/settings.py, included into it by django-split-settings (`include`): it runs in the
settings' own namespace, so it reads `env`, `BASE_DIR`, `VAR_DIR` and the settings above it, and
defines settings the same way. Every environment variable it reads has a row in README.md.
"""

# ruff: noqa: F821  (env, BASE_DIR, VAR_DIR, DEBUG... come from config/settings.py)

# --- Logging ------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
