"""Cancelling waiting units: their reservation released, their money voided or refunded."""

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from inventory.events import availability_changed
from notifications.models import NotificationKind
from notifications.services.outbox import notification_create
from shop.submissions import submission_claim

from ..event_words import event_words_build, event_words_items, released_words
from ..events import order_units_cancelled
from ..lifecycle import Move, line_apply, order_status
from ..locks import order_lines_of_order_lock, payment_lock
from ..models import (
    Order,
    OrderEvent,
    OrderEventKind,
    OrderLine,
)
from ..wording import MoneyReleased, money_released_text, stored_words
from .cards import CARD, card_settle
from .charges import _payment_void
from .errors import OrderActionError

logger = logging.getLogger(__name__)


# --- cancelling waiting units -------------------------------------------------------------


@dataclass(frozen=True)
class CancelOutcome:
    """What a cancellation did: units per line, and what became of their price."""

    quantities: dict[int, int]  # line id -> units cancelled
    released: MoneyReleased


@transaction.atomic(durable=True)
def order_cancel_backordered(
    *,
    order_id: int,
    quantities: dict[int, int] | None = None,
    user_id: int | None = None,
    by_staff: bool = False,
    submission_key: str | None = None,
) -> Decimal:
    """Cancel units that still wait for stock: {line id: units}, or all of them when None.

    Allocated and shipped units are never touched. Voids (or refunds) exactly the
    price of the cancelled units and emails a confirmation. Returns the amount.
    With `submission_key` a second submission of the same staff form raises
    AlreadySubmitted and cancels nothing.
    """
    if submission_key is not None:
        submission_claim(key=submission_key, action="order_cancel_backordered", user_id=user_id)
    outcome = _order_cancel_backordered(
        order_id=order_id, quantities=quantities, user_id=user_id, by_staff=by_staff
    )
    return outcome.released.total


@transaction.atomic(durable=True)
def order_cancel_by_customer(
    *, order_id: int, quantities: dict[int, int], user_id: int | None
) -> CancelOutcome:
    """The customer cancels waiting units from their order page: `order_cancel_backordered`, returning
    what became of the money (voided, refunded) so that the page can say it as it happened."""
    return _order_cancel_backordered(
        order_id=order_id, quantities=quantities, user_id=user_id, by_staff=False
    )


@transaction.atomic
def _order_cancel_backordered(
    *,
    order_id: int,
    quantities: dict[int, int] | None,
    user_id: int | None,
    by_staff: bool,
    email_context: dict | None = None,
) -> CancelOutcome:
    """`order_cancel_backordered` inside a caller's transaction (the delay email's cancel link
    records the use of its link in the same transaction). Locks the order's lines, then the payment.
    `email_context`: more for the "items cancelled" email (why: a missed need-by date)."""
    order = Order.objects.select_related("payment").get(pk=order_id)
    locked = {line.pk: line for line in order_lines_of_order_lock(order.pk)}
    if quantities is None:
        quantities = {
            pk: line.quantity_backordered for pk, line in locked.items() if line.quantity_backordered
        }
    if not quantities or not any(quantities.values()):
        raise OrderActionError(_("Nothing is waiting to be cancelled."))
    amount = Decimal("0")
    cancelled = []
    for line_id, qty in sorted(quantities.items()):
        line = locked.get(line_id)
        if line is None:
            raise OrderActionError(_("That item is not part of this order."))
        if not isinstance(qty, int) or qty < 0:
            raise OrderActionError(_("Enter a whole number of units to cancel."))
        if qty == 0:
            continue
        if qty > line.quantity_backordered:
            waiting = line.quantity_backordered
            raise OrderActionError(
                ngettext(
                    "Only %(count)s of %(item)s is still waiting and can be cancelled.",
                    "Only %(count)s of %(item)s are still waiting and can be cancelled.",
                    waiting,
                )
                % {"count": waiting, "item": line.product_name}
            )
        # Cancelled units are the last units of the line (those sold at the backorder price).
        end = line.quantity - line.quantity_cancelled
        amount += line.price_of_units(end - qty, qty)
        line_apply(line, Move(cancel=qty))
        cancelled.append((line, qty))
    if not cancelled:
        raise OrderActionError(_("Nothing is waiting to be cancelled."))
    OrderLine.objects.bulk_update(
        [line for line, _ in cancelled],
        ["quantity_backordered", "quantity_cancelled", "status"],
        batch_size=500,
    )
    # Fewer units wait: the backorder limit has room again, so listing badges are recomputed
    # (after commit; the page cache listens, shop.apps).
    availability_changed.send(variant_ids=[line.variant_id for line, _ in cancelled])
    lines = list(locked.values())
    order.status = order_status(lines, ship_policy=order.ship_policy)
    if all(line.quantity_shipped == 0 for line in lines) and order.status == "cancelled":
        amount += order.shipping_cost  # nothing will ever ship: the shipping charge goes back too
    order.save(update_fields=["status"])
    released = _money_release(
        order=order, amount=amount, user_id=user_id, cancelled={line.pk: qty for line, qty in cancelled}
    )
    who = "by staff" if by_staff else "at the customer's request"
    cancelled_event = OrderEvent.objects.create(
        order=order,
        kind=OrderEventKind.CANCELLED,
        message=(f"Cancelled {who}: " + ", ".join(f"{qty} × {line.product_name}" for line, qty in cancelled))[
            :500
        ],
        data={
            "lines": {str(line.pk): qty for line, qty in cancelled},
            "words": event_words_build(
                key="cancelled", items=event_words_items((qty, line.product_name) for line, qty in cancelled)
            ),
        },
        user_id=user_id,
    )
    OrderEvent.objects.create(
        order=order,
        kind=OrderEventKind.REFUNDED,
        message=_stored_money_released(released),
        data={**released.as_data(), "words": released_words(released)},
        user_id=user_id,
    )
    order_units_cancelled.send(order_id=order.pk, order_event_id=cancelled_event.pk)
    event_count = order.events.filter(kind=OrderEventKind.CANCELLED).count()
    notification_create(
        kind=NotificationKind.ORDER_CANCELLED,
        recipient=order.email,
        dedupe_key=f"order-cancelled:{order.pk}:{event_count}",
        language=order.language,
        context={
            "order_id": order.pk,
            "lines": {str(line.pk): qty for line, qty in cancelled},
            **released.as_data(),
            **(email_context or {}),
        },
    )
    return CancelOutcome(quantities={line.pk: qty for line, qty in cancelled}, released=released)


def _money_release(
    *, order: Order, amount: Decimal, user_id: int | None, cancelled: dict[int, int] | None = None
) -> MoneyReleased:
    """Release `amount` of the order's payment (`_payment_void`: voided from what is reserved, the
    rest refunded from what was charged) and say how, from the payment's numbers before and after.
    The payment is locked first (after the lines: the lock order), so nothing else moves them."""
    payment = payment_lock(order.payment.pk)
    if payment.gateway == CARD:
        lines = list(order.lines.all())  # locked by the caller (order_lines_of_order_lock)
        result = card_settle(order=order, payment=payment, lines=lines, user_id=user_id, cancelled=cancelled)
        return MoneyReleased(
            gateway=payment.gateway,
            currency=order.currency,
            voided=result.released,
            refunded=result.refunded,
            unreleased=result.unreleased,
        )
    voided, refunded = payment.amount_voided, payment.amount_refunded
    requested = _payment_void(payment_id=payment.pk, amount=amount, user_id=user_id, cancelled=cancelled)
    payment.refresh_from_db(fields=["amount_voided", "amount_refunded"])
    voided = payment.amount_voided - voided
    refunded = payment.amount_refunded - refunded
    return MoneyReleased(
        gateway=payment.gateway,
        currency=order.currency,
        voided=voided,
        refunded=refunded,
        unreleased=requested - voided - refunded,
    )


def _stored_money_released(released: MoneyReleased) -> str:
    with stored_words():
        return money_released_text(released)[:500]
