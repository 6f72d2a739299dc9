"""Settings of `make simulate`: the shop's own, with its tasks run in process and nothing shared.

Tasks run when their transaction commits, in this process (as in the test suite), so the allocation
pass, the delay check and the emails happen at the simulated time. The cache is this process's own
(the page cache and throttles never reach a running shop's), and emails are rendered but go nowhere.
The database is replaced by a throwaway one before anything runs (bench/simulate/__main__.py).
"""

from config.settings import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
DATABASES["default"].setdefault("TEST", {})  # noqa: F405  (the throwaway database's name goes here)
