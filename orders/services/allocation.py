"""The auto-allocation pass: free stock served to waiting order lines in queue order."""

import logging
import queue
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F

from inventory.models import (
    Allocation,
    MovementReason,
    StockItem,
    StockMovement,
)
from inventory.services.requests import allocation_requests_claim
from inventory.services.reservation import _lock_variants
from shop.cache import availability_changed  # listing badges: told after commit

from .dates import backorder_dates_refresh

logger = logging.getLogger(__name__)


# --- auto-allocation: serving the backorder queue ---------------------------------------------


@dataclass
class ServeResult:
    variant_id: int
    batches: int = 0
    lines_served: int = 0
    units_allocated: int = 0
    order_ids: set = None

    def __post_init__(self):
        self.order_ids = set() if self.order_ids is None else self.order_ids


def _queue_order():
    """The order of service, in one place: staff priority first, then oldest order, then line id."""
    return ("-order__is_priority", "order__placed_at", "pk")


def _serve_batch(*, variant_id: int, run_id: str, batch_size: int) -> tuple[dict[int, int], set[int]]:
    """One short transaction: allocate free stock of one variant to the next waiting lines.

    Returns ({line id: units allocated}, order ids). Queries are bounded per
    batch, never per line.
    """
    from orders.lifecycle import Move, line_apply
    from orders.models import OrderLine
    from orders.services import order_lines_allocated

    _lock_variants([variant_id])
    items = list(
        StockItem.objects.select_for_update(of=("self",), no_key=True)
        .filter(variant_id=variant_id, warehouse__is_active=True)
        .order_by("pk")
        .values_list("pk", "on_hand", "allocated", "warehouse_id", "warehouse__priority")
    )
    free = sum(on_hand - allocated for _, on_hand, allocated, _, _ in items)
    if free <= 0:
        return {}, set()
    candidates = list(
        OrderLine.objects.filter(variant_id=variant_id, quantity_backordered__gt=0)
        .order_by(*_queue_order())
        .values_list("pk", "quantity_backordered")[:batch_size]
    )
    planned, remaining = {}, free
    for pk, waiting in candidates:
        if remaining == 0:
            break
        planned[pk] = min(waiting, remaining)
        remaining -= planned[pk]
    if not planned:
        return {}, set()
    # Lock the chosen lines in primary-key order; a cancellation may have shrunk them meanwhile.
    lines = list(
        OrderLine.objects.select_for_update(of=("self",), no_key=True).filter(pk__in=planned).order_by("pk")
    )
    takes = {}
    for line in lines:
        take = min(planned[line.pk], line.quantity_backordered)
        if take > 0:
            line_apply(line, Move(allocate=take))
            takes[line.pk] = take
    lines = [line for line in lines if line.pk in takes]
    if not lines:
        return {}, set()

    # Spread the takes over the stock items, highest-priority warehouse first, in service order.
    stock = [
        [pk, on_hand - allocated, warehouse_id]
        for pk, on_hand, allocated, warehouse_id, _ in sorted(items, key=lambda i: (i[4], i[0]))
    ]
    picks: list[tuple[int, int, int, int]] = []  # (line id, stock item id, warehouse id, units)
    by_pk = {line.pk: line for line in lines}
    for pk, _ in candidates:
        need = takes.get(pk, 0)
        for entry in stock:
            if need == 0:
                break
            got = min(need, entry[1])
            if got > 0:
                picks.append((pk, entry[0], entry[2], got))
                entry[1] -= got
                need -= got
    existing = {
        (a.order_line_id, a.stock_item_id): a.quantity
        for a in Allocation.objects.filter(order_line_id__in=takes, stock_item_id__in=[i[0] for i in items])
    }
    allocations: dict[tuple[int, int], int] = {}
    per_item: dict[int, int] = {}
    lines_per_item: dict[int, int] = {}
    warehouse_of: dict[int, int] = {}
    for line_id, item_id, warehouse_id, units in picks:
        key = (line_id, item_id)
        allocations[key] = allocations.get(key, existing.get(key, 0)) + units
        per_item[item_id] = per_item.get(item_id, 0) + units
        lines_per_item[item_id] = lines_per_item.get(item_id, 0) + 1
        warehouse_of[item_id] = warehouse_id
    # One ledger movement per stock item and batch (see _SERVE_SQL): which line got which
    # units is in the Allocation rows and in each order's "allocated" event of this run.
    movements = [
        StockMovement(
            stock_item_id=item_id,
            variant_id=variant_id,
            warehouse_id=warehouse_of[item_id],
            allocated_delta=units,
            reason=MovementReason.ALLOCATED,
            note=_serve_note(run_id, lines_per_item[item_id]),
        )
        for item_id, units in sorted(per_item.items())
    ]
    locked_items = {
        item.pk: item for item in StockItem.objects.filter(pk__in=per_item).order_by("pk")
    }  # already locked above
    for item_id, units in per_item.items():
        locked_items[item_id].allocated += units
    OrderLine.objects.bulk_update(
        lines, ["quantity_allocated", "quantity_backordered", "status"], batch_size=1000
    )
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
    StockItem.objects.bulk_update(locked_items.values(), ["allocated"], batch_size=1000)
    StockMovement.objects.bulk_create(movements, batch_size=1000)
    order_ids = {by_pk[pk].order_id for pk in takes}
    order_lines_allocated(order_ids=order_ids, takes=takes, run_id=run_id)
    return takes, order_ids


def _serve_note(run_id: str, lines: int) -> str:
    """The note of a batch's ledger movement; the same words as the PostgreSQL statement writes."""
    return f"auto-allocation {run_id}: {lines} line{'' if lines == 1 else 's'}"[:255]


# The PostgreSQL pass: one statement per batch chooses the lines with a running sum (window
# function), updates them, writes their allocations, one ledger movement per stock item (the
# units of the batch; Allocation rows and the order events say which line got them), raises
# the stock items' allocated and records the batch (line ids and units) in an
# AllocationFollowUp row for the orders' side: statuses, timeline events and emails, written
# by orders.services.order_lines_allocated. Stock ranges come in as arrays: each stock item with
# free units covers [s_start, s_end) of its variant's free units, warehouses by priority; each
# chosen line covers [q_start, q_start + take) of its variant's queue; a pick is the overlap.
# Line statuses follow orders.lifecycle.line_status (tested for parity).
_SERVE_SQL = """
WITH stock(item_id, variant_id, warehouse_id, s_start, s_end) AS (
    SELECT * FROM unnest(%(items)s::bigint[], %(item_variants)s::bigint[], %(warehouses)s::bigint[],
                         %(starts)s::bigint[], %(ends)s::bigint[])
),
free(variant_id, units) AS (SELECT variant_id, MAX(s_end) FROM stock GROUP BY variant_id),
queue AS (
    SELECT l.id, l.order_id, l.variant_id, l.quantity_backordered AS waiting,
           SUM(l.quantity_backordered) OVER w - l.quantity_backordered AS q_start,
           ROW_NUMBER() OVER w AS rn
    FROM orders_orderline l
    -- The order's queue keys, looked up by primary key for each waiting line. OFFSET 0 keeps
    -- the planner from turning this into a hash join that reads every order ever placed: the
    -- work grows with the waiting lines, not with the shop's history.
    CROSS JOIN LATERAL (SELECT is_priority, placed_at FROM orders_order WHERE id = l.order_id OFFSET 0) o
    WHERE l.variant_id = ANY(%(variants)s) AND l.quantity_backordered > 0
    WINDOW w AS (PARTITION BY l.variant_id ORDER BY o.is_priority DESC, o.placed_at, l.id
                 ROWS UNBOUNDED PRECEDING)
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
        status = CASE WHEN l.quantity_shipped > 0 THEN 'partially_shipped'
                      WHEN l.quantity_backordered = t.take THEN 'allocated'
                      ELSE 'partially_allocated' END
    FROM takes t
    WHERE l.id = t.id AND l.quantity_backordered >= t.take
    RETURNING l.id, l.order_id, l.variant_id, l.product_name, t.take, t.q_start
),
picks AS (
    SELECT sv.id AS line_id, sv.variant_id, s.item_id, s.warehouse_id,
           LEAST(sv.q_start + sv.take, s.s_end) - GREATEST(sv.q_start, s.s_start) AS qty
    FROM served sv JOIN stock s
      ON s.variant_id = sv.variant_id AND s.s_start < sv.q_start + sv.take AND sv.q_start < s.s_end
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
    SELECT item_id, variant_id, warehouse_id, 0, SUM(qty), 'allocated', NULL,
           %(note)s || ': ' || COUNT(*) || CASE WHEN COUNT(*) = 1 THEN ' line' ELSE ' lines' END, now()
    FROM picks GROUP BY item_id, variant_id, warehouse_id
),
stock_rows AS (
    UPDATE inventory_stockitem si SET allocated = si.allocated + p.qty, updated_at = now()
    FROM (SELECT item_id, SUM(qty) AS qty FROM picks GROUP BY item_id) p
    WHERE si.id = p.item_id
),
follow_up AS (
    INSERT INTO orders_allocationfollowup (run_id, lines, created_at)
    SELECT %(run)s, jsonb_build_object('lines', jsonb_agg(id ORDER BY id), 'takes', jsonb_agg(take ORDER BY id)), now()
    FROM served HAVING COUNT(*) > 0
    RETURNING id
)
SELECT id, order_id, take, (SELECT id FROM follow_up) FROM served
"""


def _serve_batch_postgres(
    *, variant_ids: list[int], run_id: str, batch_size: int
) -> tuple[dict[int, int], set[int], int | None]:
    """One short transaction on PostgreSQL: serve the next batch of every variant's queue at once.

    Returns ({line id: units allocated}, order ids, the batch's AllocationFollowUp id). The
    orders' side is left to `order_lines_allocated`, in this transaction or the next.
    """
    from django.db import connection

    _lock_variants(variant_ids)
    items = list(
        StockItem.objects.select_for_update(of=("self",), no_key=True)
        .filter(variant_id__in=variant_ids, warehouse__is_active=True)
        .order_by("pk")
        .values_list("pk", "variant_id", "on_hand", "allocated", "warehouse_id", "warehouse__priority")
    )
    ranges: list[tuple[int, int, int, int, int]] = []
    covered: dict[int, int] = {}
    for pk, variant_id, on_hand, allocated, warehouse_id, _ in sorted(
        items, key=lambda i: (i[1], i[5], i[0])
    ):
        free = on_hand - allocated
        if free > 0:
            start = covered.get(variant_id, 0)
            ranges.append((pk, variant_id, warehouse_id, start, start + free))
            covered[variant_id] = start + free
    if not ranges:
        return {}, set(), None
    with connection.cursor() as cursor:
        cursor.execute(
            _SERVE_SQL,
            {
                "items": [r[0] for r in ranges],
                "item_variants": [r[1] for r in ranges],
                "warehouses": [r[2] for r in ranges],
                "starts": [r[3] for r in ranges],
                "ends": [r[4] for r in ranges],
                "variants": sorted(covered),
                "batch": batch_size,
                "note": f"auto-allocation {run_id}"[:200],
                "run": run_id,
            },
        )
        rows = cursor.fetchall()
    takes = {line_id: take for line_id, _, take, _ in rows}
    order_ids = {order_id for _, order_id, _, _ in rows}
    return takes, order_ids, (rows[0][3] if rows else None)


class _FollowUpThread:
    """The orders' side of served batches, on a second database connection (PostgreSQL).

    While the pass serves its next batch, this thread gives the orders of the batch
    just committed their status, timeline event and email, each batch in its own
    transaction (`order_lines_allocated`). Both connections work at once, on two
    cores. A batch whose follow-up fails or never runs (the worker died) keeps its
    AllocationFollowUp row, which the sweep finishes later.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="allocation-follow-up", daemon=True)
        self._thread.start()

    def submit(self, **job) -> None:
        self._jobs.put(job)

    def close(self) -> None:
        """Wait until every submitted batch is done."""
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        from django.db import connection

        from orders import services as order_services

        try:
            while (job := self._jobs.get()) is not None:
                try:
                    with transaction.atomic():
                        order_services.order_lines_allocated(**job)
                except Exception:
                    logger.exception(
                        "Auto-allocation batch %s: updating its orders failed; the sweep will retry.",
                        job["follow_up_id"],
                    )
                    connection.close()  # the next batch starts on a fresh connection
        finally:
            connection.close()


@contextmanager
def _follow_ups_for_pass(given: _FollowUpThread | None = None):
    """The follow-up thread of a pass: `given` if any (the caller closes it), else a new one when
    the pass runs on PostgreSQL outside a transaction, closed (waited for) on leaving. None
    otherwise: inside a caller's transaction a second connection would not see the batches."""
    from django.db import connection

    if given is not None:
        yield given
        return
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield None
        return
    follow_ups = _FollowUpThread()
    try:
        yield follow_ups
    finally:
        follow_ups.close()


def _variant_groups(variant_ids: list[int], *, batch_size: int) -> list[list[int]]:
    """The variants with lines waiting, in id order, grouped so that a group's queues hold about
    one batch: each batch statement ranks the waiting lines of its group only, not those of every
    variant of the pass again and again. A variant with more than a batch waiting is a group of
    its own (served in several batches). One query."""
    from django.db.models import Count

    from orders.models import OrderLine

    waiting = dict(
        OrderLine.objects.filter(variant_id__in=variant_ids, quantity_backordered__gt=0)
        .values("variant_id")
        .annotate(n=Count("id"))
        .values_list("variant_id", "n")
    )
    groups: list[list[int]] = []
    size = 0
    for variant_id in variant_ids:
        n = waiting.get(variant_id, 0)
        if n == 0:
            continue  # nothing to serve
        if not groups or size + n > batch_size:
            groups.append([])
            size = 0
        groups[-1].append(variant_id)
        size += n
    return groups


def _free_stock_and_waiting_lines(variant_ids: list[int]) -> bool:
    """Whether any of these variants still has free stock and a line waiting for it (two queries)."""
    from orders.models import OrderLine

    free = set(
        StockItem.objects.filter(
            variant_id__in=variant_ids, warehouse__is_active=True, on_hand__gt=F("allocated")
        )
        .values_list("variant_id", flat=True)
        .distinct()
    )
    return bool(free) and OrderLine.objects.filter(variant_id__in=free, quantity_backordered__gt=0).exists()


def allocation_serve_queue(
    *,
    variant_ids: Iterable[int],
    run_id: str,
    batch_size: int = 2500,
    follow_ups: _FollowUpThread | None = None,
) -> ServeResult:
    """Serve waiting backorders of these variants from their free stock, batch by batch.

    Each batch is its own short transaction holding the variants' locks: a
    worker killed in the middle leaves whole batches or nothing, and the next
    run finishes the work. Idempotent: with no free stock or no waiting line it
    changes nothing. On PostgreSQL a batch is one set-based statement for all
    the variants (window functions), at most `batch_size` lines in all, and
    when called outside a transaction the batches' orders are brought up to
    date on a second connection while the next batch is served (see
    `_FollowUpThread`); elsewhere the same rules run per variant in Python,
    with a bounded number of queries per batch, and the orders are updated in
    the batch's transaction. `follow_ups`: a follow-up thread the caller made
    and will close (`stock_arrived_process`, which has more to do meanwhile).
    """
    from django.db import connection

    from orders import services as order_services

    ids = sorted(set(variant_ids))
    result = ServeResult(variant_id=ids[0] if len(ids) == 1 else 0)
    postgres = connection.vendor == "postgresql"
    groups = _variant_groups(ids, batch_size=batch_size) if postgres else [[v] for v in ids]
    with _follow_ups_for_pass(follow_ups) as follow_ups:
        for group in groups:
            retries = 0
            while True:
                with transaction.atomic():
                    if postgres:
                        takes, order_ids, follow_up_id = _serve_batch_postgres(
                            variant_ids=group, run_id=run_id, batch_size=batch_size
                        )
                        job = {"order_ids": order_ids, "takes": takes, "run_id": run_id}
                        if takes and follow_ups is None:
                            order_services.order_lines_allocated(**job, follow_up_id=follow_up_id)
                    else:
                        takes, order_ids = _serve_batch(
                            variant_id=group[0], run_id=run_id, batch_size=batch_size
                        )
                if not takes:
                    # A batch can come back empty while work remains: the lines it chose were all
                    # shrunk by a customer's cancellation between choosing and updating. Look again.
                    if retries < 3 and _free_stock_and_waiting_lines(group):
                        retries += 1
                        continue
                    break
                if follow_ups is not None:
                    follow_ups.submit(**job, follow_up_id=follow_up_id)
                result.batches += 1
                result.lines_served += len(takes)
                result.units_allocated += sum(takes.values())
                result.order_ids |= order_ids
        # The promised dates of the lines still waiting do not depend on the orders' side:
        # refresh them while the follow-up finishes the last batch.
        backorder_dates_refresh(variant_ids=ids)
        if result.units_allocated:
            availability_changed(variant_ids=ids)
    return result


def stock_arrived_process(*, variant_ids: Iterable[int]) -> ServeResult | None:
    """Serve the backorder queues of variants whose free stock grew (the "stock arrived" task).

    Coalesced: only variants with a pending AllocationRequest are served, and
    serving removes the request, so ten receipts in a second cause one pass;
    requests added while a pass runs cause one more. Running it again changes
    nothing. Returns what was served, or None when nothing was pending.
    """
    import uuid

    from notifications.services import back_in_stock_process, low_stock_check

    variant_ids = sorted(set(variant_ids))
    run_id = uuid.uuid4().hex[:12]
    total = None
    batch_size = settings.INVENTORY_ALLOCATION_BATCH_SIZE
    # One follow-up thread for the whole pass, waited for at the very end: the steps after the
    # queue (back-in-stock, low stock) read stock, not the orders the follow-up updates.
    with _follow_ups_for_pass() as follow_ups:
        while claimed := allocation_requests_claim(variant_ids=variant_ids):
            result = allocation_serve_queue(
                variant_ids=claimed, run_id=run_id, batch_size=batch_size, follow_ups=follow_ups
            )
            if total is None:
                total = result
            else:
                total.batches += result.batches
                total.lines_served += result.lines_served
                total.units_allocated += result.units_allocated
                total.order_ids |= result.order_ids
        # Units still free after the queue was served go to back-in-stock subscribers;
        # a variant that rose above its low-stock threshold is reset for the next alert.
        back_in_stock_process(variant_ids=variant_ids)
        low_stock_check(variant_ids=variant_ids)
    return total
