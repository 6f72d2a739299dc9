"""Settings for the test suite: the real settings with a few speed-ups.

DATABASE_URL and REDIS_URL still come from the environment, so the same suite
runs on SQLite (default) and on PostgreSQL + Redis (CI's second run).
"""

from .settings import *  # noqa: F403
from .settings import STORAGES

SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# Tests do not run collectstatic: let WhiteNoise find files through the finders.
WHITENOISE_AUTOREFRESH = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run inline when their on-commit hook fires; tests that need a real
# worker start one as a separate process with its own settings.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# What this process publishes to a real broker goes to the one queue the test names (its private
# default queue: `celery_via_broker`), never to the production routes' shared `mail` and `stock`
# queues. The processes the suite starts get CELERY_ROUTE_QUEUES=0 from conftest.py, which is read
# after these settings; config/tests/test_knobs.py tests the routes themselves.
CELERY_ROUTE_QUEUES = False
CELERY_TASK_ROUTES = {}
CELERY_TASK_QUEUES = None

if not REDIS_URL:  # noqa: F405
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions in the database in both runs (with and without Redis), so that the pages' exact query
# counts are the same in both.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    import os

    # One test database per test process, so parallel runs on one server never collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}  # noqa: F405

# Every test client comes from 127.0.0.1 and many tests log in as "alice": the suite would trip the
# account throttles. config/tests/test_security.py tests them at the production rates.
LOGIN_RATE_PER_IP = LOGIN_RATE_PER_USERNAME = "10000/m"
SIGNUP_RATE_PER_IP = SIGNUP_ATTEMPT_RATE_PER_IP = "10000/h"
PASSWORD_RESET_RATE_PER_IP = PASSWORD_RESET_RATE_PER_EMAIL = "10000/h"
ORDER_QUESTION_RATE_PER_IP = ORDER_QUESTION_RATE_PER_ORDER = "10000/h"

# Uploaded and generated files (the demo's product pictures) go to a folder of this test run,
# never into the developer's var/media.
import tempfile  # noqa: E402

MEDIA_ROOT = tempfile.mkdtemp(prefix="shop-test-media-")
# Invoice and credit note PDFs (invoices/services/pdf.py): a folder of this test run too.
SHOP_DOCUMENTS_ROOT = tempfile.mkdtemp(prefix="shop-test-documents-")
