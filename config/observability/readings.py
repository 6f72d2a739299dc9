"""The figures /metrics reports, read when Prometheus scrapes (config/observability/metrics.py).

Three queries, whatever the size of the tables: the outbox grouped by status, the allocation
requests, the worker heartbeats; plus two cache reads (webhook failures) and, per Celery queue,
the broker's count of waiting messages.
"""

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import AllocationRequest
from notifications.models import Notification, NotificationKind, NotificationStatus
from shop.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

OUTBOX_STATUSES = (NotificationStatus.PENDING, NotificationStatus.SENDING, NotificationStatus.FAILED)
WEBHOOK_CLASSES = ("4xx", "5xx")


@dataclass(frozen=True)
class Readings:
    outbox_rows: dict[str, int]  # pending / sending / failed -> rows
    outbox_oldest_due_seconds: float  # the longest a pending email has been due; 0 when none is
    allocation_requests: int
    allocation_oldest_seconds: float  # 0 when none
    heartbeat_age_seconds: float  # +Inf when no worker was ever seen
    webhook_failures: dict[str, int]  # 4xx / 5xx -> answers since the cache was last emptied
    queue_lengths: dict[str, int] = field(default_factory=dict)  # empty when the broker is down
    broker_up: bool = True


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then else 0.0


def webhook_failure_key(kind: str) -> str:
    return f"metrics:{settings.SHOP_CACHE_NAMESPACE}:stripe_webhook:{kind}"


def webhook_failure_count(*, status_code: int) -> None:
    """Count one answer of 400 or more from the Stripe webhook (the cache: shared by every process)."""
    key = webhook_failure_key("5xx" if status_code >= 500 else "4xx")
    cache.add(key, 0, timeout=None)
    try:
        cache.incr(key)
    except ValueError:  # evicted between add and incr, or the cache is unreachable
        cache.add(key, 1, timeout=None)


def celery_queue_names() -> list[str]:
    """The queues workers consume: the default queue, Celery's `celery`, and those named in
    CELERY_TASK_QUEUES and CELERY_TASK_ROUTES when settings define them."""
    names = {settings.CELERY_TASK_DEFAULT_QUEUE, "celery"}
    for queue in getattr(settings, "CELERY_TASK_QUEUES", None) or ():
        names.add(queue if isinstance(queue, str) else queue.name)
    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    for route in routes.values() if isinstance(routes, dict) else ():
        queue = route.get("queue") if isinstance(route, dict) else route
        if isinstance(queue, str):
            names.add(queue)
        elif queue is not None and hasattr(queue, "name"):
            names.add(queue.name)
    return sorted(names)


def celery_queue_lengths(names: list[str]) -> dict[str, int] | None:
    """Messages waiting in each queue, as the broker counts them (Redis: the lengths of the queue's
    lists, one per priority; the filesystem broker: its message files). None when unreachable."""
    from config.celery import app

    try:
        with app.connection_for_read(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0.2, timeout=2)
            channel = conn.default_channel
            return {name: int(channel._size(name)) for name in names}
    except Exception as exc:  # noqa: BLE001 - a scrape reports the broker down, never a 500
        logger.warning("metrics: cannot read the queue lengths: %s", exc)
        return None


def readings_get() -> Readings:
    now = timezone.now()
    outbox = {status.value: (0, None) for status in OUTBOX_STATUSES}
    # Each branch of the OR has its own index (the partial notification_unsent; kind + status), so
    # the query reads the unsent and failed rows only, never the sent ones (measured: docs/operations.md).
    unsent_or_failed = Q(status__in=(NotificationStatus.PENDING, NotificationStatus.SENDING)) | Q(
        kind__in=NotificationKind.values, status=NotificationStatus.FAILED
    )
    rows = (
        Notification.objects.filter(unsent_or_failed)
        .values("status")
        .annotate(n=Count("pk"), oldest_due=Min(Coalesce("next_attempt_at", "created_at")))
        .order_by()
    )
    for row in rows:
        outbox[row["status"]] = (row["n"], row["oldest_due"])
    pending_due = outbox[NotificationStatus.PENDING][1]
    allocation = AllocationRequest.objects.aggregate(n=Count("pk"), oldest=Min("requested_at"))
    heartbeat = WorkerHeartbeat.objects.aggregate(last=Max("seen_at"))["last"]
    failures = cache.get_many([webhook_failure_key(kind) for kind in WEBHOOK_CLASSES])
    lengths = celery_queue_lengths(celery_queue_names())
    return Readings(
        outbox_rows={status: n for status, (n, _due) in outbox.items()},
        outbox_oldest_due_seconds=_age(now, pending_due),
        allocation_requests=allocation["n"],
        allocation_oldest_seconds=_age(now, allocation["oldest"]),
        heartbeat_age_seconds=_age(now, heartbeat) if heartbeat else math.inf,
        webhook_failures={
            kind: int(failures.get(webhook_failure_key(kind)) or 0) for kind in WEBHOOK_CLASSES
        },
        queue_lengths=lengths or {},
        broker_up=lengths is not None,
    )
