"""A supplier's answer to a purchase order, from the link in its email (inventory.views.supplier_po).

Two answers: confirm the date we expect, or propose another with a reason. A new date goes through
`purchase_order_set_expected_date`, the service a staff change goes through, recorded as the
supplier's (`DateChangeSource.SUPPLIER`): the date history keeps it, and its `supply_changed` hook
runs the delay check that emails waiting customers whose date moves later. Either answer records
the date the supplier gave (`confirmed_at`, `confirmed_date`). Each form is applied once
(`shop.submissions`: a second submission of the same page raises AlreadySubmitted).
"""

from collections.abc import Callable
from datetime import date

from django.db import transaction
from django.utils import timezone

from shop.submissions import submission_claim

from ..locks import purchase_order_lock
from ..models import DateChangeSource, PurchaseOrder, PurchaseOrderDateChange
from .errors import PurchaseOrderError
from .purchasing import purchase_order_set_expected_date

REASON_MAX_LENGTH = 255


def _answerable(po: PurchaseOrder) -> None:
    if not po.is_open:
        raise PurchaseOrderError(
            f"{po.reference} is {po.get_status_display().lower()}: there is nothing left to confirm on it."
        )


def _record_confirmation(po: PurchaseOrder, day: date) -> None:
    po.confirmed_at, po.confirmed_date = timezone.now(), day
    po.save(update_fields=["confirmed_at", "confirmed_date", "updated_at"])


@transaction.atomic
def purchase_order_supplier_confirm(*, purchase_order_id: int, submission_key: str) -> bool:
    """The supplier confirms the date we expect. False when that date was confirmed already.

    Refused (PurchaseOrderError, nothing written) when the order is closed or has no date yet.
    """
    submission_claim(key=submission_key, action="purchase_order_supplier_confirm", user_id=None)
    po = purchase_order_lock(purchase_order_id)
    _answerable(po)
    if po.expected_date is None:
        raise PurchaseOrderError(f"{po.reference} has no expected date yet: please propose one.")
    if po.confirmed_date == po.expected_date:
        return False
    _record_confirmation(po, po.expected_date)
    return True


@transaction.atomic
def purchase_order_supplier_propose(
    *,
    purchase_order_id: int,
    expected_date: date,
    reason: str,
    submission_key: str,
    is_receiving_day: Callable[[date], bool] | None = None,
) -> PurchaseOrderDateChange | None:
    """The supplier proposes another delivery date, with a reason (required).

    The change is `purchase_order_set_expected_date`'s, made as the supplier; the date becomes the
    confirmed one. None when it is the date we expect already (recorded as a confirmation).
    Refused (PurchaseOrderError, nothing written) when the reason is empty, the date has passed,
    `is_receiving_day` says the shop cannot take a delivery that day, or the order is closed.
    """
    submission_claim(key=submission_key, action="purchase_order_supplier_propose", user_id=None)
    reason = " ".join(reason.split())
    if not reason:
        raise PurchaseOrderError("Please tell us why the date changes.")
    if len(reason) > REASON_MAX_LENGTH:
        raise PurchaseOrderError(f"Please keep the reason under {REASON_MAX_LENGTH} characters.")
    if expected_date < timezone.localdate():
        raise PurchaseOrderError("That date has passed: please choose today or a later day.")
    if is_receiving_day is not None and not is_receiving_day(expected_date):
        raise PurchaseOrderError(
            "We cannot take deliveries on that day (a weekend, a holiday or a closure): please choose "
            "another day."
        )
    po = purchase_order_lock(purchase_order_id)
    _answerable(po)
    change = purchase_order_set_expected_date(
        purchase_order_id=po.pk,
        expected_date=expected_date,
        reason=reason,
        source=DateChangeSource.SUPPLIER,
    )
    _record_confirmation(po, expected_date)
    return change
