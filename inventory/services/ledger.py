"""Stock adjustments and counts of one stock item: every change is a StockMovement in the same transaction.

Owns `stock_adjust` and `stock_count`, and `_stock_items_ensure` (creating missing stock items), which
the receipts and bulk services share.

Transactions and locks: each service is one transaction (`@transaction.atomic`). An adjustment is a
conditional UPDATE (no explicit lock: a removal succeeds only while the units are free); a count locks
its stock item (`inventory.locks.stock_item_lock`), then writes. They announce (inventory.events,
acted on after commit) `availability_changed`, then `stock_grew` (via `allocation_request_add`, which
writes the AllocationRequest row in the transaction) when on-hand rose, or `stock_fell` when it fell.
"""

import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F

from shop.models import Variant
from shop.submissions import submission_claim

from ..events import availability_changed, stock_changed, stock_fell
from ..locks import stock_item_lock
from ..models import (
    MovementReason,
    StockItem,
    StockMovement,
    Warehouse,
)
from .errors import InsufficientStock, StockError
from .requests import allocation_request_add

logger = logging.getLogger(__name__)


def _stock_items_ensure(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Make sure a StockItem exists for each (variant_id, warehouse_id); return their pks.

    Two queries whatever the number of pairs. A concurrent creator is harmless:
    the unique constraint plus ignore_conflicts keeps one row.
    """
    pairs = set(pairs)
    if not pairs:
        return {}
    variant_ids = {v for v, _ in pairs}
    warehouse_ids = {w for _, w in pairs}
    StockItem.objects.bulk_create(
        [StockItem(variant_id=v, warehouse_id=w) for v, w in sorted(pairs)], ignore_conflicts=True
    )
    rows = StockItem.objects.filter(variant_id__in=variant_ids, warehouse_id__in=warehouse_ids).values_list(
        "variant_id", "warehouse_id", "pk"
    )
    return {(v, w): pk for v, w, pk in rows if (v, w) in pairs}


def _check_variant_and_warehouse(*, variant_id: int, warehouse_id: int) -> None:
    if not Variant.objects.filter(pk=variant_id).exists():
        raise StockError("That variant does not exist.")
    if not Warehouse.objects.filter(pk=warehouse_id).exists():
        raise StockError("That warehouse does not exist.")


# --- stock adjustments -------------------------------------------------------------------


@transaction.atomic
def stock_adjust(
    *,
    variant_id: int,
    warehouse_id: int,
    quantity_change: int,
    reason: str = MovementReason.ADJUSTED,
    user_id: int | None = None,
    note: str = "",
    submission_key: str | None = None,
) -> StockMovement:
    """Add or remove units on hand (damage, found stock, a return...).

    Removing is refused when it would take units that are promised to orders
    (on_hand may not drop below allocated). Growth triggers "stock arrived".
    With `submission_key` (a staff form's one-time key) a second submission of
    the same form raises AlreadySubmitted and changes nothing.
    """
    if submission_key is not None:
        submission_claim(key=submission_key, action="stock_adjust", user_id=user_id)
    if reason not in (MovementReason.ADJUSTED, MovementReason.RETURNED, MovementReason.RECEIVED):
        raise StockError(f"'{reason}' is not a reason for a manual adjustment.")
    if not isinstance(quantity_change, int) or quantity_change == 0:
        raise StockError("Enter a quantity change other than zero.")
    _check_variant_and_warehouse(variant_id=variant_id, warehouse_id=warehouse_id)
    item_id = _stock_items_ensure([(variant_id, warehouse_id)])[(variant_id, warehouse_id)]

    rows = StockItem.objects.filter(pk=item_id)
    if quantity_change < 0:
        # Conditional update: only succeeds if enough units are free.
        rows = rows.filter(on_hand__gte=F("allocated") - quantity_change)
    if rows.update(on_hand=F("on_hand") + quantity_change) != 1:
        item = StockItem.objects.select_related("variant", "warehouse").get(pk=item_id)
        raise InsufficientStock(
            f"Cannot remove {-quantity_change} of {item.variant.sku} at {item.warehouse.code}: "
            f"{item.on_hand} on hand, {item.allocated} set aside for orders, so at most {item.free} can be removed."
        )
    movement = StockMovement.objects.create(
        stock_item_id=item_id,
        variant_id=variant_id,
        warehouse_id=warehouse_id,
        on_hand_delta=quantity_change,
        reason=reason,
        user_id=user_id,
        note=note[:255],
    )
    availability_changed.send(variant_ids=[variant_id])
    stock_changed.send(variant_ids=[variant_id])
    if quantity_change > 0:
        allocation_request_add(variant_ids=[variant_id])
    else:
        stock_fell.send(variant_ids=[variant_id])
    return movement


@transaction.atomic
def stock_count(
    *,
    variant_id: int,
    warehouse_id: int,
    counted: int,
    user_id: int | None = None,
    note: str = "",
    submission_key: str | None = None,
) -> StockMovement | None:
    """Set on-hand to a physical count. Returns the movement, or None when nothing changed.

    `submission_key`: as for `stock_adjust`, the form is applied once.
    """
    if submission_key is not None:
        submission_claim(key=submission_key, action="stock_count", user_id=user_id)
    if not isinstance(counted, int) or counted < 0:
        raise StockError("A stock count must be zero or more.")
    _check_variant_and_warehouse(variant_id=variant_id, warehouse_id=warehouse_id)
    item_id = _stock_items_ensure([(variant_id, warehouse_id)])[(variant_id, warehouse_id)]
    item = stock_item_lock(item_id)
    if counted < item.allocated:
        raise InsufficientStock(
            f"{item.variant.sku} at {item.warehouse.code}: {item.allocated} units are set aside for orders, "
            f"so the count cannot be {counted}. Release those allocations first."
        )
    delta = counted - item.on_hand
    if delta == 0:
        return None
    StockItem.objects.filter(pk=item_id).update(on_hand=counted)
    movement = StockMovement.objects.create(
        stock_item_id=item_id,
        variant_id=variant_id,
        warehouse_id=warehouse_id,
        on_hand_delta=delta,
        reason=MovementReason.COUNTED,
        user_id=user_id,
        note=note[:255],
    )
    availability_changed.send(variant_ids=[variant_id])
    stock_changed.send(variant_ids=[variant_id])
    if delta > 0:
        allocation_request_add(variant_ids=[variant_id])
    else:
        stock_fell.send(variant_ids=[variant_id])
    return movement
