"""The LOGGING setting and the workers' logging (README "Configuration", docs/operations.md).

`LOG_FORMAT=plain` (the default, `make run`) writes one readable line per record; `json` writes one
JSON object per line (python-json-logger) for a log collector. Both carry the request id
(config/observability/request_id.py). With ADMINS set and DEBUG off, the errors Django logs for a
request (a 500, with its traceback) are also mailed to ADMINS (Django's AdminEmailHandler).
"""

from email.utils import getaddresses

from django.core.exceptions import ImproperlyConfigured

LOG_FORMATS = ("plain", "json")
PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"


def admins_parse(value: str) -> list[tuple[str, str]]:
    """'Ann <ann@example.com>, ops@example.com' -> [("Ann", "ann@example.com"), ("", "ops@example.com")]."""
    admins = []
    for name, address in getaddresses([value]):
        if not address:
            continue
        local, _, domain = address.partition("@")
        if not local or "." not in domain:
            raise ImproperlyConfigured(
                f"ADMINS={value!r}: {address!r} is not an email address; expected e.g. "
                f"'Ann <ann@example.com>, ops@example.com'"
            )
        admins.append((name, address))
    return admins


def logging_config(*, log_format: str, level: str, mail_admins: bool) -> dict:
    """The dictConfig for LOGGING. Raises ImproperlyConfigured on an unknown format."""
    if log_format not in LOG_FORMATS:
        raise ImproperlyConfigured(f"LOG_FORMAT={log_format!r}: expected plain or json")
    formatters = {
        "plain": {"format": PLAIN},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    }
    handlers = {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": log_format,
            "filters": ["request_id"],
        },
    }
    # Django's own DEFAULT_LOGGING also mails `django` errors to ADMINS; the `django` logger is
    # defined here so that it is this handler, once, and only when asked for.
    django_request = {"handlers": [], "level": "INFO", "propagate": True}
    if mail_admins:
        handlers["mail_admins"] = {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["request_id"],
        }
        django_request["handlers"] = ["mail_admins"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "config.observability.request_id.RequestIdFilter"}},
        "formatters": formatters,
        "handlers": handlers,
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": [], "level": "INFO", "propagate": True},
            "django.request": django_request,
            "django.db.backends": {"level": "WARNING"},
        },
    }


def worker_logging_setup(**_kwargs) -> None:
    """Celery's `setup_logging` receiver: workers and beat log with LOGGING too (JSON lines, the
    request id) instead of Celery's own format. Connected in config/celery.py."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
