"""Bulk receipts and counts (CSV imports, the demo): set-based, one ledger row per change.

Owns `stock_receive_bulk` and `stock_count_bulk`: the set-based forms of a receipt and a count, a
constant number of queries per batch of rows.

Transactions and locks: `stock_receive_bulk` is its own transaction; `stock_count_bulk` must run
inside the caller's (an import is all or nothing). Each batch's stock items are locked in pk order
(`inventory.locks.stock_items_lock`) before their new levels are computed and written. They announce
(inventory.events, acted on after commit) `availability_changed`, then `stock_grew` for the variants
that gained stock (`allocation_request_add` writes their AllocationRequest rows in the transaction)
and `stock_fell` for those that lost some.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from ..events import availability_changed, stock_changed, stock_fell
from ..locks import stock_items_lock
from ..models import (
    MovementReason,
    StockItem,
    StockMovement,
)
from .errors import InsufficientStock, StockError
from .ledger import _stock_items_ensure
from .requests import allocation_request_add

logger = logging.getLogger(__name__)


@transaction.atomic
def stock_receive_bulk(
    *,
    rows: Iterable[tuple[int, int, int]],
    reason: str = MovementReason.RECEIVED,
    note: str = "",
    user_id=None,
) -> int:
    """Add units to many stock items at once: rows of (variant id, warehouse id, units > 0).

    Set-based (a constant number of queries per 1,000 rows): used for demo data
    and bulk imports. Rows are locked in primary-key order; one movement per
    row; "stock arrived" runs for every variant after commit. Returns the units.
    """
    rows = [(v, w, q) for v, w, q in rows]
    if any(q <= 0 for _, _, q in rows):
        raise StockError("Every row must add a positive number of units.")
    if reason not in (MovementReason.RECEIVED, MovementReason.ADJUSTED, MovementReason.COUNTED):
        raise StockError(f"'{reason}' is not a reason for adding stock.")
    total = 0
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        ids = _stock_items_ensure((v, w) for v, w, _ in chunk)
        items = {i.pk: i for i in stock_items_lock(ids.values())}
        movements = []
        for variant_id, warehouse_id, units in chunk:
            item = items[ids[(variant_id, warehouse_id)]]
            item.on_hand += units
            total += units
            movements.append(
                StockMovement(
                    stock_item_id=item.pk,
                    variant_id=variant_id,
                    warehouse_id=warehouse_id,
                    on_hand_delta=units,
                    reason=reason,
                    user_id=user_id,
                    note=note[:255],
                )
            )
        StockItem.objects.bulk_update(items.values(), ["on_hand"], batch_size=1000)
        StockMovement.objects.bulk_create(movements, batch_size=1000)
    variant_ids = sorted({v for v, _, _ in rows})
    if variant_ids:
        availability_changed.send(variant_ids=variant_ids)
        stock_changed.send(variant_ids=variant_ids)
    allocation_request_add(variant_ids=variant_ids)
    return total


@dataclass(frozen=True)
class CountChange:
    variant_id: int
    warehouse_id: int
    on_hand_before: int
    counted: int


class CountBelowAllocated(InsufficientStock):
    """A counted quantity below the units already promised to orders; `index` is the row's position."""

    def __init__(self, message: str, *, index: int):
        super().__init__(message)
        self.index = index


def stock_count_bulk(
    *, counts: list[tuple[int, int, int]], user_id: int | None = None, note: str = ""
) -> list[CountChange]:
    """Set on-hand to physical counts for many stock items: rows of (variant id, warehouse id, counted).

    The bulk form of `stock_count` for imports: must run inside the caller's
    transaction (an import is all or nothing). Set-based: a constant number of
    queries per call; callers pass batches (e.g. 1,000 rows). Each batch's stock
    items are locked in primary-key order (as `stock_receive_bulk` does); a row
    whose count is below the units allocated raises CountBelowAllocated with
    its index in `counts`. One "counted" movement per changed item; growth
    triggers "stock arrived" and a fall the low-stock check, after commit.
    Returns the changed items.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("stock_count_bulk must run inside transaction.atomic()")
    if not counts:
        return []
    if any(not isinstance(c, int) or c < 0 for _, _, c in counts):
        raise StockError("A stock count must be zero or more.")
    # Most counted locations already have a stock item: look them up first, create only the rest.
    pairs = {(v, w) for v, w, _ in counts}
    ids = {
        (v, w): pk
        for v, w, pk in StockItem.objects.filter(
            variant_id__in={v for v, _ in pairs}, warehouse_id__in={w for _, w in pairs}
        ).values_list("variant_id", "warehouse_id", "pk")
        if (v, w) in pairs
    }
    ids |= _stock_items_ensure(pairs - ids.keys())
    items = {
        pk: (on_hand, allocated)
        for pk, on_hand, allocated in stock_items_lock(ids.values()).values_list("pk", "on_hand", "allocated")
    }
    changes, movements, updates, grew, fell = [], [], [], set(), set()
    for index, (variant_id, warehouse_id, counted) in enumerate(counts):
        item_id = ids[(variant_id, warehouse_id)]
        on_hand, allocated = items[item_id]
        if counted < allocated:
            raise CountBelowAllocated(
                f"{allocated} units are set aside for orders, so the count cannot be {counted}.", index=index
            )
        delta = counted - on_hand
        if delta == 0:
            continue
        changes.append(
            CountChange(
                variant_id=variant_id, warehouse_id=warehouse_id, on_hand_before=on_hand, counted=counted
            )
        )
        items[item_id] = (counted, allocated)
        updates.append((item_id, counted))
        (grew if delta > 0 else fell).add(variant_id)
        movements.append((item_id, variant_id, warehouse_id, delta))
    if updates:
        _stock_items_set_on_hand(updates)
        _stock_movements_insert_counted(movements, user_id=user_id, note=note[:255])
    if grew or fell:
        availability_changed.send(variant_ids=sorted(grew | fell))
        stock_changed.send(variant_ids=sorted(grew | fell))
    allocation_request_add(variant_ids=grew)
    if fell:
        stock_fell.send(variant_ids=sorted(fell))
    return changes


def _stock_items_set_on_hand(rows: list[tuple[int, int]]) -> None:
    """UPDATE ... FROM (VALUES ...): one statement per 500 locked rows of (stock item id, on hand).

    bulk_update() builds a CASE WHEN per row, which costs more in Python than
    the whole import for 50,000 rows; PostgreSQL and SQLite (3.33+) both take
    this form. The rows must already be locked by the caller.
    """
    table = StockItem._meta.db_table
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        values = ", ".join(["(%s, %s)"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET on_hand = CAST(v.column2 AS integer) FROM (VALUES {values}) AS v "
                f"WHERE {table}.id = v.column1",
                [x for row in chunk for x in row],
            )


def _stock_movements_insert_counted(rows: list[tuple[int, int, int, int]], *, user_id, note: str) -> None:
    """Append "counted" ledger rows (stock item, variant, warehouse, on-hand delta), 500 per INSERT.

    Plain SQL for the same reason as `_stock_items_set_on_hand`: 50,000 model
    instances cost more than the import's own work. Same columns and values as
    the ORM would write; the ledger stays append-only.
    """
    table = StockMovement._meta.db_table
    created_at = connection.ops.adapt_datetimefield_value(timezone.now())
    columns = "stock_item_id, variant_id, warehouse_id, on_hand_delta, allocated_delta, reason, user_id, note, created_at"
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        values = ", ".join(["(%s, %s, %s, %s, 0, %s, %s, %s, %s)"] * len(chunk))
        params = [x for row in chunk for x in (*row, MovementReason.COUNTED.value, user_id, note, created_at)]
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values}", params)
