"""Purchase orders: create, mark ordered, cancel, move the expected date, receive.

Owns every change of a purchase order's status, expected date and received quantities, and the
stock a receipt adds (with its ledger rows).

Transactions and locks: each service is one transaction (`@transaction.atomic`). A change locks the
purchase order first (`inventory.locks.purchase_order_lock`); a receipt then locks its lines
(`purchase_order_lines_lock`) and the stock items it fills (`stock_items_lock`), in that order
(docs/concurrency.md). They announce (inventory.events, acted on after commit) `availability_changed`
for the order's variants; `supply_changed` when the waiting lines' dates may move (ordered, moved,
received short, cancelled); a receipt also `stock_grew` (its AllocationRequest rows written in the
transaction by `allocation_request_add`).
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from shop.submissions import submission_claim

from ..events import (
    availability_changed,
    purchase_order_date_moved,
    purchase_order_received,
    stock_changed,
    supply_changed,
)
from ..locks import purchase_order_lines_lock, purchase_order_lock, stock_items_lock
from ..models import (
    DateChangeSource,
    MovementReason,
    PurchaseOrder,
    PurchaseOrderDateChange,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockItem,
    StockMovement,
)
from .errors import PurchaseOrderError
from .ledger import _stock_items_ensure
from .requests import allocation_request_add
from .supplier_mail import supplier_po_email_queue

logger = logging.getLogger(__name__)


# --- purchase orders ---------------------------------------------------------------------


def _supply_changed_send(*, purchase_order_id: int, cause: str) -> None:
    """Announce `supply_changed`: after commit, the waiting lines this purchase order supplies get
    their dates re-projected (orders' delay check).

    Every waiting line gets its new expected date, earlier or later, and a line
    whose date moved later is recorded as delayed (`cause`; "" when the change
    can only bring dates forward, such as a new order placed with a supplier).
    Only ids travel (`supply_changed`; the delay check re-reads everything).
    The daily delay scan does the same should this message be lost.
    """
    ids = sorted(
        set(
            PurchaseOrderLine.objects.filter(purchase_order_id=purchase_order_id).values_list(
                "variant_id", flat=True
            )
        )
    )
    if ids:
        supply_changed.send(purchase_order_id=purchase_order_id, variant_ids=ids, cause=cause)


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
    user_id: int | None = None,
    submission_key: str | None = None,
) -> PurchaseOrder:
    """Create a purchase order with lines {variant_id: quantity}, all or nothing.

    Created as ordered (`status`), it is supply from now on: `user_id` is recorded as who
    ordered it, and the waiting lines of its variants get their new expected dates.
    With `submission_key` a second submission of the same form raises AlreadySubmitted and
    creates nothing (the dashboard's "Draft a purchase order for the shortfall").
    """
    if submission_key is not None:
        submission_claim(key=submission_key, action="purchase_order_create", user_id=user_id)
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
                promised_date_at_order=expected_date if ordered else None,
            )
    except IntegrityError as exc:
        raise PurchaseOrderError(f"A purchase order with reference {reference} already exists.") from exc
    PurchaseOrderLine.objects.bulk_create(
        [
            PurchaseOrderLine(purchase_order=po, variant_id=v, quantity_ordered=q)
            for v, q in sorted(lines.items())
        ]
    )
    availability_changed.send(variant_ids=sorted(lines))
    if ordered:
        _supply_changed_send(purchase_order_id=po.pk, cause="")
    return po


@transaction.atomic
def purchase_order_mark_ordered(
    *, purchase_order_id: int, user_id: int | None = None, submission_key: str | None = None
) -> PurchaseOrder:
    """Send a draft to the supplier. With `submission_key` a second submission raises AlreadySubmitted."""
    if submission_key is not None:
        submission_claim(key=submission_key, action="purchase_order_mark_ordered", user_id=user_id)
    po = purchase_order_lock(purchase_order_id)
    if po.status != PurchaseOrderStatus.DRAFT:
        raise PurchaseOrderError(f"{po.reference} is {po.get_status_display().lower()}, not a draft.")
    if not po.lines.exists():
        raise PurchaseOrderError(f"{po.reference} has no lines.")
    po.status = PurchaseOrderStatus.ORDERED
    po.ordered_at, po.ordered_by_id = timezone.now(), user_id
    po.promised_date_at_order = po.expected_date  # what supplier habits measure against
    po.save(update_fields=["status", "ordered_at", "ordered_by", "promised_date_at_order", "updated_at"])
    availability_changed.send(variant_ids=list(po.lines.values_list("variant_id", flat=True)))
    _supply_changed_send(purchase_order_id=po.pk, cause="")  # more supply: waiting lines' dates come forward
    supplier_po_email_queue(po=po)  # the order to the supplier, in this transaction (if it has an email)
    return po


@transaction.atomic
def purchase_order_cancel(
    *, purchase_order_id: int, user_id: int | None = None, submission_key: str | None = None
) -> PurchaseOrder:
    """Cancel what has not arrived yet. Units already received stay in stock.

    With `submission_key` a second submission raises AlreadySubmitted and changes nothing.
    """
    if submission_key is not None:
        submission_claim(key=submission_key, action="purchase_order_cancel", user_id=user_id)
    po = purchase_order_lock(purchase_order_id)
    if po.status in (PurchaseOrderStatus.RECEIVED, PurchaseOrderStatus.CANCELLED):
        raise PurchaseOrderError(f"{po.reference} is already {po.get_status_display().lower()}.")
    # Closing a partly received order means the supplier delivered short.
    short = po.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    po.status = PurchaseOrderStatus.CANCELLED
    po.cancelled_at, po.cancelled_by_id = timezone.now(), user_id
    po.save(update_fields=["status", "cancelled_at", "cancelled_by", "updated_at"])
    availability_changed.send(variant_ids=list(po.lines.values_list("variant_id", flat=True)))
    _supply_changed_send(purchase_order_id=po.pk, cause="po_received_short" if short else "po_cancelled")
    return po


@transaction.atomic
def purchase_order_set_expected_date(
    *,
    purchase_order_id: int,
    expected_date: date | None,
    user_id: int | None = None,
    reason: str = "",
    source: str = DateChangeSource.STAFF,
    submission_key: str | None = None,
) -> PurchaseOrderDateChange | None:
    """Change the expected date and keep the old one in the history. None when unchanged.

    `source`: who moved it, staff (the admin, `user_id`) or the supplier (their emailed link).
    With `submission_key` a second submission raises AlreadySubmitted and changes nothing.
    """
    if submission_key is not None:
        submission_claim(key=submission_key, action="purchase_order_set_expected_date", user_id=user_id)
    po = purchase_order_lock(purchase_order_id)
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
        source=source,
        reason=reason[:255],
    )
    po.expected_date = expected_date
    fields = ["expected_date", "updated_at"]
    if po.status != PurchaseOrderStatus.DRAFT and po.promised_date_at_order is None:
        po.promised_date_at_order = expected_date  # ordered without a date: the first one given counts
        fields.append("promised_date_at_order")
    po.save(update_fields=fields)
    purchase_order_date_moved.send(purchase_order_id=po.pk, date_change_id=change.pk)
    availability_changed.send(variant_ids=list(po.lines.values_list("variant_id", flat=True)))
    if po.status != PurchaseOrderStatus.DRAFT:  # a draft promises nothing, so it delays nothing
        _supply_changed_send(purchase_order_id=po.pk, cause="po_date_changed")
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
    po = purchase_order_lock(purchase_order_id)
    if po.status == PurchaseOrderStatus.DRAFT:
        raise PurchaseOrderError(f"{po.reference} is still a draft: mark it as ordered before receiving it.")
    if po.status == PurchaseOrderStatus.CANCELLED:
        raise PurchaseOrderError(f"{po.reference} is cancelled: nothing can be received on it.")
    if po.status == PurchaseOrderStatus.RECEIVED:
        raise PurchaseOrderError(f"{po.reference} has already been received in full.")

    lines = {line.pk: line for line in purchase_order_lines_lock(po)}
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
    items = {item.pk: item for item in stock_items_lock(item_ids.values())}
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
    availability_changed.send(variant_ids=sorted({line.variant_id for line in lines.values()}))
    stock_changed.send(variant_ids=sorted({lines[pk].variant_id for pk in wanted}))
    purchase_order_received.send(purchase_order_id=po.pk, movement_ids=[m.pk for m in movements])
    allocation_request_add(variant_ids=[lines[pk].variant_id for pk in wanted])
    if not fully:  # received short: whoever counted on the missing units may now wait longer
        _supply_changed_send(purchase_order_id=po.pk, cause="po_received_short")
    return Receipt(
        purchase_order_id=po.pk, status=po.status, units_received=sum(wanted.values()), movements=movements
    )
