"""Allocation requests: the durable record that a variant has stock to serve, and `stock_grew`.

Owns the `AllocationRequest` table and the one place that announces grown stock:
`allocation_request_add` writes a variant's request in the caller's transaction, then sends
`inventory.events.stock_grew` (its receiver enqueues the "stock arrived" task after commit). Every
service that makes free stock grow calls it, so a lost message still leaves a row the sweep finds.

Transactions and locks: no row locks. `allocation_request_add` joins the caller's transaction
(its own outside one); `allocation_requests_claim` is one `DELETE ... RETURNING`, so two workers
never claim the same request; the sweep's readers take no locks.
"""

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from orders.models import OrderLine

from ..events import stock_grew
from ..models import (
    AllocationRequest,
    StockItem,
)

logger = logging.getLogger(__name__)


def allocation_request_add(*, variant_ids: Iterable[int]) -> None:
    """Record that these variants gained free stock, then announce `stock_grew` (acted on after commit).

    Called by every service that grows free stock (in its transaction) and by staff's "run
    allocation now" (its own transaction). The AllocationRequest rows commit with the stock
    change, so even a lost broker message leaves the work findable (the sweep serves it).
    Idempotent: a variant with a pending request keeps one row. Nothing for no variants.
    """
    ids = sorted(set(variant_ids))
    if not ids:
        return
    # savepoint=False: inside the caller's transaction this is part of it (no savepoint),
    # outside one it is a transaction of its own.
    with transaction.atomic(savepoint=False):
        AllocationRequest.objects.bulk_create(
            [AllocationRequest(variant_id=v) for v in ids], ignore_conflicts=True
        )
        stock_grew.send(variant_ids=ids)


def allocation_requests_claim(*, variant_ids: Iterable[int]) -> list[int]:
    """Take the pending allocation requests of these variants; returns the variants claimed.

    One DELETE ... RETURNING: of two workers racing for a request, exactly one
    gets it. Variants without a request (already served) are left out.
    """
    ids = sorted(set(variant_ids))
    if not ids:
        return []
    table = AllocationRequest._meta.db_table
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE variant_id IN ({placeholders}) RETURNING variant_id", ids)
        return sorted(row[0] for row in cursor.fetchall())


def allocation_requests_pending() -> list[int]:
    """Variants with a request older than a minute: their task message was lost (for the sweep)."""
    cutoff = timezone.now() - timedelta(minutes=1)
    return list(
        AllocationRequest.objects.filter(requested_at__lt=cutoff)
        .order_by("variant_id")
        .values_list("variant_id", flat=True)
    )


def allocation_requests_restore() -> list[int]:
    """Re-create the request of every variant with free stock and lines still waiting for it.

    A pass claims (deletes) its request before serving, so that receipts during
    the pass coalesce into one more pass. If its worker dies or its task fails
    between two batches, the rest of the queue is left with no request: the
    redelivered message and `allocation_requests_pending` would find nothing.
    This finds it (the sweep calls it). Normally nothing matches, because a
    finished pass leaves no free stock while a line waits. Returns the variants.
    The sweep enqueues the pass itself, so no hook is sent.
    """
    waiting = OrderLine.objects.waiting().filter(variant_id=OuterRef("variant_id"))
    ids = sorted(
        set(StockItem.objects.with_free_units().filter(Exists(waiting)).values_list("variant_id", flat=True))
    )
    if ids:
        AllocationRequest.objects.bulk_create(
            [AllocationRequest(variant_id=v) for v in ids], ignore_conflicts=True
        )
        logger.warning(
            "free stock while lines wait: requests restored for variants %s (a pass died or is running)", ids
        )
    return ids
