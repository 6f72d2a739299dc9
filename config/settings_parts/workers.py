"""Redis, the cache, sessions and Celery: the broker, queues, limits and the beat schedule (docs/operations.md).

Part of config/settings.py, included into it by django-split-settings (`include`): it runs in the
settings' own namespace, so it reads `env`, `BASE_DIR`, `VAR_DIR` and the settings above it, and
defines settings the same way. Every environment variable it reads has a row in README.md.
"""

# ruff: noqa: F821  (env, BASE_DIR, VAR_DIR, DEBUG... come from config/settings.py)

# --- Redis, cache and Celery ------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    # A file cache is shared by every process on the machine (web, worker), so
    # rate limits hold across gunicorn workers even without Redis.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Sessions (a guest's cart id, the checkout page's idempotency keys, sign-in) are kept in the
# database: they must outlive a Redis outage, which the cache is allowed to have (config/cache.py).
# SESSION_ENGINE=django.contrib.sessions.backends.cache moves them to Redis: no session query on any
# page (up to 4 round trips and a commit fewer where it changes), at the price of sessions (guest
# carts, sign-ins) lost with Redis, or not kept at all while it is down.
SESSION_ENGINE = env.str("SESSION_ENGINE", default="django.contrib.sessions.backends.db")

# kombu's filesystem transport ignores the host, but warns "No hostname was supplied" on every
# connection of a URL without one: "localhost" is the host it would fill in.
CELERY_BROKER_URL = REDIS_URL or "filesystem://localhost//"
if not REDIS_URL:
    # kombu's filesystem transport: messages are files in one folder, so the web
    # process, the worker and beat can talk without any server running.
    _broker_dir = VAR_DIR / "celery-broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # The worker looks in the folder every 0.1 s (kombu's default: 1 s): tasks start sooner,
        # and a worker told to stop (Ctrl+C in `make run`) notices sooner.
        "polling_interval": 0.1,
    }
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A message not acknowledged within this time is delivered again; tasks are
        # idempotent, so a redelivery after a worker died is safe.
        "visibility_timeout": 3600,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
# Publishing gives up quickly when the broker is down: the web request must not
# hang, and what the message was about is a database row a sweep will find.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = env.str("TIME_ZONE", default="UTC")
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "shop.tasks.worker_heartbeat", "schedule": 60.0},
    # Re-send emails whose broker message was lost or whose worker died.
    "sweep-notifications": {"task": "notifications.tasks.sweep_notifications", "schedule": 30.0},
    # Serve backorder queues whose "stock arrived" message was lost.
    "sweep-allocation-requests": {"task": "inventory.tasks.sweep_allocation_requests", "schedule": 60.0},
    "supplier-reminders": {"task": "inventory.tasks.send_supplier_reminders", "schedule": 3600.0},
    # Send the next back-in-stock wave of restocks whose wait is over (state lives in the database).
    "back-in-stock-waves": {"task": "notifications.tasks.send_due_back_in_stock_waves", "schedule": 60.0},
}
