"""Card holds that would expire: let them go before the bank does, and charge at shipment instead.

A card authorization is not forever: Stripe cancels an uncaptured PaymentIntent after about seven
days (PAYMENT_AUTHORIZATION_DAYS, the `expires_at` of each `CardCharge`), and a capture after that
is refused at the packing table. An order that ships together, or whose parcel waits for staff,
can hold longer than that. So every hour (`orders.tasks.card_authorizations_renew`, beat) the holds
in their last day (`expires_at` within `MARGIN`, 24 h) whose goods have not shipped are cancelled
at Stripe and recorded released: the charge's `amount_released`, the payment's `amount_voided`, a
void transaction "hold expired; charged at shipment instead", and a staff-only timeline entry.
Nothing is lost: the money rule (orders.services.cards) charges the saved card off-session, when
the parcel ships, for whatever is not held.

Goods that shipped were captured with their parcel (the charge is `captured`, not `authorized`):
nothing to do. A run finds each hold once: under its locks (the payment, then the charge: the lock
order of orders.locks) the charge is read again and skipped unless it is still authorized and due;
the Stripe call carries the key `expire:<charge key>`, so a run retried after Stripe answered is
answered the same. A hold Stripe already let go (it expired there first) is recorded released too;
a hold Stripe refuses to cancel for any other reason, or an unreachable Stripe, is left for the
next run (and logged).

localstripe never expires an authorization: the tests move the clock (time-machine) instead.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from shop.formatting import money

from .. import stripe_api
from ..locks import card_charge_lock, payment_lock
from ..models import (
    CardCharge,
    ChargeStatus,
    OrderEvent,
    OrderEventKind,
    TransactionKind,
)
from ..stripe_api import StripeDeclined, StripeUnavailable
from .charges import _payment_status, payment_transaction_record

logger = logging.getLogger(__name__)

MARGIN = timedelta(hours=24)  # a hold is let go in the last day before its `expires_at`
RELEASED = "released"
SKIPPED = "skipped"
REFUSED = "refused"


@dataclass(frozen=True)
class ExpiryRun:
    released: list[int]  # charge ids let go by this run
    refused: list[int]  # Stripe refused or was unreachable: tried again next run


def card_authorizations_expiring(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of authorized card charges in their last day (or past it), oldest expiry first."""
    due = (now or timezone.now()) + MARGIN
    return list(
        CardCharge.objects.filter(status=ChargeStatus.AUTHORIZED, expires_at__lte=due)
        .order_by("expires_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def card_authorizations_release_expiring(*, now: datetime | None = None) -> ExpiryRun:
    """Let go every hold in its last day (the module); each in its own transaction."""
    released, refused = [], []
    for charge_id in card_authorizations_expiring(now=now):
        outcome = card_authorization_release_expiring(charge_id=charge_id, now=now)
        if outcome == RELEASED:
            released.append(charge_id)
        elif outcome == REFUSED:
            refused.append(charge_id)
    return ExpiryRun(released=released, refused=refused)


@transaction.atomic
def card_authorization_release_expiring(*, charge_id: int, now: datetime | None = None) -> str:
    """Release one hold if it is still authorized and in its last day: 'released', 'skipped'
    (captured, released or renewed since it was found) or 'refused' (Stripe said no or was down)."""
    row = CardCharge.objects.filter(pk=charge_id).values("payment_id").first()
    if row is None:
        return SKIPPED
    payment = payment_lock(row["payment_id"])  # the lock order: the payment, then its charges
    charge = card_charge_lock(charge_id)
    due = (now or timezone.now()) + MARGIN
    if charge is None or charge.status != ChargeStatus.AUTHORIZED or not charge.expires_at:
        return SKIPPED
    if charge.expires_at > due or charge.amount_open <= 0:
        return SKIPPED
    message = "hold expired; charged at shipment instead"
    try:
        stripe_api.payment_intent_cancel(charge.stripe_id, key=f"expire:{charge.key}")
    except StripeUnavailable as exc:
        logger.warning(
            "card hold %s (charge %s) not released, Stripe unavailable: %s", charge.stripe_id, charge.pk, exc
        )
        return REFUSED
    except StripeDeclined as exc:
        if not _canceled_at_stripe(charge.stripe_id):
            logger.error("card hold %s (charge %s) not released: %s", charge.stripe_id, charge.pk, exc)
            return REFUSED
        message = "hold expired at Stripe; charged at shipment instead"
    part = charge.amount_open
    charge.amount_released += part
    charge.status = ChargeStatus.RELEASED
    charge.save(update_fields=["amount_released", "status", "updated_at"])
    payment.amount_voided += part
    payment.status = _payment_status(payment)
    payment.save(update_fields=["amount_voided", "status"])
    payment_transaction_record(payment, TransactionKind.VOID, part, True, charge.stripe_id, message)
    OrderEvent.objects.create(
        order_id=payment.order_id,
        kind=OrderEventKind.NOTE,
        message=(
            f"The card hold of {money(part, payment.currency, plain=True)} (authorized "
            f"{timezone.localtime(charge.authorized_at):%Y-%m-%d %H:%M}) was released before it expired; "
            "the card will be charged when the parcel ships."
        )[:500],
        data={"card_charge": charge.pk, "released": str(part)},
        visible_to_customer=False,
    )
    return RELEASED


def _canceled_at_stripe(intent_id: str) -> bool:
    try:
        return stripe_api.payment_intent_get(intent_id).status == "canceled"
    except (StripeDeclined, StripeUnavailable):
        return False
