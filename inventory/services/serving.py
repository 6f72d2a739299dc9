"""Stock served to waiting order lines: the inventory side of an auto-allocation batch.

The pass (`orders.services.allocation`) chooses the waiting lines and moves their
units; the stock those units come from is written here, in the batch's
transaction: each stock item's `allocated`, one `Allocation` row per line and
stock item, and one "allocated" ledger movement per stock item and batch (its
note counts the lines; which line got which units is in the `Allocation` rows and
in each order's timeline event, both carrying the pass's id).

A batch, in the caller's `transaction.atomic()`, after `inventory.locks.variants_lock`:

1. `stock_free_lock(variant_ids=...)` locks the variants' stock items and returns
   their free units (`FreeStock`);
2. the pass moves the chosen lines' units (orders' tables);
3. `stock_serve(...)` (ORM) or `stock_serve_postgres(...)` (one statement) writes
   the stock side for the lines served, {line: units} in service order.

The lines' units are spread over the stock items in service order, highest-priority
warehouse first: each stock item with free units covers [start, end) of its
variant's free units, each served line [position, position + units) of its
variant's served units, and a line gets from a stock item the overlap of the two.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

from django.db import connection
from django.db.models import F

from ..events import stock_changed
from ..locks import variant_stock_items_lock
from ..models import Allocation, MovementReason, StockItem, StockMovement

# --- the free units, under lock ------------------------------------------------------------------


@dataclass(frozen=True)
class StockRange:
    """A stock item's free units as a range of its variant's free units: [start, end)."""

    item_id: int
    variant_id: int
    warehouse_id: int
    start: int
    end: int


@dataclass(frozen=True)
class FreeStock:
    """The free units of some variants, read under the stock items' locks, as ranges per variant
    (highest-priority warehouse first, then stock item id). Stock items with nothing free are left
    out."""

    ranges: tuple[StockRange, ...]

    def units(self, variant_id: int) -> int:
        return max((r.end for r in self.ranges if r.variant_id == variant_id), default=0)

    def units_by_variant(self) -> dict[int, int]:
        """{variant id: free units}, variants in id order; only variants with free units."""
        units: dict[int, int] = {}
        for r in self.ranges:
            units[r.variant_id] = max(units.get(r.variant_id, 0), r.end)
        return dict(sorted(units.items()))


def stock_free_lock(*, variant_ids: Iterable[int]) -> FreeStock:
    """Lock these variants' stock items in active warehouses (pk order) and return their free units.

    Fourth in the lock order: the caller holds the variants' locks (`variants_lock`).
    One query.
    """
    items = variant_stock_items_lock(variant_ids).values_list(
        "pk", "variant_id", "on_hand", "allocated", "warehouse_id", "warehouse__priority"
    )
    ranges: list[StockRange] = []
    covered: dict[int, int] = {}
    for pk, variant_id, on_hand, allocated, warehouse_id, _ in sorted(
        items, key=lambda i: (i[1], i[5], i[0])
    ):
        free = on_hand - allocated
        if free > 0:
            start = covered.get(variant_id, 0)
            ranges.append(StockRange(pk, variant_id, warehouse_id, start, start + free))
            covered[variant_id] = start + free
    return FreeStock(tuple(ranges))


def variants_with_free_stock(*, variant_ids: Iterable[int]) -> set[int]:
    """Those of these variants with free units in an active warehouse (one query, no lock)."""
    return set(
        StockItem.objects.filter(
            variant_id__in=sorted(set(variant_ids)), warehouse__is_active=True, on_hand__gt=F("allocated")
        )
        .values_list("variant_id", flat=True)
        .distinct()
    )


# --- the stock side of the lines served -----------------------------------------------------------


class ServedLine(NamedTuple):
    """An order line the batch served: `units` moved from waiting to allocated. Any tuple that
    starts (line id, variant id, units) will do, such as a row of the pass's statement."""

    line_id: int
    variant_id: int
    units: int


def serve_note(run_id: str, lines: int) -> str:
    """The note of a batch's ledger movement (the PostgreSQL twin writes the same words)."""
    return f"auto-allocation {run_id}: {lines} line{'' if lines == 1 else 's'}"[:255]


def _picks(lines: Sequence[tuple], free: FreeStock) -> list[tuple[int, StockRange, int]]:
    """(line id, stock range, units): each line's units from the stock items, in service order."""
    left = {r.item_id: r.end - r.start for r in free.ranges}
    picks = []
    for line in lines:
        line_id, variant_id, need = line[0], line[1], line[2]
        for r in free.ranges:
            if need == 0:
                break
            if r.variant_id != variant_id:
                continue
            got = min(need, left[r.item_id])
            if got > 0:
                picks.append((line_id, r, got))
                left[r.item_id] -= got
                need -= got
    return picks


def stock_serve(*, lines: Sequence[tuple], free: FreeStock, run_id: str) -> None:
    """Write the stock side of the lines a batch served (ORM; the pass uses it on SQLite).

    `lines`: `ServedLine`s (or tuples that start with the same three) in service order,
    each variant's lines in the order of its queue; `free`: what `stock_free_lock`
    returned in this transaction. Raises the stock items' allocated, adds to (or
    creates) each line's `Allocation` per stock item, and writes one ledger movement
    per stock item. Four queries whatever the number of lines.

    PostgreSQL twin: `stock_serve_postgres`. Parity:
    orders/tests/test_allocation_parity.py::test_python_and_postgres_batches_write_the_same_rows.
    """
    picks = _picks(lines, free)
    if not picks:
        return
    existing = {
        (a.order_line_id, a.stock_item_id): a.quantity
        for a in Allocation.objects.filter(
            order_line_id__in=[line[0] for line in lines],
            stock_item_id__in=[r.item_id for r in free.ranges],
        )
    }
    allocations: dict[tuple[int, int], int] = {}
    per_item: dict[int, int] = {}
    lines_per_item: dict[int, int] = {}
    range_of: dict[int, StockRange] = {}
    for line_id, r, units in picks:
        key = (line_id, r.item_id)
        allocations[key] = allocations.get(key, existing.get(key, 0)) + units
        per_item[r.item_id] = per_item.get(r.item_id, 0) + units
        lines_per_item[r.item_id] = lines_per_item.get(r.item_id, 0) + 1
        range_of[r.item_id] = r
    Allocation.objects.bulk_create(
        [
            Allocation(order_line_id=line_id, stock_item_id=item_id, quantity=q)
            for (line_id, item_id), q in allocations.items()
        ],
        update_conflicts=True,
        unique_fields=["order_line", "stock_item"],
        update_fields=["quantity"],
        batch_size=1000,
    )
    items = list(StockItem.objects.filter(pk__in=per_item).order_by("pk"))  # locked by stock_free_lock
    for item in items:
        item.allocated += per_item[item.pk]
    StockItem.objects.bulk_update(items, ["allocated"], batch_size=1000)
    StockMovement.objects.bulk_create(
        [
            StockMovement(
                stock_item_id=item_id,
                variant_id=range_of[item_id].variant_id,
                warehouse_id=range_of[item_id].warehouse_id,
                allocated_delta=units,
                reason=MovementReason.ALLOCATED,
                note=serve_note(run_id, lines_per_item[item_id]),
            )
            for item_id, units in sorted(per_item.items())
        ],
        batch_size=1000,
    )
    stock_changed.send(variant_ids=sorted({r.variant_id for r in range_of.values()}))


# The same on PostgreSQL, in one statement. Served lines and stock ranges come in as arrays, the
# lines in service order (WITH ORDINALITY); a running sum per variant gives each line its range of
# the variant's served units, and a pick is the overlap with a stock item's range.
_STOCK_SERVE_SQL = """
WITH stock(item_id, variant_id, warehouse_id, s_start, s_end) AS (
    SELECT * FROM unnest(%(items)s::bigint[], %(item_variants)s::bigint[], %(warehouses)s::bigint[],
                         %(starts)s::bigint[], %(ends)s::bigint[])
),
served(line_id, variant_id, take, n) AS (
    SELECT * FROM unnest(%(lines)s::bigint[], %(line_variants)s::bigint[], %(takes)s::bigint[]) WITH ORDINALITY
),
positions AS (
    SELECT line_id, variant_id, take,
           SUM(take) OVER (PARTITION BY variant_id ORDER BY n ROWS UNBOUNDED PRECEDING) - take AS q_start
    FROM served
),
picks AS (
    SELECT p.line_id, p.variant_id, s.item_id, s.warehouse_id,
           LEAST(p.q_start + p.take, s.s_end) - GREATEST(p.q_start, s.s_start) AS qty
    FROM positions p JOIN stock s
      ON s.variant_id = p.variant_id AND s.s_start < p.q_start + p.take AND p.q_start < s.s_end
),
allocations AS (
    INSERT INTO inventory_allocation (order_line_id, stock_item_id, quantity)
    SELECT line_id, item_id, qty FROM picks
    ON CONFLICT (order_line_id, stock_item_id)
    DO UPDATE SET quantity = inventory_allocation.quantity + EXCLUDED.quantity
),
movements AS (
    INSERT INTO inventory_stockmovement
        (stock_item_id, variant_id, warehouse_id, on_hand_delta, allocated_delta, reason, order_line_id, note,
         created_at)
    SELECT item_id, variant_id, warehouse_id, 0, SUM(qty), %(reason)s, NULL,
           %(note)s || ': ' || COUNT(*) || CASE WHEN COUNT(*) = 1 THEN ' line' ELSE ' lines' END, now()
    FROM picks GROUP BY item_id, variant_id, warehouse_id
)
UPDATE inventory_stockitem si SET allocated = si.allocated + p.qty, updated_at = now()
FROM (SELECT item_id, SUM(qty) AS qty FROM picks GROUP BY item_id) p
WHERE si.id = p.item_id
"""


def _int_array(values: Iterable[int]) -> str:
    """An array literal for `%s::bigint[]`, '{1,2,3}': one string costs the client far less than
    thousands of Python ints adapted one by one."""
    return "{" + ",".join(map(str, map(int, values))) + "}"


def stock_serve_postgres(*, lines: Sequence[tuple], free: FreeStock, run_id: str) -> None:
    """`stock_serve` in one statement (PostgreSQL; the pass's batch there).

    Python twin: `stock_serve`. Parity:
    orders/tests/test_allocation_parity.py::test_python_and_postgres_batches_write_the_same_rows.
    """
    if not lines or not free.ranges:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _STOCK_SERVE_SQL,
            {
                "items": [r.item_id for r in free.ranges],
                "item_variants": [r.variant_id for r in free.ranges],
                "warehouses": [r.warehouse_id for r in free.ranges],
                "starts": [r.start for r in free.ranges],
                "ends": [r.end for r in free.ranges],
                "lines": _int_array(map(itemgetter(0), lines)),
                "line_variants": _int_array(map(itemgetter(1), lines)),
                "takes": _int_array(map(itemgetter(2), lines)),
                "reason": MovementReason.ALLOCATED.value,
                "note": f"auto-allocation {run_id}"[:200],
            },
        )
    stock_changed.send(variant_ids=sorted({line[1] for line in lines}))
