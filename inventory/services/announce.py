"""What a stock change tells the rest of the shop after commit."""

import logging
from collections.abc import Iterable

from ..models import (
    AllocationRequest,
    PurchaseOrderLine,
)

logger = logging.getLogger(__name__)


# --- helpers -------------------------------------------------------------------------


def _enqueue_stock_arrived(variant_ids: Iterable[int]) -> None:
    """Record that these variants gained free stock, and after commit run the "stock arrived" task.

    The AllocationRequest rows commit with the stock change, so even a lost
    broker message leaves the work findable (the sweep serves it).
    """
    from ..tasks import stock_arrived

    ids = sorted(set(variant_ids))
    if ids:
        AllocationRequest.objects.bulk_create(
            [AllocationRequest(variant_id=v) for v in ids], ignore_conflicts=True
        )
        stock_arrived.delay_on_commit(variant_ids=ids)


def _enqueue_delay_check(*, purchase_order_id: int, cause: str) -> None:
    """After commit, re-project the dates of the waiting lines this purchase order supplies.

    Every waiting line gets its new expected date, earlier or later, and a line
    whose date moved later is recorded as delayed (`cause`; "" when the change
    can only bring dates forward, such as a new order placed with a supplier).
    Only ids travel; the check re-reads everything (orders.tasks.check_delays).
    The daily delay scan does the same should this message be lost.
    """
    from orders.tasks import check_delays

    ids = sorted(
        set(
            PurchaseOrderLine.objects.filter(purchase_order_id=purchase_order_id).values_list(
                "variant_id", flat=True
            )
        )
    )
    if ids:
        check_delays.delay_on_commit(variant_ids=ids, cause=cause, purchase_order_id=purchase_order_id)


def _enqueue_stock_fell(variant_ids: Iterable[int]) -> None:
    """After commit, check whether these variants crossed their low-stock threshold (staff alert)."""
    from notifications.tasks import check_low_stock

    ids = sorted(set(variant_ids))
    if ids:
        check_low_stock.delay_on_commit(variant_ids=ids)
