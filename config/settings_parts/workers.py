"""Redis, the cache, sessions and Celery: the broker, queues, limits and the beat schedule (docs/operations.md).

Part of config/settings.py, included into it by django-split-settings (`include`): it runs in the
settings' own namespace, so it reads `env`, `BASE_DIR`, `VAR_DIR` and the settings above it, and
defines settings the same way. Every environment variable it reads has a row in README.md.
"""

# ruff: noqa: F821  (env, BASE_DIR, VAR_DIR, DEBUG... come from config/settings.py)

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

# --- Redis, cache and Celery ------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
# The broker and the cache may be two Redis servers (or databases): the broker must never drop a key
# (maxmemory-policy noeviction: an evicted message is a lost task, an evicted beat lock a second beat),
# the cache should drop the least used ones (allkeys-lru). Each defaults to REDIS_URL.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL
CACHE_REDIS_URL = env.str("CACHE_REDIS_URL", default="") or REDIS_URL

if CACHE_REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": CACHE_REDIS_URL,
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
_BROKER_IS_REDIS = CELERY_BROKER_URL.startswith(("redis://", "rediss://", "unix://"))
CELERY_BROKER_URL = CELERY_BROKER_URL or "filesystem://localhost//"
if not _BROKER_IS_REDIS:
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
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="default")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Queues, time limits and memory (docs/operations.md, "Queues") ------------------------------------

# Three task families, each on its own queue so that one kind of work never waits behind another:
# emails behind a long allocation pass, or a pass behind a 100,000-email wave. The queue is the
# family; a worker started without -Q consumes all three (CELERY_TASK_QUEUES), `-Q mail` only mail.
TASK_FAMILIES = {
    "mail": [  # sending email and webhooks: mostly waiting on the SMTP server or the receiver
        "notifications.tasks.send_notification",
        "notifications.tasks.send_notifications",
        "shop.tasks.send_password_reset",
        "webhooks.tasks.webhooks_deliver",
    ],
    "stock": [  # allocation passes and the stock side of the supplier loop: every inventory task
        "inventory.tasks.stock_arrived",
        "inventory.tasks.sweep_allocation_requests",
        "inventory.tasks.send_supplier_reminders",
    ],
}
# Off: every task goes to CELERY_TASK_DEFAULT_QUEUE, one queue for all (the test harnesses' private
# queue per run; a deployment with one kind of worker may do the same).
CELERY_ROUTE_QUEUES = env.bool("CELERY_ROUTE_QUEUES", default=True)
if CELERY_ROUTE_QUEUES:
    CELERY_TASK_ROUTES = {
        name: {"queue": family} for family, names in TASK_FAMILIES.items() for name in names
    }
    _queue_names = [CELERY_TASK_DEFAULT_QUEUE, *TASK_FAMILIES]
else:
    CELERY_TASK_ROUTES = {}
    _queue_names = [CELERY_TASK_DEFAULT_QUEUE]
# Declared as Celery declares a queue it creates by itself: its own direct exchange and routing key.
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name) for name in _queue_names]

# Soft limit: SoftTimeLimitExceeded is raised inside the task (its transaction rolls back; an email
# being sent is retried like any send error). Hard limit: the pool process is killed and replaced.
# The sweeps finish what either leaves behind (an email left "sending", an allocation request).
# Seconds; every hard limit stays below the broker's visibility timeout (3600).
TASK_TIME_LIMITS = {
    "mail": (
        env.int("CELERY_MAIL_SOFT_TIME_LIMIT", default=240),
        env.int("CELERY_MAIL_TIME_LIMIT", default=300),
    ),
    "stock": (
        env.int("CELERY_STOCK_SOFT_TIME_LIMIT", default=1500),
        env.int("CELERY_STOCK_TIME_LIMIT", default=1800),
    ),
}
# The default family (every task not named above): Celery's task-wide defaults.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=900)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1200)
for _family, (_soft, _hard) in [
    *TASK_TIME_LIMITS.items(),
    ("default", (CELERY_TASK_SOFT_TIME_LIMIT, CELERY_TASK_TIME_LIMIT)),
]:
    if not 0 < _soft < _hard < 3600:
        raise ImproperlyConfigured(
            f"{_family} tasks: the soft time limit ({_soft} s) must be above 0 and below the hard one "
            f"({_hard} s), which must be below the broker's visibility timeout (3600 s)."
        )
CELERY_TASK_ANNOTATIONS = {
    name: {"soft_time_limit": TASK_TIME_LIMITS[family][0], "time_limit": TASK_TIME_LIMITS[family][1]}
    for family, names in TASK_FAMILIES.items()
    for name in names
}
# A pool process that has grown past this many KiB is replaced after its current task (prefork
# pool only; 0: never). Meant for mail workers, which render every email the shop sends.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=0) or None
# A pool process is replaced after this many tasks (0: never).
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=0) or None

# --- Beat ------------------------------------------------------------------------------------------

# With a Redis broker, beat keeps its schedule in Redis and holds a lock there (celery-redbeat): a
# second beat started by mistake, or as a standby, waits for the lock and schedules nothing until
# the first stops renewing it (crash, stop): then it takes over within BEAT_LOCK_TIMEOUT seconds
# plus one loop. Without Redis (the filesystem broker of one machine), Celery's own scheduler and
# its schedule file: run exactly one beat.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
if _BROKER_IS_REDIS:
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = CELERY_BROKER_URL  # noeviction: the lock must not be evicted
    CELERY_REDBEAT_REDIS_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}
    CELERY_REDBEAT_KEY_PREFIX = "redbeat:"  # redbeat's own: entries redbeat:<name>, the lock redbeat::lock
    CELERY_REDBEAT_LOCK_TIMEOUT = env.int("BEAT_LOCK_TIMEOUT", default=60)
    # Beat wakes at least this often, renewing the lock each time; a standby tries the lock as often.
    CELERY_BEAT_MAX_LOOP_INTERVAL = 15
    if not CELERY_BEAT_MAX_LOOP_INTERVAL < CELERY_REDBEAT_LOCK_TIMEOUT:
        raise ImproperlyConfigured(
            f"BEAT_LOCK_TIMEOUT={CELERY_REDBEAT_LOCK_TIMEOUT}: must be above 15 seconds."
        )
else:
    CELERY_BEAT_SCHEDULER = "celery.beat:PersistentScheduler"
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
    # Low-stock checks whose message was lost: the variants whose stock moved in the last 15 minutes.
    "sweep-low-stock": {"task": "notifications.tasks.sweep_low_stock", "schedule": 600.0},
    # Invoices and credit notes whose PDF a lost message or a failed render left missing.
    "sweep-document-pdfs": {"task": "invoices.tasks.sweep_document_pdfs", "schedule": 300.0},
}

# --- Data retention (docs/operations.md, "Data retention") -------------------------------------------

# Sent emails are deleted this many days after they went out (0: kept forever), except the few kinds
# whose dedupe key must outlive them, kept with their address blanked (notifications/services/retention.py).
NOTIFICATION_RETENTION_DAYS = env.int("NOTIFICATION_RETENTION_DAYS", default=90)
# Guest carts untouched this many days are deleted (0: kept forever); above the session's two weeks
# (SESSION_COOKIE_AGE), so a guest whose session still holds the cart almost never loses it.
CART_RETENTION_DAYS = env.int("CART_RETENTION_DAYS", default=30)
DATA_RETENTION_HOUR = env.int("DATA_RETENTION_HOUR", default=3)
CELERY_BEAT_SCHEDULE["data-retention"] = {
    "task": "orders.tasks.prune_old_data",
    "schedule": crontab(hour=DATA_RETENTION_HOUR, minute=15),
}
