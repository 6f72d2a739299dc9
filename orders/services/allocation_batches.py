"""One batch of the auto-allocation pass: the next waiting lines of some variants get free stock.

A batch runs in a short transaction of the pass's (`orders.services.allocation`):
lock the variants (the mutex of their backorder queues), lock their stock items
and read the free units (`inventory.services.serving.stock_free_lock`), choose
the next waiting lines in queue order, move their units from waiting to allocated
(`orders.lifecycle`'s rule gives the new status), and leave the stock side of the
move to inventory (`stock_serve` / `stock_serve_postgres`), in the same transaction.

Two twins, side by side:

- `serve_batch`: one variant, in Python, a bounded number of queries (SQLite);
- `serve_batch_postgres`: the variants of a group in one statement (window
  functions), which also records the batch in an `AllocationFollowUp` row for the
  orders' side (`orders.services.after_allocation.order_lines_allocated`).

Parity: orders/tests/test_allocation_parity.py::test_python_and_postgres_batches_write_the_same_rows.
"""

from dataclasses import dataclass, field

from django.db import connection

from inventory.locks import variants_lock
from inventory.services.serving import (
    ServedLine,
    stock_free_lock,
    stock_serve,
    stock_serve_postgres,
)

from ..lifecycle import LINE_STATUS_TABLE, Move, line_apply
from ..locks import order_lines_lock
from ..models import OrderLine
from ..querysets import queue_order, queue_order_columns, queue_order_sql


@dataclass(frozen=True)
class Batch:
    """What a batch served: {line id: units allocated} in service order, the lines' orders, and
    (PostgreSQL) the batch's `AllocationFollowUp` row."""

    takes: dict[int, int] = field(default_factory=dict)
    order_ids: set[int] = field(default_factory=set)
    follow_up_id: int | None = None


def serve_batch(*, variant_id: int, run_id: str, batch_size: int) -> Batch:
    """Allocate free stock of one variant to its next waiting lines (Python; SQLite).

    Queries are bounded per batch, never per line. The orders' side is the caller's
    (`order_lines_allocated`, in this transaction). PostgreSQL twin: `serve_batch_postgres`.
    Parity: orders/tests/test_allocation_parity.py::test_python_and_postgres_batches_write_the_same_rows.
    """
    variants_lock([variant_id])
    free = stock_free_lock(variant_ids=[variant_id])
    units = free.units(variant_id)
    if units <= 0:
        return Batch()
    candidates = (
        OrderLine.objects.waiting()
        .filter(variant_id=variant_id)
        .order_by(*queue_order())
        .values_list("pk", "quantity_backordered")[:batch_size]
    )
    planned, remaining = {}, units
    for pk, waiting in candidates:
        if remaining == 0:
            break
        planned[pk] = min(waiting, remaining)
        remaining -= planned[pk]
    if not planned:
        return Batch()
    # Lock the chosen lines in primary-key order; a cancellation may have shrunk them meanwhile.
    locked = {line.pk: line for line in order_lines_lock(planned)}
    takes = {}
    for pk, want in planned.items():  # service order
        line = locked.get(pk)
        take = min(want, line.quantity_backordered) if line is not None else 0
        if take > 0:
            line_apply(line, Move(allocate=take))
            takes[pk] = take
    if not takes:
        return Batch()
    OrderLine.objects.bulk_update(
        [locked[pk] for pk in sorted(takes)],
        ["quantity_allocated", "quantity_backordered", "status"],
        batch_size=1000,
    )
    stock_serve(
        lines=[ServedLine(pk, variant_id, take) for pk, take in takes.items()], free=free, run_id=run_id
    )
    return Batch(takes=takes, order_ids={locked[pk].order_id for pk in takes})


QUEUE_ORDER_SQL = queue_order_sql()  # orders.querysets.QUEUE_KEYS, as queue_order()
_ORDER_KEYS_SQL = ", ".join(queue_order_columns())

# The line's status after the move, by orders.lifecycle's table: the quantities the UPDATE writes.
_LINE_STATUS_CASE, _LINE_STATUS_PARAMS = LINE_STATUS_TABLE.case_sql(
    {
        "quantity": "l.quantity",
        "allocated": "(l.quantity_allocated + t.take)",
        "backordered": "(l.quantity_backordered - t.take)",
        "shipped": "l.quantity_shipped",
        "cancelled": "l.quantity_cancelled",
    },
    param_prefix="line_status_",
)

# The PostgreSQL batch: one statement chooses the lines with a running sum of each variant's
# queue (window function), moves their units and records the batch (line ids and units) in an
# AllocationFollowUp row for the orders' side. Each chosen line covers [q_start, q_start + take)
# of its variant's free units. A line a cancellation shrank since it was chosen is skipped
# (`quantity_backordered >= take`), its units stay free for the next batch. The rows come back
# in service order, for the stock side (`stock_serve_postgres`).
_SERVE_SQL = f"""
WITH free(variant_id, units) AS (SELECT * FROM unnest(%(variants)s::bigint[], %(units)s::bigint[])),
queue AS (
    SELECT l.id, l.order_id, l.variant_id, l.quantity_backordered AS waiting,
           SUM(l.quantity_backordered) OVER w - l.quantity_backordered AS q_start,
           ROW_NUMBER() OVER w AS rn
    FROM orders_orderline l
    -- The order's queue keys, looked up by primary key for each waiting line. OFFSET 0 keeps
    -- the planner from turning this into a hash join that reads every order ever placed: the
    -- work grows with the waiting lines, not with the shop's history.
    CROSS JOIN LATERAL (SELECT {_ORDER_KEYS_SQL} FROM orders_order WHERE id = l.order_id OFFSET 0) o
    -- The waiting lines (orders.querysets.WAITING) in queue order (orders.querysets.queue_order).
    WHERE l.variant_id = ANY(%(variants)s::bigint[]) AND l.quantity_backordered > 0
    WINDOW w AS (PARTITION BY l.variant_id ORDER BY {QUEUE_ORDER_SQL} ROWS UNBOUNDED PRECEDING)
),
-- The lines that get stock, at most %(batch)s in all: a prefix of each variant's queue.
takes AS (
    SELECT id, q_start, take FROM (
        SELECT q.id, q.q_start, LEAST(q.waiting, f.units - q.q_start) AS take,
               ROW_NUMBER() OVER (ORDER BY q.variant_id, q.rn) AS n
        FROM queue q JOIN free f ON f.variant_id = q.variant_id
        WHERE q.q_start < f.units AND q.rn <= %(batch)s
    ) eligible
    WHERE n <= %(batch)s
),
served AS (
    UPDATE orders_orderline l
    SET quantity_allocated = l.quantity_allocated + t.take,
        quantity_backordered = l.quantity_backordered - t.take,
        status = {_LINE_STATUS_CASE}
    FROM takes t
    WHERE l.id = t.id AND l.quantity_backordered >= t.take
    RETURNING l.id, l.order_id, l.variant_id, t.take, t.q_start
),
follow_up AS (
    INSERT INTO orders_allocationfollowup (run_id, lines, created_at)
    SELECT %(run)s, jsonb_build_object('lines', jsonb_agg(id ORDER BY id), 'takes', jsonb_agg(take ORDER BY id)), now()
    FROM served HAVING COUNT(*) > 0
    RETURNING id
)
SELECT id, variant_id, take, order_id, (SELECT id FROM follow_up) FROM served ORDER BY variant_id, q_start
"""


def serve_batch_postgres(*, variant_ids: list[int], run_id: str, batch_size: int) -> Batch:
    """Serve the next batch of every one of these variants' queues at once (PostgreSQL).

    At most `batch_size` lines in all. The orders' side is left to
    `order_lines_allocated`, in this transaction or the next (the batch's
    AllocationFollowUp row). Python twin: `serve_batch`. Parity:
    orders/tests/test_allocation_parity.py::test_python_and_postgres_batches_write_the_same_rows.
    """
    variants_lock(variant_ids)
    free = stock_free_lock(variant_ids=variant_ids)
    units = free.units_by_variant()
    if not units:
        return Batch()
    with connection.cursor() as cursor:
        cursor.execute(
            _SERVE_SQL,
            {
                "variants": list(units),
                "units": list(units.values()),
                "batch": batch_size,
                "run": run_id,
                **_LINE_STATUS_PARAMS,
            },
        )
        rows = cursor.fetchall()
    if not rows:
        return Batch()
    # (line id, variant id, units) first in each row: the stock side reads those, in service order.
    stock_serve_postgres(lines=rows, free=free, run_id=run_id)
    return Batch(
        takes={line_id: take for line_id, _, take, _, _ in rows},
        order_ids={order_id for _, _, _, order_id, _ in rows},
        follow_up_id=rows[0][4],
    )
