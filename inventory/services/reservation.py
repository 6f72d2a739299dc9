"""Checkout's reservation: stock set aside under the variant lock, recorded per order line, shipped.

Owns `allocation_reserve` (how many units of each demand come from stock now and how many wait),
`allocation_record` (the Allocation rows and ledger movements of the order lines just created),
`allocation_ship` (allocated units leaving the warehouse) and `allocation_release` (allocated units
given back to free stock: an unpaid card charge's grace ended, orders.services.allocation_release).

Transactions and locks: every function runs inside the caller's transaction (checkout's, shipping's)
and raises RuntimeError outside one. Lock order (docs/concurrency.md, inventory.locks): the variants
(`variants_lock`, the mutex of their backorder queues), then their stock items
(`variant_stock_items_lock` / `stock_items_lock`), then allocations (`allocations_lock`); the
caller locks order lines and orders after that. A reservation announces (inventory.events, acted on
after commit) `availability_changed` and, once recorded, `stock_fell` (free stock went down).
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from django.db import transaction
from django.db.models.sql import InsertQuery

from orders.models import OrderLine

from ..events import availability_changed, stock_changed, stock_fell
from ..locks import allocations_lock, stock_items_lock, variant_stock_items_lock, variants_lock
from ..models import (
    Allocation,
    MovementReason,
    StockItem,
    StockMovement,
)
from ..selectors import availability_for_variants
from .errors import BackorderRefused, StockError
from .requests import allocation_request_add

logger = logging.getLogger(__name__)


# --- allocation to order lines ------------------------------------------------------------


@dataclass(frozen=True)
class Demand:
    variant_id: int
    quantity: int


@dataclass(frozen=True)
class PlannedLine:
    variant_id: int
    quantity: int
    allocate: int  # units from stock now
    backorder: int  # units that wait
    expected_date: date | None  # when the backordered units should ship: the confident end (docs/dates.md)
    picks: tuple[tuple[int, int], ...]  # (stock item id, units) in warehouse priority order
    expected_earliest: date | None = None  # the earliest end of that range


@dataclass
class Reservation:
    """Stock set aside, under lock, for the lines of an order that is being placed."""

    lines: dict[int, PlannedLine]  # by variant id
    recorded: bool = False
    # The stock items as read under their lock: {id: (warehouse id, allocated)}. They stay locked to
    # the commit, so `allocation_record` writes from these numbers without reading the rows again.
    items: dict[int, tuple[int, int]] = field(default_factory=dict)


def _availability_under_lock(seen, *, free_stock: int, waiting: int):
    """`seen` (an Availability read before the variant was locked) with the two numbers that
    checkouts and the auto-allocation pass change, read again under the lock.

    The policy (mode, limit) and the incoming supply come from `seen`: they are not
    serialized by the variant lock, so reading them a moment earlier changes nothing.
    The backorder places left follow from the limit that `seen` implies: none when
    it had none (the policy refuses backorders, or the limit was used up; a place a
    cancellation freed in between is not offered, which never overfills the limit).
    """
    if seen.backorderable is None or seen.backorderable == 0:
        backorderable = seen.backorderable
    else:
        backorderable = max(seen.backorderable + seen.waiting_backorders - waiting, 0)
    return replace(
        seen,
        sellable_now=max(free_stock - waiting, 0),
        backorderable=backorderable,
        free_stock=free_stock,
        waiting_backorders=waiting,
    )


def allocation_reserve(
    *, demands: list[Demand], allow_backorder: bool = True, seen: Mapping | None = None
) -> Reservation:
    """Decide, under lock, how many units of each demand come from stock and how many wait.

    Must run inside the transaction that then creates the order lines and calls
    `allocation_record`. `seen` is the availability the caller already read,
    {variant id: Availability} (checkout's quote); when not given it is read here,
    still before locking. Then the variants, then their stock items are locked in
    pk order, and only the numbers that can change under a checkout are read
    again under those locks: the stock items' free units and the units waiting
    on backorder. Concurrent checkouts of the same variant are serialized and
    can neither oversell nor overfill the backorder limit. Raises
    BackorderRefused when the policy or the limit does not allow a demand (or
    any backorder when `allow_backorder` is False).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("allocation_reserve must run inside transaction.atomic()")
    variant_ids = sorted({d.variant_id for d in demands})
    if seen is None:
        seen = availability_for_variants(variant_ids=variant_ids)
    variants_lock(variant_ids)
    # The order's lines change stock and the queue.
    availability_changed.send(variant_ids=variant_ids)
    # The units waiting on backorder come with the stock items, in the same statement: it starts after
    # the variants are locked, so it sees every line the lock's earlier holders committed, and only a
    # holder of that lock adds waiting units. A variant without stock items has them read on their own.
    rows = list(
        variant_stock_items_lock(variant_ids)
        .annotate(waiting=OrderLine.objects.waiting_units_subquery("variant_id"))
        .values_list(
            "pk", "variant_id", "on_hand", "allocated", "warehouse__priority", "warehouse_id", "waiting"
        )
    )
    items = [row[:6] for row in rows]
    waiting = {row[1]: row[6] for row in rows}
    if without_stock := [v for v in variant_ids if v not in waiting]:
        waiting |= dict(
            OrderLine.objects.filter(variant_id__in=without_stock)
            .waiting_units_by_variant()
            .values_list("variant", "units")
        )
    planned = {}
    for demand in demands:
        if demand.variant_id not in seen:
            raise StockError("That item no longer exists.")
        candidates = sorted((i for i in items if i[1] == demand.variant_id), key=lambda i: (i[4], i[0]))
        a = _availability_under_lock(
            seen[demand.variant_id],
            free_stock=sum(on_hand - allocated for _pk, _v, on_hand, allocated, _p, _w in candidates),
            waiting=waiting.get(demand.variant_id, 0),
        )
        try:
            now, later = a.split(demand.quantity)
        except ValueError:
            raise BackorderRefused(
                f"Only {a.max_orderable} can be ordered." if a.max_orderable else "It has just sold out.",
                variant_id=demand.variant_id,
                max_orderable=a.max_orderable or 0,
            ) from None
        if later and not allow_backorder:
            raise BackorderRefused(
                f"Only {now} can ship now." if now else "None can ship now.",
                variant_id=demand.variant_id,
                max_orderable=now,
            )
        picks = []
        remaining = now
        for pk, _variant, on_hand, allocated, _priority, _warehouse in candidates:
            if remaining == 0:
                break
            take = min(remaining, on_hand - allocated)
            if take > 0:
                picks.append((pk, take))
                remaining -= take
        if remaining:  # cannot happen: `now` is at most the free units of these very rows
            raise StockError("Stock changed while the order was being placed; please try again.")
        span = a.backorder_range(later)
        planned[demand.variant_id] = PlannedLine(
            variant_id=demand.variant_id,
            quantity=demand.quantity,
            allocate=now,
            backorder=later,
            expected_date=span.confident if span else None,
            picks=tuple(picks),
            expected_earliest=span.earliest if span else None,
        )
    return Reservation(lines=planned, items={i[0]: (i[5], i[3]) for i in items})


def allocation_record(
    *, reservation: Reservation, line_ids: Mapping[int, int], user_id: int | None = None
) -> None:
    """Write a reservation's allocations for the order lines just created ({variant id: line id}).

    Same transaction as `allocation_reserve` (its locks are still held): raises
    allocated on the stock items (from the numbers the reservation read under
    those locks), writes Allocation rows and one ledger movement per stock item
    and line.
    """
    if reservation.recorded:
        raise RuntimeError("reservation already recorded")
    picks = [
        (item_id, qty, variant_id)
        for variant_id, plan in reservation.lines.items()
        for item_id, qty in plan.picks
    ]
    if not picks:
        reservation.recorded = True
        return
    if all(p[0] in reservation.items for p in picks):  # read under the lock still held: not again
        items = {
            pk: StockItem(pk=pk, warehouse_id=reservation.items[pk][0], allocated=reservation.items[pk][1])
            for pk in sorted({p[0] for p in picks})
        }
    else:
        items = {item.pk: item for item in stock_items_lock(p[0] for p in picks)}
    allocations, movements = [], []
    for item_id, qty, variant_id in picks:
        item = items[item_id]
        item.allocated += qty
        allocations.append(
            Allocation(order_line_id=line_ids[variant_id], stock_item_id=item_id, quantity=qty)
        )
        movements.append(
            StockMovement(
                stock_item_id=item_id,
                variant_id=variant_id,
                warehouse_id=item.warehouse_id,
                allocated_delta=qty,
                reason=MovementReason.ALLOCATED,
                order_line_id=line_ids[variant_id],
                user_id=user_id,
            )
        )
    if transaction.get_connection().vendor == "postgresql":
        _record_rows_postgres(list(items.values()), allocations, movements)
    else:
        StockItem.objects.bulk_update(items.values(), ["allocated"], batch_size=500)
        Allocation.objects.bulk_create(allocations, batch_size=500)
        StockMovement.objects.bulk_create(movements, batch_size=500)
    reservation.recorded = True
    stock_changed.send(variant_ids=sorted({variant_id for _, _, variant_id in picks}))
    stock_fell.send(variant_ids=sorted({variant_id for _, _, variant_id in picks}))


def _record_rows_postgres(
    items: list[StockItem], allocations: list[Allocation], movements: list[StockMovement]
) -> None:
    """`allocation_record`'s three writes in one statement on PostgreSQL: the allocations and the ledger
    rows as data-modifying CTEs (Django's own INSERTs of them, each run once and to completion) of the
    stock items' UPDATE. The same rows as `bulk_update` and `bulk_create` write, one round trip."""
    db = transaction.get_connection()
    parts, params = [], []
    for name, objs in (("a", allocations), ("m", movements)):
        query = InsertQuery(type(objs[0]))
        query.insert_values([f for f in objs[0]._meta.concrete_fields if not f.primary_key], objs)
        [(sql, sql_params)] = query.get_compiler(db.alias).as_sql()
        parts.append(f"{name} AS ({sql})")
        params += list(sql_params)
    table = db.ops.quote_name(StockItem._meta.db_table)
    statement = (
        f"WITH {', '.join(parts)} UPDATE {table} AS si SET allocated = d.allocated "
        "FROM unnest(%s::bigint[], %s::integer[]) AS d(id, allocated) WHERE si.id = d.id"
    )
    params += [[item.pk for item in items], [item.allocated for item in items]]
    with db.cursor() as cursor:
        cursor.execute(statement, params)


def _allocations_draw(
    wanted: dict[int, int], *, order_by: tuple[str, ...], shipped: bool, user_id: int | None, verb: str
) -> list[StockMovement]:
    """Take units {line id: units} off the lines' allocations, in `order_by` order: `allocated` falls on
    the stock items (and `on_hand` too when the units are `shipped`), one movement per stock item and
    line ("shipped" or "deallocated"). Locks the stock items, then the allocations. Raises StockError
    when a line has fewer units allocated than asked; returns the movements written."""
    allocations = list(
        Allocation.objects.filter(order_line_id__in=wanted, quantity__gt=0)
        .select_related("stock_item__warehouse")
        .order_by(*order_by)
    )
    items = {item.pk: item for item in stock_items_lock(sorted({a.stock_item_id for a in allocations}))}
    locked = {a.pk: a for a in allocations_lock(a.pk for a in allocations)}
    movements, changed = [], []
    for allocation in allocations:
        current = locked[allocation.pk]
        take = min(wanted.get(allocation.order_line_id, 0), current.quantity)
        if take <= 0:
            continue
        wanted[allocation.order_line_id] -= take
        current.quantity -= take
        changed.append(current)
        item = items[current.stock_item_id]
        item.allocated -= take
        if shipped:
            item.on_hand -= take
        movements.append(
            StockMovement(
                stock_item_id=item.pk,
                variant_id=item.variant_id,
                warehouse_id=item.warehouse_id,
                on_hand_delta=-take if shipped else 0,
                allocated_delta=-take,
                reason=MovementReason.SHIPPED if shipped else MovementReason.DEALLOCATED,
                order_line_id=allocation.order_line_id,
                user_id=user_id,
            )
        )
    short = {line_id: qty for line_id, qty in wanted.items() if qty}
    if short:
        raise StockError(f"Not enough allocated stock to {verb} lines {sorted(short)}.")
    StockItem.objects.bulk_update(
        items.values(), ["on_hand", "allocated"] if shipped else ["allocated"], batch_size=500
    )
    Allocation.objects.bulk_update(changed, ["quantity"], batch_size=500)
    StockMovement.objects.bulk_create(movements, batch_size=500)
    return movements


def allocation_ship(*, quantities: Mapping[int, int], user_id: int | None = None) -> None:
    """Units of order lines leave the warehouse: {line id: units}.

    Consumes the lines' allocations (highest-priority warehouse first): on hand
    and allocated both fall, a "shipped" movement per stock item and line. The
    caller (orders.services.order_ship) updates the lines afterwards, in the
    same transaction, keeping the lock order stock items → order lines.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("allocation_ship must run inside transaction.atomic()")
    wanted = {line_id: qty for line_id, qty in quantities.items() if qty > 0}
    if not wanted:
        return
    movements = _allocations_draw(
        wanted,
        order_by=("order_line_id", "stock_item__warehouse__priority", "stock_item_id"),
        shipped=True,
        user_id=user_id,
        verb="ship",
    )
    stock_changed.send(variant_ids=sorted({m.variant_id for m in movements}))


def allocation_release(*, quantities: Mapping[int, int], user_id: int | None = None) -> list[int]:
    """Units set aside for order lines go back to free stock: {line id: units}; returns the variants.

    The lines' allocations give the units back, the lowest-priority warehouse first (shipping
    draws on the highest first): `allocated` falls on the stock items, a "deallocated" movement per
    stock item and line. The stock is free again, so an allocation request is written and
    `stock_grew` announced (`requests.allocation_request_add`): the next customers in the queue
    are served after commit. The caller updates the lines afterwards, in the same transaction,
    and holds the variants' lock (`variants_lock`); the stock items, then the allocations, are
    locked here. Raises StockError when a line has fewer units allocated than asked.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("allocation_release must run inside transaction.atomic()")
    wanted = {line_id: qty for line_id, qty in quantities.items() if qty > 0}
    if not wanted:
        return []
    movements = _allocations_draw(
        wanted,
        order_by=("order_line_id", "-stock_item__warehouse__priority", "-stock_item_id"),
        shipped=False,
        user_id=user_id,
        verb="release",
    )
    variant_ids = sorted({m.variant_id for m in movements})
    availability_changed.send(variant_ids=variant_ids)
    stock_changed.send(variant_ids=variant_ids)
    allocation_request_add(variant_ids=variant_ids)
    return variant_ids
