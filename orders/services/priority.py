"""Staff priority: a priority order is served first by the allocation pass."""

import logging

from django.db import transaction

from shop.submissions import submission_claim

from ..events import queue_reordered
from ..models import (
    Order,
    OrderEvent,
    OrderEventKind,
    OrderLine,
)

logger = logging.getLogger(__name__)


@transaction.atomic
def order_set_priority(
    *, order_id: int, is_priority: bool, user_id: int | None = None, submission_key: str | None = None
) -> bool:
    """Mark or unmark an order as priority for auto-allocation. Returns True when it changed.

    With `submission_key` (the API's Idempotency-Key) a second request with the same key raises
    AlreadySubmitted and changes nothing.
    """
    if submission_key is not None:
        submission_claim(key=submission_key, action="order_set_priority", user_id=user_id)
    changed = (
        Order.objects.filter(pk=order_id).exclude(is_priority=is_priority).update(is_priority=is_priority)
    )
    if changed:
        OrderEvent.objects.create(
            order_id=order_id,
            kind=OrderEventKind.PRIORITY,
            message="Marked as priority" if is_priority else "Priority removed",
            user_id=user_id,
            visible_to_customer=False,
        )
        # The queue changed order: other customers' lines (or, when priority is removed, this
        # order's own) may now wait longer. Checked after commit.
        variant_ids = sorted(
            set(OrderLine.objects.waiting().filter(order_id=order_id).values_list("variant_id", flat=True))
        )
        if variant_ids:  # the delay check listens (orders.apps)
            queue_reordered.send(variant_ids=variant_ids, cause="queue_priority")
    return bool(changed)
