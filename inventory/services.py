"""The only code that changes stock levels.

Every function here writes a StockMovement row in the same transaction as the
stock change, so the ledger always explains the levels (`stock_reconcile`
checks it). Two ways of writing are used, both safe under concurrency:

* a conditional UPDATE (`... SET on_hand = on_hand + n WHERE on_hand + n >=
  allocated`) whose row count tells whether the change was allowed, or
* `select_for_update()` over the affected rows, always locked in primary-key
  order so that two transactions locking several rows cannot deadlock.

Lock order across the whole project (docs/concurrency.md): variants (by pk) →
purchase order → purchase-order lines → stock items (by pk) → order lines (by pk).
"""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import F

from shop.models import Variant

from .models import (
    Allocation,
    MovementReason,
    PurchaseOrder,
    PurchaseOrderDateChange,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockItem,
    StockMovement,
    Warehouse,
)

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
    """After commit, tell the "stock arrived" task which variants gained sellable stock."""
    from .tasks import stock_arrived

    ids = sorted(set(variant_ids))
    if ids:
        stock_arrived.delay_on_commit(variant_ids=ids)


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
) -> StockMovement:
    """Add or remove units on hand (damage, found stock, a return...).

    Removing is refused when it would take units that are promised to orders
    (on_hand may not drop below allocated). Growth triggers "stock arrived".
    """
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
    if quantity_change > 0:
        _enqueue_stock_arrived([variant_id])
    return movement


@transaction.atomic
def stock_count(
    *, variant_id: int, warehouse_id: int, counted: int, user_id: int | None = None, note: str = ""
) -> StockMovement | None:
    """Set on-hand to a physical count. Returns the movement, or None when nothing changed."""
    if not isinstance(counted, int) or counted < 0:
        raise StockError("A stock count must be zero or more.")
    _check_variant_and_warehouse(variant_id=variant_id, warehouse_id=warehouse_id)
    item_id = _stock_items_ensure([(variant_id, warehouse_id)])[(variant_id, warehouse_id)]
    item = StockItem.objects.select_for_update().select_related("variant", "warehouse").get(pk=item_id)
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
    if delta > 0:
        _enqueue_stock_arrived([variant_id])
    return movement


# --- purchase orders ---------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    purchase_order_id: int
    status: str
    units_received: int
    movements: list[StockMovement]


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
) -> PurchaseOrder:
    """Create a purchase order with lines {variant_id: quantity}."""
    if status not in (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.ORDERED):
        raise PurchaseOrderError("A new purchase order is either a draft or ordered.")
    if not lines or any(q <= 0 for q in lines.values()):
        raise PurchaseOrderError("A purchase order needs at least one line, each with a positive quantity.")
    try:
        with transaction.atomic():
            po = PurchaseOrder.objects.create(
                supplier_id=supplier_id,
                warehouse_id=warehouse_id,
                reference=reference,
                expected_date=expected_date,
                status=status,
                notes=notes,
            )
    except IntegrityError as exc:
        raise PurchaseOrderError(f"A purchase order with reference {reference} already exists.") from exc
    PurchaseOrderLine.objects.bulk_create(
        [
            PurchaseOrderLine(purchase_order=po, variant_id=v, quantity_ordered=q)
            for v, q in sorted(lines.items())
        ]
    )
    return po


@transaction.atomic
def purchase_order_mark_ordered(*, purchase_order_id: int, user_id: int | None = None) -> PurchaseOrder:
    po = PurchaseOrder.objects.select_for_update().get(pk=purchase_order_id)
    if po.status != PurchaseOrderStatus.DRAFT:
        raise PurchaseOrderError(f"{po.reference} is {po.get_status_display().lower()}, not a draft.")
    if not po.lines.exists():
        raise PurchaseOrderError(f"{po.reference} has no lines.")
    po.status = PurchaseOrderStatus.ORDERED
    po.save(update_fields=["status", "updated_at"])
    return po


@transaction.atomic
def purchase_order_cancel(*, purchase_order_id: int, user_id: int | None = None) -> PurchaseOrder:
    """Cancel what has not arrived yet. Units already received stay in stock."""
    po = PurchaseOrder.objects.select_for_update().get(pk=purchase_order_id)
    if po.status in (PurchaseOrderStatus.RECEIVED, PurchaseOrderStatus.CANCELLED):
        raise PurchaseOrderError(f"{po.reference} is already {po.get_status_display().lower()}.")
    po.status = PurchaseOrderStatus.CANCELLED
    po.save(update_fields=["status", "updated_at"])
    return po


@transaction.atomic
def purchase_order_set_expected_date(
    *, purchase_order_id: int, expected_date: date | None, user_id: int | None = None, reason: str = ""
) -> PurchaseOrderDateChange | None:
    """Change the expected date and keep the old one in the history. None when unchanged."""
    po = PurchaseOrder.objects.select_for_update().get(pk=purchase_order_id)
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
    return change


@transaction.atomic
def purchase_order_receive(
    *, purchase_order_id: int, quantities: Mapping[int, int] | None = None, user_id: int | None = None
) -> Receipt:
    """Receive a purchase order: everything outstanding, or {line_id: quantity} in part.

    Refused, writing nothing, when the order is a draft, cancelled or already
    received, when a quantity is zero or negative, names a line of another order,
    or exceeds what is outstanding on the line (over-receipt is not allowed:
    record extra units as a stock adjustment). On success on_hand grows, one
    movement per line is written, and "stock arrived" runs after commit.
    """
    po = PurchaseOrder.objects.select_for_update().get(pk=purchase_order_id)
    if po.status == PurchaseOrderStatus.DRAFT:
        raise PurchaseOrderError(f"{po.reference} is still a draft: mark it as ordered before receiving it.")
    if po.status == PurchaseOrderStatus.CANCELLED:
        raise PurchaseOrderError(f"{po.reference} is cancelled: nothing can be received on it.")
    if po.status == PurchaseOrderStatus.RECEIVED:
        raise PurchaseOrderError(f"{po.reference} has already been received in full.")

    lines = {line.pk: line for line in po.lines.select_for_update().order_by("pk")}
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
        for item in StockItem.objects.select_for_update().filter(pk__in=item_ids.values()).order_by("pk")
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
    _enqueue_stock_arrived(lines[pk].variant_id for pk in wanted)
    return Receipt(
        purchase_order_id=po.pk, status=po.status, units_received=sum(wanted.values()), movements=movements
    )


# --- "stock arrived" -------------------------------------------------------------------------


def stock_arrived_process(*, variant_ids: Iterable[int]) -> dict[int, int]:
    """Work to do when sellable stock of these variants grew.

    Auto-allocation to waiting backorders and back-in-stock waves plug in here
    (their issues). Today it only reads and logs which variants now have free
    stock while backorders wait, and returns {variant_id: free units beyond the
    queue}. It writes nothing, so running it any number of times is harmless.
    """
    from .selectors import availability_for_variants

    result = {}
    for variant_id, availability in availability_for_variants(variant_ids=variant_ids).items():
        result[variant_id] = availability.sellable_now
        if availability.waiting_backorders and availability.free_stock:
            logger.info(
                "variant %s: %s free units while %s wait on backorder",
                variant_id,
                availability.free_stock,
                availability.waiting_backorders,
            )
    return result


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
        Variant.objects.select_for_update()
        .filter(pk__in=sorted(set(variant_ids)))
        .order_by("pk")
        .values("pk")
    )


def allocation_reserve(*, demands: list[Demand], allow_backorder: bool = True) -> Reservation:
    """Decide, under lock, how many units of each demand come from stock and how many wait.

    Must run inside the transaction that then creates the order lines and calls
    `allocation_record`. Locks the variants, then their stock items, in pk
    order; reads availability under those locks, so concurrent checkouts of the
    same variant are serialized and can neither oversell nor overfill the
    backorder limit. Raises BackorderRefused when the policy or the limit does
    not allow a demand (or any backorder when `allow_backorder` is False).
    """
    from .selectors import availability_for_variants

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("allocation_reserve must run inside transaction.atomic()")
    variant_ids = sorted({d.variant_id for d in demands})
    _lock_variants(variant_ids)
    items = list(
        StockItem.objects.select_for_update(of=("self",))
        .filter(variant_id__in=variant_ids, warehouse__is_active=True)
        .order_by("pk")
        .values_list("pk", "variant_id", "on_hand", "allocated", "warehouse__priority")
    )
    availability = availability_for_variants(variant_ids=variant_ids)
    planned = {}
    for demand in demands:
        a = availability.get(demand.variant_id)
        if a is None:
            raise StockError("That item no longer exists.")
        try:
            now, later = a.split(demand.quantity)
        except ValueError:
            raise BackorderRefused(
                f"Only {a.max_orderable} can be ordered.",
                variant_id=demand.variant_id,
                max_orderable=a.max_orderable or 0,
            ) from None
        if later and not allow_backorder:
            raise BackorderRefused(
                f"Only {now} can ship now.", variant_id=demand.variant_id, max_orderable=now
            )
        picks = []
        remaining = now
        candidates = sorted((i for i in items if i[1] == demand.variant_id), key=lambda i: (i[4], i[0]))
        for pk, _variant, on_hand, allocated, _priority in candidates:
            if remaining == 0:
                break
            take = min(remaining, on_hand - allocated)
            if take > 0:
                picks.append((pk, take))
                remaining -= take
        if remaining:  # availability said the units were free; the locked rows disagree
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
        for item in StockItem.objects.select_for_update().filter(pk__in=[p[0] for p in picks]).order_by("pk")
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
        item.pk: item for item in StockItem.objects.select_for_update().filter(pk__in=item_ids).order_by("pk")
    }
    locked = {
        a.pk: a
        for a in Allocation.objects.select_for_update()
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
