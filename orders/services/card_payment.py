"""The customer pays a charge that failed off-session, on the page their email links to.

When the bank refused an off-session charge or asked the customer to confirm it
(`card_charges._failed`), the units stay set aside for PAYMENT_GRACE_DAYS and the customer is
emailed a link to orders.views.card_payment. There they either

* pay with the card saved at checkout (`card_payment_with_saved_card`): a new PaymentIntent on that
  card, with the customer present (on-session), so the bank may ask for 3-D Secure in the page; or
* enter another card (`card_payment_setup_start`, then `card_payment_with_new_card`): a SetupIntent
  for the same Stripe customer, confirmed by Stripe.js with the Card Element, then charged; the new
  card becomes the payment's card for later charges.

When the bank asks to confirm (3-D Secure), the page runs Stripe.js and comes back with the
PaymentIntent (`card_payment_confirm`). A yes is recorded as the off-session charge would have
been (`card_charges.card_charge_authorized`): the charge authorized, a fresh hold period, the grace
over. Every attempt has its own idempotency key (`<charge key>:retry:<n>`). Locks: the payment,
then the charge (docs/concurrency.md), so the page and the grace sweep (`allocation_release`) never
act on one charge at once; the state is read again under them (`card_payment_state`).
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from notifications.models import Notification, NotificationKind
from notifications.services.outbox import notification_create
from shop.formatting import money
from shop.submissions import submission_claim

from .. import stripe_api
from ..event_words import event_words_build, event_words_items
from ..locks import card_charge_lock, payment_lock
from ..models import CardCharge, OrderEvent, OrderEventKind, Payment, TransactionKind
from ..selectors.card_payments import DUE, card_payment_state
from ..stripe_api import StripeDeclined, StripeUnavailable, to_minor
from ..wording import stored_words
from .card_charges import _transaction, card_charge_authorized

logger = logging.getLogger(__name__)

UNAVAILABLE = "We could not reach the card processor. Nothing was charged; please try again in a moment."


class CardPaymentClosed(Exception):
    """The charge cannot be paid any more: `state` is 'paid', 'released', 'expired' or 'pending'."""

    def __init__(self, state: str):
        super().__init__(state)
        self.state = state


@dataclass(frozen=True)
class CardPaymentResult:
    """'paid'; 'requires_action' (run Stripe.js with `client_secret`, then `card_payment_confirm`
    with `intent_id`); or 'declined' with the bank's `message` (nothing charged, still due)."""

    status: str
    message: str = ""
    client_secret: str = ""
    intent_id: str = ""


def _locked(charge_id: int) -> tuple[Payment, CardCharge]:
    """The charge's payment and the charge, locked in that order; CardPaymentClosed unless due."""
    payment_id = CardCharge.objects.filter(pk=charge_id).values_list("payment_id", flat=True).first()
    if payment_id is None:
        raise CardPaymentClosed("released")
    payment = payment_lock(payment_id)
    charge = card_charge_lock(charge_id)
    state = card_payment_state(charge)
    if state != DUE:
        raise CardPaymentClosed(state)
    return payment, charge


def _paid(charge: CardCharge, payment: Payment, intent: stripe_api.Intent) -> CardPaymentResult:
    if intent.payment_method and intent.payment_method != payment.stripe_payment_method:
        payment.stripe_payment_method = intent.payment_method  # the card for later charges
    if charge.stripe_id and charge.stripe_id != intent.id:
        # The refused (or unconfirmed) PaymentIntent is let go: it can never be confirmed later.
        try:
            stripe_api.payment_intent_cancel(charge.stripe_id, key=f"{charge.key}:superseded")
        except (StripeDeclined, StripeUnavailable) as exc:
            logger.info("card payment page: PaymentIntent %s not cancelled: %s", charge.stripe_id, exc)
    charge.stripe_id = intent.id
    card_charge_authorized(
        charge=charge, payment=payment, intent=intent, message="paid by the customer on the payment page"
    )
    line = charge.order_line
    what = f"{charge.units} × {line.product_name}" if line else "items"
    with stored_words():
        amount = money(charge.amount, payment.currency)
    OrderEvent.objects.create(
        order_id=payment.order_id,
        kind=OrderEventKind.NOTE,
        message=f"Card payment received for {what} ({amount})."[:500],
        data={
            "card_charge": charge.pk,
            "words": event_words_build(
                key="card_paid",
                items=event_words_items([(charge.units, line.product_name)] if line else []),
                amount=str(charge.amount),
                currency=payment.currency,
            ),
        },
    )
    return CardPaymentResult("paid")


def _declined(charge: CardCharge, payment: Payment, message: str, reference: str = "") -> CardPaymentResult:
    message = message or "Your card was declined."
    charge.failure_message = message[:255]
    charge.save(update_fields=["attempts", "failure_message", "updated_at"])
    _transaction(payment, TransactionKind.AUTHORIZE, charge.amount, False, reference, message)
    return CardPaymentResult("declined", message=message)


def _charge(charge: CardCharge, payment: Payment, *, payment_method: str) -> CardPaymentResult:
    """A new on-session PaymentIntent for the charge's amount on `payment_method`."""
    charge.attempts += 1
    try:
        intent = stripe_api.payment_intent_create(
            amount=to_minor(charge.amount, payment.currency),
            currency=payment.currency,
            customer=payment.reference,
            payment_method=payment_method,
            capture_manual=charge.capture_manual,
            off_session=False,
            key=f"{charge.key}:retry:{charge.attempts}",
            metadata={"order": payment.order.number, "charge": charge.key},
        )
    except StripeDeclined as exc:
        return _declined(charge, payment, exc.message, exc.intent_id)
    except StripeUnavailable as exc:
        logger.warning("card payment page: Stripe unavailable for charge %s: %s", charge.pk, exc)
        CardCharge.objects.filter(pk=charge.pk).update(attempts=charge.attempts)
        return CardPaymentResult("declined", message=UNAVAILABLE)
    if intent.authorized:
        return _paid(charge, payment, intent)
    if intent.needs_action:
        charge.save(update_fields=["attempts", "updated_at"])
        return CardPaymentResult("requires_action", client_secret=intent.client_secret, intent_id=intent.id)
    return _declined(charge, payment, intent.error_message, intent.id)


@transaction.atomic
def card_payment_with_saved_card(*, charge_id: int) -> CardPaymentResult:
    """Pay the charge with the card saved at checkout, the customer present. Raises CardPaymentClosed."""
    payment, charge = _locked(charge_id)
    return _charge(charge, payment, payment_method=payment.stripe_payment_method)


def card_payment_setup_start(*, charge_id: int) -> stripe_api.Intent:
    """A SetupIntent for the order's Stripe customer, for the page's "Use another card" (Stripe.js
    confirms it with the Card Element). Keyed by the attempt, so showing the page again reuses it at
    Stripe. Raises CardPaymentClosed, or StripeUnavailable / StripeDeclined."""
    charge = CardCharge.objects.select_related("payment").get(pk=charge_id)
    state = card_payment_state(charge)
    if state != DUE:
        raise CardPaymentClosed(state)
    return stripe_api.setup_intent_create(
        customer=charge.payment.reference, key=f"{charge.key}:setup:{charge.attempts}"
    )


@transaction.atomic
def card_payment_with_new_card(*, charge_id: int, setup_intent_id: str) -> CardPaymentResult:
    """Pay the charge with the card the customer just saved (a SetupIntent of the order's Stripe
    customer that Stripe.js confirmed); that card is used for the order's later charges."""
    payment, charge = _locked(charge_id)
    try:
        setup = stripe_api.setup_intent_get(setup_intent_id)
    except StripeDeclined:
        return CardPaymentResult("declined", message="We could not check that card. Please enter it again.")
    except StripeUnavailable:
        return CardPaymentResult("declined", message=UNAVAILABLE)
    if setup.customer != payment.reference or setup.status != "succeeded" or not setup.payment_method:
        return CardPaymentResult("declined", message="Your card was not confirmed. Please enter it again.")
    return _charge(charge, payment, payment_method=setup.payment_method)


@transaction.atomic
def card_payment_confirm(*, charge_id: int, intent_id: str) -> CardPaymentResult:
    """After 3-D Secure in the page: record the PaymentIntent the bank confirmed (it must be one of
    this charge's). A confirmation that comes back after the charge was closed (released while the
    customer was at their bank) lets the new hold go and raises CardPaymentClosed."""
    payment_id = CardCharge.objects.filter(pk=charge_id).values_list("payment_id", flat=True).first()
    if payment_id is None:
        raise CardPaymentClosed("released")
    payment = payment_lock(payment_id)
    charge = card_charge_lock(charge_id)
    try:
        intent = stripe_api.payment_intent_get(intent_id)
    except (StripeDeclined, StripeUnavailable):
        return CardPaymentResult("declined", message=UNAVAILABLE)
    ours = (
        intent.metadata.get("charge") == charge.key
        and intent.customer == payment.reference
        and intent.amount == to_minor(charge.amount, payment.currency)
    )
    state = card_payment_state(charge)
    if state != DUE:
        if ours and intent.authorized and intent.id != charge.stripe_id:
            try:
                stripe_api.payment_intent_cancel(intent.id, key=f"{charge.key}:late:{intent.id}")
            except (StripeDeclined, StripeUnavailable):
                logger.exception("card payment page: could not let go of late hold %s", intent.id)
        raise CardPaymentClosed(state)
    if not ours:
        return CardPaymentResult("declined", message="That payment is not for these items. Please try again.")
    if intent.authorized:
        return _paid(charge, payment, intent)
    return _declined(
        charge, payment, intent.error_message or "Your bank did not confirm the payment.", intent.id
    )


@transaction.atomic
def card_payment_link_resend(*, charge_id: int, submission_key: str, user_id: int | None) -> bool:
    """Staff: email the payment link again (a new outbox row each time). False when the charge is
    not due any more. With a one-time `submission_key`, a form sent twice sends once
    (AlreadySubmitted)."""
    submission_claim(key=submission_key, action="card_payment_link_resend", user_id=user_id)
    charge = CardCharge.objects.select_related("payment__order").get(pk=charge_id)
    if card_payment_state(charge) != DUE:
        return False
    order = charge.payment.order
    base = f"card-payment-needed:{charge.pk}"
    sends = Notification.objects.filter(Q(dedupe_key=base) | Q(dedupe_key__startswith=f"{base}:")).count()
    notification_create(
        kind=NotificationKind.CARD_PAYMENT_NEEDED,
        recipient=order.email,
        dedupe_key=f"{base}:again:{sends}",
        context={"order_id": order.pk, "charge_id": charge.pk},
        language=order.language,
    )
    OrderEvent.objects.create(
        order=order,
        kind=OrderEventKind.NOTE,
        message="The payment link was emailed to the customer again.",
        data={"card_charge": charge.pk},
        user_id=user_id,
        visible_to_customer=False,
    )
    return True
