"""Allocation requests: the durable record that a variant has stock to serve."""

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from ..models import (
    AllocationRequest,
    StockItem,
)
from .announce import _enqueue_stock_arrived

logger = logging.getLogger(__name__)


def allocation_requests_claim(*, variant_ids: Iterable[int]) -> list[int]:
    """Take the pending allocation requests of these variants; returns the variants claimed.

    One DELETE ... RETURNING: of two workers racing for a request, exactly one
    gets it. Variants without a request (already served) are left out.
    """
    from django.db import connection

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
    """
    from orders.models import OrderLine

    waiting = OrderLine.objects.filter(variant_id=OuterRef("variant_id"), quantity_backordered__gt=0)
    ids = sorted(
        set(
            StockItem.objects.filter(warehouse__is_active=True, on_hand__gt=F("allocated"))
            .filter(Exists(waiting))
            .values_list("variant_id", flat=True)
        )
    )
    if ids:
        AllocationRequest.objects.bulk_create(
            [AllocationRequest(variant_id=v) for v in ids], ignore_conflicts=True
        )
        logger.warning(
            "free stock while lines wait: requests restored for variants %s (a pass died or is running)", ids
        )
    return ids


def allocation_request_add(*, variant_ids: Iterable[int]) -> None:
    """Ask for an allocation pass now (staff "run allocation now")."""
    with transaction.atomic():
        _enqueue_stock_arrived(variant_ids)
