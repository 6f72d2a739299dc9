"""The only code that changes stock levels.

Every function here writes a StockMovement row in the same transaction as the
stock change, so the ledger always explains the levels (`stock_reconcile`
checks it). Two ways of writing are used, both safe under concurrency:

* a conditional UPDATE (`... SET on_hand = on_hand + n WHERE on_hand + n >=
  allocated`) whose row count tells whether the change was allowed, or
* `select_for_update()` over the affected rows, always locked in primary-key
  order so that two transactions locking several rows cannot deadlock.

Lock order across the whole project (docs/concurrency.md): variants (by pk) →
purchase order → purchase-order lines → stock items (by pk) → order lines (by pk) →
orders (by pk, for their status).
"""

import logging
import queue
import threading
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from shop.cache import availability_changed  # listing badges: told after commit
from shop.models import Variant
from shop.submissions import submission_claim

from .models import (
    Allocation,
    AllocationRequest,
    MovementReason,
    PurchaseOrder,
    PurchaseOrderDateChange,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockItem,
    StockMovement,
    Warehouse,
)
from .projection import ordered_incoming, project_ready_date

logger = logging.getLogger(__name__)


class StockError(Exception):
    """A stock change that was refused; the message is safe to show to staff."""


class InsufficientStock(StockError):
    pass


class PurchaseOrderError(StockError):
    pass


class BackorderRefused(StockError):
    """More units asked for than stock plus the backorder policy allow."""

    def __init__(self, message: str, *, variant_id: int, max_orderable: int):
        super().__init__(message)
        self.variant_id = variant_id
        self.max_orderable = max_orderable


# --- helpers -------------------------------------------------------------------------


def _enqueue_stock_arrived(variant_ids: Iterable[int]) -> None:
    """Record that these variants gained free stock, and after commit run the "stock arrived" task.

    The AllocationRequest rows commit with the stock change, so even a lost
    broker message leaves the work findable (the sweep serves it).
    """
    from .tasks import stock_arrived

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
            f"{item.on_hand} on hand, {item.allocated} promised to orders, so at most {item.free} can be removed."
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
    availability_changed(variant_ids=[variant_id])
    if quantity_change > 0:
        _enqueue_stock_arrived([variant_id])
    else:
        _enqueue_stock_fell([variant_id])
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
    item = (
        StockItem.objects.select_for_update(of=("self",), no_key=True)
        .select_related("variant", "warehouse")
        .get(pk=item_id)
    )
    if counted < item.allocated:
        raise InsufficientStock(
            f"{item.variant.sku} at {item.warehouse.code}: {item.allocated} units are promised to orders, "
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
    availability_changed(variant_ids=[variant_id])
    if delta > 0:
        _enqueue_stock_arrived([variant_id])
    else:
        _enqueue_stock_fell([variant_id])
    return movement


# --- purchase orders ---------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    purchase_order_id: int
    status: str
    units_received: int
    movements: list[StockMovement]


@transaction.atomic
@transaction.atomic
def purchase_order_create(
    *,
    supplier_id: int,
    warehouse_id: int,
    reference: str,
    lines: Mapping[int, int],
    expected_date: date | None = None,
    status: str = PurchaseOrderStatus.DRAFT,
    notes: str = "",
    user_id: int | None = None,
) -> PurchaseOrder:
    """Create a purchase order with lines {variant_id: quantity}, all or nothing.

    Created as ordered (`status`), it is supply from now on: `user_id` is recorded as who
    ordered it, and the waiting lines of its variants get their new expected dates.
    """
    if status not in (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.ORDERED):
        raise PurchaseOrderError("A new purchase order is either a draft or ordered.")
    if not lines or any(q <= 0 for q in lines.values()):
        raise PurchaseOrderError("A purchase order needs at least one line, each with a positive quantity.")
    ordered = status == PurchaseOrderStatus.ORDERED
    try:
        with transaction.atomic():
            po = PurchaseOrder.objects.create(
                supplier_id=supplier_id,
                warehouse_id=warehouse_id,
                reference=reference,
                expected_date=expected_date,
                status=status,
                notes=notes,
                ordered_at=timezone.now() if ordered else None,
                ordered_by_id=user_id if ordered else None,
            )
    except IntegrityError as exc:
        raise PurchaseOrderError(f"A purchase order with reference {reference} already exists.") from exc
    PurchaseOrderLine.objects.bulk_create(
        [
            PurchaseOrderLine(purchase_order=po, variant_id=v, quantity_ordered=q)
            for v, q in sorted(lines.items())
        ]
    )
    availability_changed(variant_ids=lines)
    if ordered:
        _enqueue_delay_check(purchase_order_id=po.pk, cause="")
    return po


@transaction.atomic
def purchase_order_mark_ordered(*, purchase_order_id: int, user_id: int | None = None) -> PurchaseOrder:
    po = PurchaseOrder.objects.select_for_update(no_key=True).get(pk=purchase_order_id)
    if po.status != PurchaseOrderStatus.DRAFT:
        raise PurchaseOrderError(f"{po.reference} is {po.get_status_display().lower()}, not a draft.")
    if not po.lines.exists():
        raise PurchaseOrderError(f"{po.reference} has no lines.")
    po.status = PurchaseOrderStatus.ORDERED
    po.ordered_at, po.ordered_by_id = timezone.now(), user_id
    po.save(update_fields=["status", "ordered_at", "ordered_by", "updated_at"])
    availability_changed(variant_ids=po.lines.values_list("variant_id", flat=True))
    _enqueue_delay_check(purchase_order_id=po.pk, cause="")  # more supply: waiting lines' dates come forward
    return po


@transaction.atomic
def purchase_order_cancel(*, purchase_order_id: int, user_id: int | None = None) -> PurchaseOrder:
    """Cancel what has not arrived yet. Units already received stay in stock."""
    po = PurchaseOrder.objects.select_for_update(no_key=True).get(pk=purchase_order_id)
    if po.status in (PurchaseOrderStatus.RECEIVED, PurchaseOrderStatus.CANCELLED):
        raise PurchaseOrderError(f"{po.reference} is already {po.get_status_display().lower()}.")
    # Closing a partly received order means the supplier delivered short.
    short = po.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    po.status = PurchaseOrderStatus.CANCELLED
    po.cancelled_at, po.cancelled_by_id = timezone.now(), user_id
    po.save(update_fields=["status", "cancelled_at", "cancelled_by", "updated_at"])
    availability_changed(variant_ids=po.lines.values_list("variant_id", flat=True))
    _enqueue_delay_check(purchase_order_id=po.pk, cause="po_received_short" if short else "po_cancelled")
    return po


@transaction.atomic
def purchase_order_set_expected_date(
    *, purchase_order_id: int, expected_date: date | None, user_id: int | None = None, reason: str = ""
) -> PurchaseOrderDateChange | None:
    """Change the expected date and keep the old one in the history. None when unchanged."""
    po = PurchaseOrder.objects.select_for_update(no_key=True).get(pk=purchase_order_id)
    if po.expected_date == expected_date:
        return None
    if po.status in (PurchaseOrderStatus.RECEIVED, PurchaseOrderStatus.CANCELLED):
        raise PurchaseOrderError(
            f"{po.reference} is {po.get_status_display().lower()}; its date no longer matters."
        )
    change = PurchaseOrderDateChange.objects.create(
        purchase_order=po,
        old_date=po.expected_date,
        new_date=expected_date,
        changed_by_id=user_id,
        reason=reason[:255],
    )
    po.expected_date = expected_date
    po.save(update_fields=["expected_date", "updated_at"])
    availability_changed(variant_ids=po.lines.values_list("variant_id", flat=True))
    if po.status != PurchaseOrderStatus.DRAFT:  # a draft promises nothing, so it delays nothing
        _enqueue_delay_check(purchase_order_id=po.pk, cause="po_date_changed")
    return change


@transaction.atomic
def purchase_order_receive(
    *,
    purchase_order_id: int,
    quantities: Mapping[int, int] | None = None,
    user_id: int | None = None,
    submission_key: str | None = None,
) -> Receipt:
    """Receive a purchase order: everything outstanding, or {line_id: quantity} in part.

    Refused, writing nothing, when the order is a draft, cancelled or already
    received, when a quantity is zero or negative, names a line of another order,
    or exceeds what is outstanding on the line (over-receipt is not allowed:
    record extra units as a stock adjustment). On success on_hand grows, one
    movement per line is written, and "stock arrived" runs after commit.
    With `submission_key` a second submission of the same form raises
    AlreadySubmitted and receives nothing.
    """
    if submission_key is not None:
        submission_claim(key=submission_key, action="purchase_order_receive", user_id=user_id)
    po = PurchaseOrder.objects.select_for_update(no_key=True).get(pk=purchase_order_id)
    if po.status == PurchaseOrderStatus.DRAFT:
        raise PurchaseOrderError(f"{po.reference} is still a draft: mark it as ordered before receiving it.")
    if po.status == PurchaseOrderStatus.CANCELLED:
        raise PurchaseOrderError(f"{po.reference} is cancelled: nothing can be received on it.")
    if po.status == PurchaseOrderStatus.RECEIVED:
        raise PurchaseOrderError(f"{po.reference} has already been received in full.")

    lines = {line.pk: line for line in po.lines.select_for_update(no_key=True).order_by("pk")}
    if quantities is None:
        wanted = {
            pk: line.quantity_outstanding for pk, line in lines.items() if line.quantity_outstanding > 0
        }
    else:
        wanted = {}
        for line_id, qty in quantities.items():
            line = lines.get(line_id)
            if line is None:
                raise PurchaseOrderError(f"Line {line_id} is not part of {po.reference}.")
            if not isinstance(qty, int) or qty <= 0:
                raise PurchaseOrderError(
                    f"{line.variant.sku}: a received quantity must be a positive whole number."
                )
            if qty > line.quantity_outstanding:
                raise PurchaseOrderError(
                    f"{line.variant.sku}: {qty} received but only {line.quantity_outstanding} outstanding. "
                    "Over-receipt is not allowed; record extra units as a stock adjustment."
                )
            wanted[line_id] = qty
    if not wanted:
        raise PurchaseOrderError(f"Nothing to receive on {po.reference}.")

    item_ids = _stock_items_ensure((lines[pk].variant_id, po.warehouse_id) for pk in wanted)
    items = {
        item.pk: item
        for item in StockItem.objects.select_for_update(no_key=True)
        .filter(pk__in=item_ids.values())
        .order_by("pk")
    }
    movements = []
    for line_id, qty in sorted(wanted.items()):
        line = lines[line_id]
        item = items[item_ids[(line.variant_id, po.warehouse_id)]]
        item.on_hand += qty
        line.quantity_received += qty
        movements.append(
            StockMovement(
                stock_item_id=item.pk,
                variant_id=line.variant_id,
                warehouse_id=po.warehouse_id,
                on_hand_delta=qty,
                reason=MovementReason.RECEIVED,
                po_line_id=line.pk,
                user_id=user_id,
                note=f"{po.reference}",
            )
        )
    # The rows are locked, so writing the computed values loses no concurrent change.
    StockItem.objects.bulk_update(items.values(), ["on_hand"], batch_size=500)
    PurchaseOrderLine.objects.bulk_update([lines[pk] for pk in wanted], ["quantity_received"], batch_size=500)
    StockMovement.objects.bulk_create(movements, batch_size=500)

    fully = all(line.quantity_received == line.quantity_ordered for line in lines.values())
    po.status = PurchaseOrderStatus.RECEIVED if fully else PurchaseOrderStatus.PARTIALLY_RECEIVED
    po.save(update_fields=["status", "updated_at"])
    availability_changed(variant_ids=[line.variant_id for line in lines.values()])
    _enqueue_stock_arrived(lines[pk].variant_id for pk in wanted)
    if not fully:  # received short: whoever counted on the missing units may now wait longer
        _enqueue_delay_check(purchase_order_id=po.pk, cause="po_received_short")
    return Receipt(
        purchase_order_id=po.pk, status=po.status, units_received=sum(wanted.values()), movements=movements
    )


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
    expected_date: date | None  # when the backordered units should be in stock
    picks: tuple[tuple[int, int], ...]  # (stock item id, units) in warehouse priority order


@dataclass
class Reservation:
    """Stock set aside, under lock, for the lines of an order that is being placed."""

    lines: dict[int, PlannedLine]  # by variant id
    recorded: bool = False


def _lock_variants(variant_ids: Iterable[int]) -> None:
    """Per-variant mutex: every writer that reads a variant's backorder queue locks it first."""
    list(
        Variant.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(set(variant_ids)))
        .order_by("pk")
        .values("pk")
    )


def _availability_under_lock(seen, *, free_stock: int, waiting: int):
    """`seen` (an Availability read before the variant was locked) with the two numbers that
    checkouts and the auto-allocation pass change, read again under the lock.

    The policy (mode, limit) and the incoming supply come from `seen`: they are not
    serialized by the variant lock, so reading them a moment earlier changes nothing.
    The backorder places left follow from the limit that `seen` implies: none when
    it had none (the policy refuses backorders, or the limit was used up; a place a
    cancellation freed in between is not offered, which never overfills the limit).
    """
    from dataclasses import replace

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
    from django.db.models import Sum

    from orders.models import OrderLine

    from .selectors import availability_for_variants

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("allocation_reserve must run inside transaction.atomic()")
    variant_ids = sorted({d.variant_id for d in demands})
    if seen is None:
        seen = availability_for_variants(variant_ids=variant_ids)
    _lock_variants(variant_ids)
    availability_changed(variant_ids=variant_ids)  # the order's lines change stock and the queue
    items = list(
        StockItem.objects.select_for_update(of=("self",), no_key=True)
        .filter(variant_id__in=variant_ids, warehouse__is_active=True)
        .order_by("pk")
        .values_list("pk", "variant_id", "on_hand", "allocated", "warehouse__priority")
    )
    waiting = dict(
        OrderLine.objects.filter(variant_id__in=variant_ids, quantity_backordered__gt=0)
        .values("variant_id")
        .annotate(total=Sum("quantity_backordered"))
        .values_list("variant_id", "total")
        .order_by()
    )
    planned = {}
    for demand in demands:
        if demand.variant_id not in seen:
            raise StockError("That item no longer exists.")
        candidates = sorted((i for i in items if i[1] == demand.variant_id), key=lambda i: (i[4], i[0]))
        a = _availability_under_lock(
            seen[demand.variant_id],
            free_stock=sum(on_hand - allocated for _pk, _v, on_hand, allocated, _p in candidates),
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
        for pk, _variant, on_hand, allocated, _priority in candidates:
            if remaining == 0:
                break
            take = min(remaining, on_hand - allocated)
            if take > 0:
                picks.append((pk, take))
                remaining -= take
        if remaining:  # cannot happen: `now` is at most the free units of these very rows
            raise StockError("Stock changed while the order was being placed; please try again.")
        planned[demand.variant_id] = PlannedLine(
            variant_id=demand.variant_id,
            quantity=demand.quantity,
            allocate=now,
            backorder=later,
            expected_date=a.backorder_date(later),
            picks=tuple(picks),
        )
    return Reservation(lines=planned)


def allocation_record(
    *, reservation: Reservation, line_ids: Mapping[int, int], user_id: int | None = None
) -> None:
    """Write a reservation's allocations for the order lines just created ({variant id: line id}).

    Same transaction as `allocation_reserve` (its locks are still held): raises
    allocated on the stock items, writes Allocation rows and one ledger movement
    per stock item and line.
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
    items = {
        item.pk: item
        for item in StockItem.objects.select_for_update(no_key=True)
        .filter(pk__in=[p[0] for p in picks])
        .order_by("pk")
    }
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
    StockItem.objects.bulk_update(items.values(), ["allocated"], batch_size=500)
    Allocation.objects.bulk_create(allocations, batch_size=500)
    StockMovement.objects.bulk_create(movements, batch_size=500)
    reservation.recorded = True
    _enqueue_stock_fell(variant_id for _, _, variant_id in picks)


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
    allocations = list(
        Allocation.objects.filter(order_line_id__in=wanted, quantity__gt=0)
        .select_related("stock_item__warehouse")
        .order_by("order_line_id", "stock_item__warehouse__priority", "stock_item_id")
    )
    item_ids = sorted({a.stock_item_id for a in allocations})
    items = {
        item.pk: item
        for item in StockItem.objects.select_for_update(no_key=True).filter(pk__in=item_ids).order_by("pk")
    }
    locked = {
        a.pk: a
        for a in Allocation.objects.select_for_update(no_key=True)
        .filter(pk__in=[a.pk for a in allocations])
        .order_by("pk")
    }
    movements = []
    changed = []
    for allocation in allocations:
        current = locked[allocation.pk]
        need = wanted.get(allocation.order_line_id, 0)
        take = min(need, current.quantity)
        if take <= 0:
            continue
        wanted[allocation.order_line_id] = need - take
        current.quantity -= take
        changed.append(current)
        item = items[current.stock_item_id]
        item.on_hand -= take
        item.allocated -= take
        movements.append(
            StockMovement(
                stock_item_id=item.pk,
                variant_id=item.variant_id,
                warehouse_id=item.warehouse_id,
                on_hand_delta=-take,
                allocated_delta=-take,
                reason=MovementReason.SHIPPED,
                order_line_id=allocation.order_line_id,
                user_id=user_id,
            )
        )
    short = {line_id: qty for line_id, qty in wanted.items() if qty}
    if short:
        raise StockError(f"Not enough allocated stock to ship lines {sorted(short)}.")
    StockItem.objects.bulk_update(items.values(), ["on_hand", "allocated"], batch_size=500)
    Allocation.objects.bulk_update(changed, ["quantity"], batch_size=500)
    StockMovement.objects.bulk_create(movements, batch_size=500)


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


@dataclass(frozen=True, slots=True)
class LineProjection:
    """One waiting line as the queue projection sees it."""

    line_id: int
    variant_id: int
    units_ahead: int  # waiting units of the lines served before it
    waiting: int
    old_date: date | None  # as stored before this refresh
    new_date: date  # projected now (and stored)


@dataclass(frozen=True)
class DatesRefresh:
    """What `backorder_dates_refresh` saw: every waiting line's projection and the numbers behind it."""

    today: date
    availability: dict  # variant id -> inventory.selectors.Availability
    lines: list[LineProjection]  # every waiting line of the variants, in queue order
    changed: int  # lines whose stored date was rewritten

    def project_as_of(self, line: LineProjection, *, today: date) -> date:
        """The same projection for the same queue and supply, as if it were `today`.

        Projections that rest on "today + N days" (lead time, an overdue purchase
        order's grace period) move a day later every day; asking as of the day a
        date was promised tells a real change (a purchase order, the queue) from
        the calendar simply moving on.
        """
        a = self.availability[line.variant_id]
        return project_ready_date(
            units_ahead=line.units_ahead,
            quantity=line.waiting,
            free_now=a.free_stock,
            incoming=a.incoming,
            today=today,
            lead_time_days=a.lead_time_days,
            overdue_grace_days=a.overdue_grace_days,
        )

    def covered_by_supply(self, line: LineProjection) -> bool:
        """True when free stock and dated open purchase orders cover the line; False: lead-time estimate."""
        a = self.availability[line.variant_id]
        supply = a.free_stock + sum(
            qty
            for _, qty in ordered_incoming(
                a.incoming, today=self.today, overdue_grace_days=a.overdue_grace_days
            )
        )
        return supply >= line.units_ahead + line.waiting


def backorder_dates_refresh(*, variant_ids: Iterable[int], today: date | None = None) -> int:
    """Recompute the projected date of every waiting line from the queue; returns how many changed.

    Uses the same projection as the availability selector, so a customer's
    order page and the product page agree. Three queries plus one write,
    whatever the number of variants and lines.
    """
    return backorder_dates_reproject(variant_ids=variant_ids, today=today).changed


def backorder_dates_reproject(*, variant_ids: Iterable[int], today: date | None = None) -> DatesRefresh:
    """`backorder_dates_refresh`, returning every waiting line's projection and the numbers behind it.

    The delay checks (orders.delays) compare each projection with the date the
    customer was told, so they never run a projection of their own.
    """
    from django.db import connection

    from orders.models import OrderLine

    from .selectors import availability_for_variants

    today = today or timezone.localdate()
    availability = availability_for_variants(variant_ids=variant_ids, today=today)
    lines = (
        OrderLine.objects.filter(variant_id__in=list(availability), quantity_backordered__gt=0)
        .order_by("variant_id", *_queue_order())
        .values_list("pk", "variant_id", "quantity_backordered", "expected_date")
    )
    projections: list[LineProjection] = []
    changed: list[tuple[int, date]] = []
    ahead: dict[int, int] = {}
    for pk, variant_id, waiting, old in lines.iterator(chunk_size=5000):
        a = availability[variant_id]
        units_ahead = ahead.get(variant_id, 0)
        new = project_ready_date(
            units_ahead=units_ahead,
            quantity=waiting,
            free_now=a.free_stock,
            incoming=a.incoming,
            today=today,
            lead_time_days=a.lead_time_days,
            overdue_grace_days=a.overdue_grace_days,
        )
        ahead[variant_id] = units_ahead + waiting
        projections.append(LineProjection(pk, variant_id, units_ahead, waiting, old, new))
        if new != old:
            changed.append((pk, new))
    result = DatesRefresh(today=today, availability=availability, lines=projections, changed=len(changed))
    if not changed:
        return result
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {OrderLine._meta.db_table} l SET expected_date = v.d "
                "FROM unnest(%s::bigint[], %s::date[]) AS v(id, d) WHERE l.id = v.id",
                [[pk for pk, _ in changed], [d for _, d in changed]],
            )
    else:
        OrderLine.objects.bulk_update(
            [OrderLine(pk=pk, expected_date=d) for pk, d in changed], ["expected_date"], batch_size=1000
        )
    return result


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
        items = {
            i.pk: i
            for i in StockItem.objects.select_for_update(no_key=True)
            .filter(pk__in=ids.values())
            .order_by("pk")
        }
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
    availability_changed(variant_ids=[v for v, _, _ in rows])
    _enqueue_stock_arrived(v for v, _, _ in rows)
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
        for pk, on_hand, allocated in StockItem.objects.select_for_update()
        .filter(pk__in=ids.values())
        .order_by("pk")
        .values_list("pk", "on_hand", "allocated")
    }
    changes, movements, updates, grew, fell = [], [], [], set(), set()
    for index, (variant_id, warehouse_id, counted) in enumerate(counts):
        item_id = ids[(variant_id, warehouse_id)]
        on_hand, allocated = items[item_id]
        if counted < allocated:
            raise CountBelowAllocated(
                f"{allocated} units are promised to orders, so the count cannot be {counted}.", index=index
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
    availability_changed(variant_ids=grew | fell)
    _enqueue_stock_arrived(grew)
    _enqueue_stock_fell(fell)
    return changes


def _stock_items_set_on_hand(rows: list[tuple[int, int]]) -> None:
    """UPDATE ... FROM (VALUES ...): one statement per 500 locked rows of (stock item id, on hand).

    bulk_update() builds a CASE WHEN per row, which costs more in Python than
    the whole import for 50,000 rows; PostgreSQL and SQLite (3.33+) both take
    this form. The rows must already be locked by the caller.
    """
    from django.db import connection

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
    from django.db import connection

    table = StockMovement._meta.db_table
    created_at = connection.ops.adapt_datetimefield_value(timezone.now())
    columns = "stock_item_id, variant_id, warehouse_id, on_hand_delta, allocated_delta, reason, user_id, note, created_at"
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        values = ", ".join(["(%s, %s, %s, %s, 0, %s, %s, %s, %s)"] * len(chunk))
        params = [x for row in chunk for x in (*row, MovementReason.COUNTED.value, user_id, note, created_at)]
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values}", params)
