"""Helpers of the knob tests: config/settings.py read afresh under a given environment, and a Celery app
configured from it the way config/celery.py configures the real one."""

import runpy
from pathlib import Path
from types import SimpleNamespace

from celery import Celery

from config.celery import redbeat_settings_under_their_own_names

SETTINGS = Path(__file__).resolve().parents[1] / "settings.py"

# Variables a test's baseline must not inherit from the shell or the suite (conftest.py sets
# CELERY_ROUTE_QUEUES=0 for every test process).
KNOBS = (
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CACHE_REDIS_URL",
    "CELERY_TASK_DEFAULT_QUEUE",
    "CELERY_ROUTE_QUEUES",
    "CELERY_MAIL_SOFT_TIME_LIMIT",
    "CELERY_MAIL_TIME_LIMIT",
    "CELERY_STOCK_SOFT_TIME_LIMIT",
    "CELERY_STOCK_TIME_LIMIT",
    "CELERY_TASK_SOFT_TIME_LIMIT",
    "CELERY_TASK_TIME_LIMIT",
    "CELERY_WORKER_MAX_MEMORY_PER_CHILD",
    "CELERY_WORKER_MAX_TASKS_PER_CHILD",
    "BEAT_LOCK_TIMEOUT",
    "DATABASE_URL",
    "DATABASE_POOL",
    "DATABASE_POOL_MIN_SIZE",
    "DATABASE_POOL_MAX_SIZE",
    "DATABASE_POOL_TIMEOUT",
    "CONN_MAX_AGE",
    "NOTIFICATION_RETENTION_DAYS",
    "CART_RETENTION_DAYS",
    "DATA_RETENTION_HOUR",
)


def settings_with(monkeypatch, **env: str) -> dict:
    """The settings module's names, computed with exactly these knobs set (the others unset)."""
    for name in KNOBS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def celery_app(settings: dict) -> Celery:
    """A Celery app configured from `settings` as config/celery.py does (`CELERY_` namespace)."""
    app = Celery("knobs", set_as_current=False)
    app.on_after_configure.connect(redbeat_settings_under_their_own_names, weak=False)
    app.config_from_object(
        SimpleNamespace(**{name: value for name, value in settings.items() if name.isupper()}),
        namespace="CELERY",
    )
    return app
