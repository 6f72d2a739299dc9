"""Every row lock the webhooks take, one named function per lock (docs/concurrency.md, "Webhooks").

A delivery is locked while it is sent: `FOR NO KEY UPDATE SKIP LOCKED`, a batch of an endpoint's
deliveries at a time in primary-key order, so two workers running one endpoint never send the same
delivery at the same time and never wait for each other. The locks are held through the batch's
HTTP requests (a batch stops starting requests after BATCH_SECONDS; one request lasts at most
WEBHOOK_TIMEOUT_SECONDS) and released when their outcomes commit. An endpoint's
row is locked after a delivery's, never before one (turning it off after failures); staff's
changes to an endpoint lock it alone, and make its deliveries due in a transaction of their own.
The deliveries that "Send again" re-queues are locked in primary-key order.

Every lock is `FOR NO KEY UPDATE`: these transactions update rows, never delete them or change
their keys. On SQLite these are plain SELECTs (it locks the whole database for a writer). A
helper must be called inside `transaction.atomic()`.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Exists

from .models import WebhookDelivery, WebhookEndpoint
from .selectors import earlier_pending_of_same_resource


def deliveries_claim_lock(endpoint_id: int, *, now: datetime, limit: int) -> list[WebhookDelivery]:
    """Up to `limit` of the endpoint's deliveries that are pending, due and first of their resource,
    with their events, oldest first, locked in that (primary-key) order; rows another worker holds
    (being sent) are skipped, and so are the later events of their resource (still pending)."""
    return list(
        WebhookDelivery.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
        .select_related("event")
        .filter(endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(~Exists(earlier_pending_of_same_resource()))
        .order_by("pk")[:limit]
    )


def deliveries_lock(delivery_ids: Iterable[int]) -> list[WebhookDelivery]:
    """These deliveries, locked in primary-key order (waiting for one being sent): "Send again"."""
    return list(
        WebhookDelivery.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(set(delivery_ids)))
        .order_by("pk")
    )


def endpoint_lock(endpoint_id: int) -> WebhookEndpoint | None:
    """The endpoint, locked: one worker turns it off after failures, and emails staff once."""
    return WebhookEndpoint.objects.select_for_update(no_key=True).filter(pk=endpoint_id).first()
