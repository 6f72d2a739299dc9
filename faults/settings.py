"""Settings of the processes the fault tests start (gunicorn, Celery workers).

The production settings, DEBUG off (so an error is the real 500 page), with
only what a test on one machine needs changed: plain HTTP, static files from
the finders (CI runs no collectstatic), and broker timeouts of seconds, so a
killed worker's unacknowledged message comes back while the test waits
instead of after an hour (the production visibility timeout).
"""

from config.settings import *  # noqa: F403
from config.settings import CELERY_BROKER_TRANSPORT_OPTIONS, STORAGES, env

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    # A message taken by a worker that died is delivered again this many seconds later ...
    "visibility_timeout": env.int("FAULTS_VISIBILITY_TIMEOUT", default=3),
    # ... found by a scan of the unacknowledged messages every second (kombu's default: ~100 s).
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
# The notification sweep takes pending rows at once instead of leaving them a minute to their own message.
NOTIFICATIONS_SWEEP_GRACE_SECONDS = env.int("NOTIFICATIONS_SWEEP_GRACE_SECONDS", default=0)
