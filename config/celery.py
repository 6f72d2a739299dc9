"""The Celery application. Workers and beat start with `celery -A config ...`."""

import functools
import logging
import os

from celery import Celery
from celery.contrib.django.task import DjangoTask

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
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
