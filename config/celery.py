"""The Celery application. Workers and beat start with `celery -A config ...`."""

import functools
import logging
import os

from celery import Celery
from celery.contrib.django.task import DjangoTask
from celery.signals import setup_logging

from config.observability import request_id  # noqa: F401  (connects the request id's task signals)
from config.observability.logs import worker_logging_setup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = logging.getLogger(__name__)


class ShopTask(DjangoTask):
    """Tasks enqueued after commit must never turn a committed change into an error page.

    If the broker is down when the transaction commits, the message is lost,
    but what it was about is already a database row (an outbox email, an
    allocation request); the beat sweeps find it and enqueue it again. So the
    on-commit hook logs the failure instead of raising. In eager mode (tests)
    errors still propagate, so bugs in tasks are not hidden.
    """

    def delay_on_commit(self, *args, **kwargs) -> None:
        from django.db import transaction

        send_after_commit = functools.partial(self.delay, *args, **kwargs)
        send_after_commit.__qualname__ = f"{self.name}.delay_on_commit"  # named in Django's robust log line
        transaction.on_commit(send_after_commit, robust=not self.app.conf.task_always_eager)


app = Celery("shop", task_cls=ShopTask)
# Workers and beat log as the web processes do (LOGGING: plain or JSON lines, with the request id
# that a task's message carries from the request that sent it): config/observability/.
setup_logging.connect(worker_logging_setup, dispatch_uid="shop_worker_logging")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def redbeat_settings_under_their_own_names(sender: Celery, **kwargs) -> None:
    """celery-redbeat looks for its settings by their bare names (`redbeat_redis_url`...), not under the
    CELERY_ namespace; finding them only there it still uses them, but warns at every beat start that it
    "falls back to broker_url". The same values, under the names it looks for."""
    for name in ("redbeat_redis_url", "redbeat_redis_options", "redbeat_key_prefix", "redbeat_lock_timeout"):
        value = sender.conf.get(f"CELERY_{name.upper()}")
        if value is not None:
            sender.conf[name] = value
