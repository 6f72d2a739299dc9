"""When a card payment's grace ends unpaid: the units go to the next customer in line.

A charge the bank refused off-session (or asked the customer to confirm) keeps its units set aside
until `grace_ends_at` (PAYMENT_GRACE_DAYS; `card_charges._failed`). The beat task
`card_payments_grace_sweep` (every 15 minutes, orders.tasks) calls `card_grace_sweep`:

* `card_payment_reminders_send`: PAYMENT_REMINDER_HOURS before the grace ends, one reminder per
  charge (`reminded_at`, and the outbox's dedupe key);
* `card_grace_expire`, per charge whose grace is over and still unpaid: in one transaction, under
  the locks in the documented order (the variant, its stock items and the line's allocations, then
  the order's lines, then the payment, then the charge), the charge's units are given back to free
  stock (`inventory.services.reservation.allocation_release`: the allocations, `allocated`, one
  "deallocated" ledger row per stock item) and cancelled on the line (`Move(deallocate, cancel)`);
  the charge is `released`; what the payment still holds beyond the order's need is let go
  (`card_settle`: the delivery's share when nothing is left to ship); the timeline and the
  customer's email say so. The release writes an allocation request (`stock_grew`), so after commit
  the allocation pass serves the next customers in the queue.

Idempotent: the charge is read again under its lock and the whole transaction is undone when
someone paid or released it meanwhile, so a second sweep, or two at once, release once.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inventory.locks import variants_lock
from inventory.services.reservation import allocation_release
from notifications.models import NotificationKind
from notifications.services.outbox import notification_create

from .. import stripe_api
from ..event_words import event_words_build, event_words_items, released_words
from ..lifecycle import Move, line_apply, order_status
from ..locks import card_charge_lock, order_lines_of_order_lock, payment_lock
from ..models import CardCharge, ChargeStatus, Order, OrderEvent, OrderEventKind, OrderLine
from ..selectors.card_payments import DUE, EXPIRED, card_payment_state
from ..stripe_api import StripeDeclined, StripeUnavailable
from ..wording import MoneyReleased, money_released_text, stored_words
from .cards import CARD, card_settle

logger = logging.getLogger(__name__)

UNPAID = (ChargeStatus.FAILED, ChargeStatus.REQUIRES_ACTION)


class _NotAnyMore(Exception):
    """Under the locks the charge turned out paid or released: undo the transaction."""


@dataclass(frozen=True)
class GraceSweep:
    reminded: list[int]
    released: list[int]


def card_grace_sweep() -> GraceSweep:
    """The beat task's work: reminders first, then the releases (charge ids of each)."""
    reminded = card_payment_reminders_send()
    now = timezone.now()
    ids = list(
        CardCharge.objects.filter(status__in=UNPAID, grace_ends_at__lte=now)
        .order_by("grace_ends_at", "pk")
        .values_list("pk", flat=True)
    )
    released = [pk for pk in ids if card_grace_expire(charge_id=pk)]
    return GraceSweep(reminded=reminded, released=released)


def card_payment_reminders_send() -> list[int]:
    """One reminder per unpaid charge whose grace ends within PAYMENT_REMINDER_HOURS; their ids."""
    now = timezone.now()
    soon = now + timedelta(hours=settings.PAYMENT_REMINDER_HOURS)
    ids = CardCharge.objects.filter(
        status__in=UNPAID, reminded_at__isnull=True, grace_ends_at__gt=now, grace_ends_at__lte=soon
    ).values_list("pk", flat=True)
    return [pk for pk in list(ids) if _remind(pk)]


@transaction.atomic
def _remind(charge_id: int) -> bool:
    charge = card_charge_lock(charge_id)  # stands alone: only the charge row changes
    if charge is None or charge.reminded_at is not None or card_payment_state(charge) != DUE:
        return False
    charge.reminded_at = timezone.now()
    charge.save(update_fields=["reminded_at", "updated_at"])
    order_id, email, language = (
        Order.objects.filter(payment__pk=charge.payment_id).values_list("pk", "email", "language").get()
    )
    notification_create(
        kind=NotificationKind.CARD_PAYMENT_REMINDER,
        recipient=email,
        dedupe_key=f"card-payment-reminder:{charge.pk}",
        context={"order_id": order_id, "charge_id": charge.pk},
        language=language,
    )
    return True


def card_grace_expire(*, charge_id: int) -> bool:
    """Release the units of one unpaid charge whose grace is over; False when there is nothing to
    do (paid, released already, grace not over)."""
    try:
        return _expire(charge_id)
    except _NotAnyMore:
        return False


@transaction.atomic
def _expire(charge_id: int) -> bool:
    seen = CardCharge.objects.filter(pk=charge_id).select_related("order_line").first()
    if seen is None or card_payment_state(seen) != EXPIRED:
        return False
    line_id = seen.order_line_id
    units = 0
    if line_id is not None:
        variants_lock([seen.order_line.variant_id])  # 1: the variant, the mutex of its queue
        allocated = OrderLine.objects.filter(pk=line_id).values_list("quantity_allocated", flat=True).get()
        units = min(seen.units, allocated)
        if units:
            allocation_release(quantities={line_id: units})  # 4-5: stock items, allocations
    order = Order.objects.get(payment__pk=seen.payment_id)
    lines = list(order_lines_of_order_lock(order.pk)) if line_id is not None else []  # 7: lines
    payment = payment_lock(seen.payment_id)  # 9: the payment
    charge = card_charge_lock(charge_id)  # 10: its charge
    if charge is None or card_payment_state(charge) != EXPIRED:
        raise _NotAnyMore
    charge.status = ChargeStatus.RELEASED
    charge.amount_released = charge.amount
    charge.save(update_fields=["status", "amount_released", "updated_at"])
    _let_go_at_stripe(charge)
    if not units:
        return True  # shipped (and charged with its parcel) or cancelled meanwhile: nothing to tell
    released = MoneyReleased(gateway=payment.gateway, currency=order.currency)
    line = next(line for line in lines if line.pk == line_id)
    line_apply(line, Move(deallocate=units, cancel=units))
    line.save(update_fields=["quantity_allocated", "quantity_cancelled", "quantity_backordered", "status"])
    order.status = order_status(lines, ship_policy=order.ship_policy)
    order.save(update_fields=["status"])
    if payment.gateway == CARD:
        # What the payment holds beyond the open units' need is let go (the delivery's share when
        # nothing is left to ship); the failed charge itself held nothing.
        settled = card_settle(
            order=order, payment=payment, lines=lines, user_id=None, cancelled={line.pk: units}
        )
        released = MoneyReleased(
            gateway=CARD,
            currency=order.currency,
            voided=settled.released,
            refunded=settled.refunded,
            unreleased=settled.unreleased,
        )
    _timeline(order, line, units, released, charge)
    notification_create(
        kind=NotificationKind.CARD_PAYMENT_RELEASED,
        recipient=order.email,
        dedupe_key=f"card-payment-released:{charge.pk}",
        language=order.language,
        context={"order_id": order.pk, "charge_id": charge.pk, "units": units, **released.as_data()},
    )
    logger.info(
        "card charge %s unpaid after its grace: %s units of line %s released", charge.pk, units, line_id
    )
    return True


def _let_go_at_stripe(charge: CardCharge) -> None:
    """The refused PaymentIntent is cancelled at Stripe, so a late 3-D Secure answer cannot revive it."""
    if not charge.stripe_id:
        return
    try:
        stripe_api.payment_intent_cancel(charge.stripe_id, key=f"release:{charge.key}")
    except (StripeDeclined, StripeUnavailable) as exc:  # already final at Stripe: nothing held
        logger.info("card charge %s: PaymentIntent %s not cancelled: %s", charge.pk, charge.stripe_id, exc)


def _timeline(order: Order, line: OrderLine, units: int, released: MoneyReleased, charge: CardCharge) -> None:
    OrderEvent.objects.create(
        order=order,
        kind=OrderEventKind.CANCELLED,
        message=(
            f"Released {units} × {line.product_name} to the next customer: the card payment was not "
            f"completed within {settings.PAYMENT_GRACE_DAYS} days. Nothing was charged for it."
        )[:500],
        data={
            "lines": {str(line.pk): units},
            "card_charge": charge.pk,
            "words": event_words_build(
                key="released_unpaid",
                items=event_words_items([(units, line.product_name)]),
                days=settings.PAYMENT_GRACE_DAYS,
            ),
        },
    )
    if released.total:
        OrderEvent.objects.create(
            order=order,
            kind=OrderEventKind.REFUNDED,
            message=_stored_money_released(released),
            data={**released.as_data(), "words": released_words(released)},
        )


def _stored_money_released(released: MoneyReleased) -> str:
    with stored_words():
        return money_released_text(released)[:500]
