"""Error reports to Sentry, when SENTRY_DSN is set (docs/operations.md, "Monitoring").

Called from the settings (config/settings_parts/observability.py), so every process that loads them
reports: gunicorn's workers, Celery's workers and beat, manage.py commands. The Django, Celery and
Redis integrations add the request, the task and the Redis commands to a report.

No personal data. sentry-sdk 3 replaced the `send_default_pii` switch with `data_collection`, per
category; `PERSONAL_DATA_OFF` is what `send_default_pii=False` meant, and a little more: no user
(id, email, username, client address), no cookies, no request bodies (forms hold customers'
addresses); headers and query strings keep Sentry's default, with the values of names that look
secret (auth, token, session, csrf...) replaced by "[Filtered]".
"""

from django.core.exceptions import ImproperlyConfigured

PERSONAL_DATA_OFF = {"user_info": False, "cookies": {"mode": "off"}, "http_bodies": []}


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    if not 0.0 <= traces_sample_rate <= 1.0:
        raise ImproperlyConfigured(
            f"SENTRY_TRACES_SAMPLE_RATE={traces_sample_rate}: expected 0 (no performance traces) to 1 (all)"
        )
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.redis import RedisIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        traces_sample_rate=traces_sample_rate,
        data_collection=PERSONAL_DATA_OFF,
        integrations=[DjangoIntegration(), CeleryIntegration(), RedisIntegration()],
    )
