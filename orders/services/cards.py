"""Card payments through Stripe: the checkout's authorization, what a shipment captures, what a
cancellation gives back. Off-session charges when stock is set aside: `card_charges`.

The money rule (docs/payments.md). A card order's payment holds, at any time, what the order's
open units need and no more:

* *pay when it ships* (`PaymentPlan.SHIP`): the units set aside for the order (allocated), plus the
  shipping charge until the first parcel leaves. Units that wait hold nothing: each is charged
  off-session when stock is set aside for it (`card_charges`).
* *pay now* (`PaymentPlan.NOW`): every open unit, captured at checkout.

"Holds" is the open authorizations (`CardCharge.amount_open`) plus the credit: what was captured,
less what was refunded and what shipments used. A shipment uses the credit first, then captures
the open authorizations (each PaymentIntent is captured once: every allocated unit ships in the
same parcel, so all of them are due), then charges the card off-session for what is left. A
cancellation releases what is held beyond the need: open authorizations first (newest first),
then refunds.

Stripe is called inside the caller's transaction, last, with idempotency keys made from the rows:
a shipment whose transaction rolls back after Stripe captured is captured again with the same key
when staff ship again, and Stripe answers with the first capture.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import stripe_api
from ..events import payment_refunded
from ..locks import card_charges_lock
from ..models import (
    CardCharge,
    ChargePurpose,
    ChargeStatus,
    Order,
    OrderLine,
    Payment,
    PaymentPlan,
    Shipment,
    TransactionKind,
)
from ..selectors.card_money import card_needed, deposit_of, waiting_reserve
from ..selectors.payment_plans import checkout_payment_plan
from ..selectors.quote import Quote
from ..stripe_api import StripeDeclined, StripeUnavailable, from_minor, to_minor
from .charges import _payment_status
from .charges import payment_transaction_record as _transaction
from .errors import CheckoutError, OrderActionError

logger = logging.getLogger(__name__)

CARD = "card"
ZERO = Decimal("0")


class PaymentActionRequired(CheckoutError):
    """The bank asks the customer to confirm the payment (3-D Secure): the checkout page runs
    Stripe.js with `client_secret`, then submits again naming `intent_id`."""

    def __init__(self, *, client_secret: str, intent_id: str):
        super().__init__("Your bank asks you to confirm this payment.")
        self.client_secret = client_secret
        self.intent_id = intent_id


@dataclass(frozen=True)
class CardAuth:
    """A card checkout's payment, before the order exists."""

    customer: str
    payment_method: str
    plan: str
    amount: Decimal  # held or charged at checkout
    intent: stripe_api.Intent | None  # None: nothing due now (everything waits, pay when it ships)
    deposit_percent: int = 0

    @property
    def captured(self) -> bool:
        return self.intent is not None and self.intent.status == "succeeded"


def checkout_due_now(quote: Quote, plan: str, deposit_percent: int = 0) -> Decimal:
    """What a card checkout holds or charges now: everything under *pay now*; under *pay when it
    ships* the units that ship now (they come first on their lines, at the full price) and the
    shipping; with a deposit, that and each line's deposit on its waiting units."""
    if plan == PaymentPlan.NOW:
        return quote.total
    goods = sum((line.ship_now * line.unit_price for line in quote.lines), ZERO)
    due = goods + quote.shipping_cost if goods else ZERO
    if plan == PaymentPlan.DEPOSIT:
        deposits = sum(
            (
                deposit_of(line.total - line.ship_now * line.unit_price, deposit_percent)
                for line in quote.lines
            ),
            ZERO,
        )
        due += deposits + (quote.shipping_cost if deposits and not goods else ZERO)
    return due


def _minor(amount: Decimal) -> int:
    return to_minor(amount, settings.SHOP_CURRENCY)


def card_checkout_setup(*, email: str, name: str, key: str) -> stripe_api.Intent:
    """A Stripe customer and a SetupIntent for the checkout page: Stripe.js confirms it with the
    card the customer types (the card never reaches the shop), saving it for later charges.
    `key`: the checkout's idempotency key, so a page submitted twice sets up one card."""
    try:
        customer = stripe_api.customer_create(email=email, name=name, key=f"customer:{key}")
        return stripe_api.setup_intent_create(customer=customer, key=f"setup:{key}")
    except (StripeDeclined, StripeUnavailable) as exc:
        logger.warning("checkout: could not start a card setup: %s", exc)
        raise CheckoutError(
            _("We could not reach the card processor. Please try again in a moment.")
        ) from exc


def card_checkout_authorize(
    *, quote: Quote, setup_intent_id: str, payment_intent_id: str, idempotency_key: str
) -> CardAuth:
    """Check the card the customer saved in the page (a SetupIntent Stripe.js confirmed) and hold
    or charge what is due now. Raises CheckoutError (declined: nothing ordered, nothing held) or
    PaymentActionRequired (3-D Secure in the page, then this again with `payment_intent_id`)."""
    choice = checkout_payment_plan(quote)
    plan, percent = choice.plan, choice.deposit_percent
    if not setup_intent_id:
        raise CheckoutError(_("Enter your card details."))
    try:
        setup = stripe_api.setup_intent_get(setup_intent_id)
    except (StripeDeclined, StripeUnavailable) as exc:
        logger.warning("checkout: setup intent %s unreadable: %s", setup_intent_id, exc)
        raise CheckoutError(_("We could not check your card. Please enter it again.")) from exc
    if setup.status != "succeeded" or not setup.payment_method or not setup.customer:
        raise CheckoutError(_("Your card was not confirmed. Please enter it again."))
    amount = checkout_due_now(quote, plan, percent)
    if amount == 0:
        return CardAuth(setup.customer, setup.payment_method, plan, ZERO, None, percent)
    try:
        if payment_intent_id:
            intent = stripe_api.payment_intent_get(payment_intent_id)
            if intent.customer != setup.customer or intent.amount != _minor(amount):
                raise CheckoutError(
                    _("Your order changed while you confirmed the payment. Please place it again.")
                )
        else:
            intent = stripe_api.payment_intent_create(
                amount=_minor(amount),
                currency=settings.SHOP_CURRENCY,
                customer=setup.customer,
                payment_method=setup.payment_method,
                capture_manual=plan == PaymentPlan.SHIP,  # pay now and deposits are charged at once
                off_session=False,
                key=f"checkout:{idempotency_key}:{_minor(amount)}",
                metadata={"checkout": idempotency_key},
            )
    except StripeDeclined as exc:
        raise CheckoutError(exc.message) from exc
    except StripeUnavailable as exc:
        logger.warning("checkout: Stripe unavailable: %s", exc)
        raise CheckoutError(
            _("We could not reach the card processor. Nothing was charged; please try again.")
        ) from exc
    if intent.needs_action:
        raise PaymentActionRequired(client_secret=intent.client_secret, intent_id=intent.id)
    if not intent.authorized:
        raise CheckoutError(intent.error_message or "Your card was declined.")
    return CardAuth(setup.customer, setup.payment_method, plan, amount, intent, percent)


def card_checkout_undo(auth: CardAuth, *, idempotency_key: str) -> None:
    """The order was not placed after all: give back what the checkout held or charged."""
    if auth.intent is None:
        return
    try:
        if auth.captured:
            stripe_api.refund_create(auth.intent.id, amount=auth.intent.amount, key=f"undo:{idempotency_key}")
        else:
            stripe_api.payment_intent_cancel(auth.intent.id, key=f"undo:{idempotency_key}")
    except (StripeDeclined, StripeUnavailable):
        logger.exception("checkout: could not give back payment %s of an order not placed", auth.intent.id)


def card_payment_create(*, order: Order, auth: CardAuth, user_id: int | None) -> Payment:
    """The order's payment and its checkout charge (inside the order's transaction)."""
    now = timezone.now()
    captured = auth.amount if auth.captured else ZERO
    payment = Payment.objects.create(
        order=order,
        gateway=CARD,
        reference=auth.customer,
        stripe_payment_method=auth.payment_method,
        plan=auth.plan,
        deposit_percent=auth.deposit_percent,
        currency=order.currency,
        amount_authorized=auth.amount,
        amount_captured=captured,
    )
    payment.status = _payment_status(payment)
    payment.save(update_fields=["status"])
    if auth.intent is not None:
        CardCharge.objects.create(
            payment=payment,
            purpose=ChargePurpose.CHECKOUT,
            key=f"checkout:{order.idempotency_key or order.pk}",
            stripe_id=auth.intent.id,
            amount=auth.amount,
            capture_manual=not auth.captured,
            amount_captured=captured,
            status=ChargeStatus.CAPTURED if auth.captured else ChargeStatus.AUTHORIZED,
            attempts=1,
            authorized_at=now,
            expires_at=now + timedelta(days=settings.PAYMENT_AUTHORIZATION_DAYS),
        )
        _transaction(
            payment, TransactionKind.AUTHORIZE, auth.amount, True, auth.intent.id, "card saved", user_id
        )
        if auth.captured:
            _transaction(
                payment, TransactionKind.CAPTURE, auth.amount, True, auth.intent.id, "paid now", user_id
            )
    return payment


# --- what the payment must hold ----------------------------------------------------------------


def _credit(payment: Payment) -> Decimal:
    """Captured, less refunded, less what shipments used."""
    used = Shipment.objects.filter(order_id=payment.order_id).aggregate(s=Sum("amount"))["s"] or ZERO
    return payment.amount_captured - payment.amount_refunded - used


@dataclass(frozen=True)
class CardRelease:
    released: Decimal  # authorizations let go: never charged
    refunded: Decimal
    unreleased: Decimal  # Stripe refused: staff follow it up


def card_settle(
    *,
    order: Order,
    payment: Payment,
    lines: list[OrderLine],
    user_id: int | None,
    cancelled: dict[int, int] | None = None,
) -> CardRelease:
    """Give back what the payment holds beyond what the order's open units need. The caller holds
    the order's lines and payment locks; the charges are locked here. `cancelled` ({line id:
    units}): the cancellation that caused it, told with the refund (`payment_refunded`)."""
    charges = card_charges_lock(payment.pk)
    open_total = sum((c.amount_open for c in charges), ZERO)
    excess = open_total + _credit(payment) - card_needed(order, lines, payment.plan, payment.deposit_percent)
    released = refunded = unreleased = ZERO
    for charge in sorted(charges, key=lambda c: -c.pk):
        if excess <= 0:
            break
        part = min(charge.amount_open, excess)
        if part <= 0:
            continue
        if part == charge.amount_open and not _cancel(charge, payment, user_id):
            unreleased += part
            excess -= part
            continue
        # Part of a hold: recorded now; Stripe lets it go when the rest is captured at shipment.
        charge.amount_released += part
        if charge.amount_released + charge.amount_captured == charge.amount:
            charge.status = ChargeStatus.RELEASED
        charge.save(update_fields=["amount_released", "status", "updated_at"])
        payment.amount_voided += part
        _transaction(payment, TransactionKind.VOID, part, True, charge.stripe_id, "hold reduced", user_id)
        released += part
        excess -= part
    for charge in sorted(charges, key=lambda c: -c.pk):
        if excess <= 0:
            break
        part = min(charge.amount_captured - charge.amount_refunded, excess)
        if part <= 0:
            continue
        excess -= part
        key = f"refund:{charge.key}:{_minor(charge.amount_refunded)}:{_minor(part)}"
        try:
            refund_id = stripe_api.refund_create(charge.stripe_id, amount=_minor(part), key=key)
        except (StripeDeclined, StripeUnavailable) as exc:
            _transaction(payment, TransactionKind.REFUND, part, False, charge.stripe_id, str(exc), user_id)
            unreleased += part
            continue
        charge.amount_refunded += part
        charge.save(update_fields=["amount_refunded", "updated_at"])
        payment.amount_refunded += part
        _transaction(payment, TransactionKind.REFUND, part, True, refund_id, "refunded", user_id)
        refunded += part
    payment.status = _payment_status(payment)
    payment.save()
    if refunded:
        payment_refunded.send(order_id=order.pk, amount=refunded, cancelled=cancelled)
    return CardRelease(released=released, refunded=refunded, unreleased=unreleased)


def _cancel(charge: CardCharge, payment: Payment, user_id: int | None) -> bool:
    """Let a whole hold go at Stripe; False when Stripe refused."""
    part = charge.amount_open
    try:
        stripe_api.payment_intent_cancel(charge.stripe_id, key=f"cancel:{charge.key}")
    except (StripeDeclined, StripeUnavailable) as exc:
        _transaction(payment, TransactionKind.VOID, part, False, charge.stripe_id, str(exc), user_id)
        return False
    charge.amount_released += part
    charge.status = ChargeStatus.RELEASED
    charge.save(update_fields=["amount_released", "status", "updated_at"])
    payment.amount_voided += part
    _transaction(payment, TransactionKind.VOID, part, True, charge.stripe_id, "hold released", user_id)
    return True


# --- a shipment ---------------------------------------------------------------------------------


def card_shipment_pay(
    *, order: Order, payment: Payment, shipment: Shipment, amount: Decimal, user_id: int | None
) -> Decimal:
    """Pay for a parcel of `amount` (the caller holds the lines' and the payment's locks, and has
    written the shipment): the credit first, then every open hold captured (a hold past
    PAYMENT_AUTHORIZATION_DAYS is let go instead), then the card charged off-session for the rest.
    Returns what this parcel captured or charged now. Raises OrderActionError when the card is
    declined: nothing ships."""
    now = timezone.now()
    charges = card_charges_lock(payment.pk)
    # The credit before this parcel, less what it keeps for units still waiting (pay now, deposit).
    kept = sum(
        (waiting_reserve(line, payment.plan, payment.deposit_percent) for line in order.lines.all()), ZERO
    )
    credit = max(ZERO, _credit(payment) + shipment.amount - kept)
    due = amount - min(credit, amount)
    captures: list[tuple[CardCharge, Decimal]] = []
    for charge in charges:
        if charge.amount_open <= 0:
            continue
        if charge.expires_at and charge.expires_at <= now and _cancel(charge, payment, user_id):
            continue  # expired, or about to: let go, and charged anew below (if Stripe refused, captured)
        take = min(charge.amount_open, due)
        captures.append((charge, take))
        due -= take
    fresh = None
    if due > 0:
        # The riskiest call first: if the card is declined, no hold has been captured yet.
        fresh = _charge_now(order=order, payment=payment, amount=due, user_id=user_id, shipment=shipment)
    taken = ZERO
    for charge, take in captures:
        if take == 0:
            if not _cancel(charge, payment, user_id):
                raise OrderActionError(
                    "A card hold could not be released at Stripe: nothing was shipped; try again."
                )
            continue
        try:
            stripe_api.payment_intent_capture(
                charge.stripe_id, amount=_minor(take), key=f"capture:{charge.key}:{_minor(take)}"
            )
        except (StripeDeclined, StripeUnavailable) as exc:
            _transaction(
                payment, TransactionKind.CAPTURE, take, False, charge.stripe_id, str(exc), user_id, shipment
            )
            raise OrderActionError(
                f"The card payment could not be captured: {exc}. Nothing was shipped."
            ) from exc
        rest = charge.amount_open - take
        charge.amount_captured += take
        charge.amount_released += rest
        charge.status = ChargeStatus.CAPTURED
        charge.save(update_fields=["amount_captured", "amount_released", "status", "updated_at"])
        payment.amount_captured += take
        payment.amount_voided += rest
        _transaction(
            payment, TransactionKind.CAPTURE, take, True, charge.stripe_id, "captured", user_id, shipment
        )
        if rest:
            _transaction(
                payment,
                TransactionKind.VOID,
                rest,
                True,
                charge.stripe_id,
                "rest of the hold let go",
                user_id,
            )
        taken += take
    payment.status = _payment_status(payment)
    payment.save()
    return taken + (fresh or ZERO)


def _charge_now(*, order: Order, payment: Payment, amount: Decimal, user_id, shipment: Shipment) -> Decimal:
    """Charge the saved card off-session at shipment (captured at once)."""
    shipped_before = Shipment.objects.filter(order_id=order.pk).exclude(pk=shipment.pk).count()
    key = f"ship:{order.pk}:{shipped_before}:{_minor(amount)}"
    charge = CardCharge.objects.filter(key=key).first() or CardCharge(
        payment=payment, purpose=ChargePurpose.SHIPMENT, key=key, amount=amount, capture_manual=False
    )
    try:
        intent = stripe_api.payment_intent_create(
            amount=_minor(amount),
            currency=order.currency,
            customer=payment.reference,
            payment_method=payment.stripe_payment_method,
            capture_manual=False,
            off_session=True,
            key=key,
            metadata={"order": order.number, "purpose": "shipment"},
        )
    except (StripeDeclined, StripeUnavailable) as exc:
        raise OrderActionError(
            f"The customer's card was declined for {amount} {order.currency} ({exc}). Nothing was shipped."
        ) from exc
    if intent.status != "succeeded":
        raise OrderActionError(
            f"The customer's bank asks them to confirm the payment of {amount} {order.currency}. Nothing was shipped."
        )
    now = timezone.now()
    charge.stripe_id = intent.id
    charge.status = ChargeStatus.CAPTURED
    charge.amount_captured = amount
    charge.attempts += 1
    charge.authorized_at = now
    charge.save()
    payment.amount_authorized += amount
    payment.amount_captured += amount
    _transaction(payment, TransactionKind.AUTHORIZE, amount, True, intent.id, "charged at shipment", user_id)
    _transaction(
        payment, TransactionKind.CAPTURE, amount, True, intent.id, "charged at shipment", user_id, shipment
    )
    return amount


def card_payment_amounts(payment: Payment) -> dict[str, Decimal]:
    """The sums of the payment's charges, as `Payment` keeps them (payments_reconcile compares)."""
    sums = {"authorized": ZERO, "captured": ZERO, "voided": ZERO, "refunded": ZERO}
    for charge in payment.charges.all():
        if charge.authorized_at is None:
            continue  # never held nor charged (pending, failed, or let go before it was sent)
        sums["authorized"] += charge.amount
        sums["captured"] += charge.amount_captured
        sums["voided"] += charge.amount_released
        sums["refunded"] += charge.amount_refunded
    return sums


__all__ = [
    "CARD",
    "CardAuth",
    "CardRelease",
    "PaymentActionRequired",
    "card_checkout_authorize",
    "card_checkout_setup",
    "card_checkout_undo",
    "card_needed",
    "card_payment_amounts",
    "card_payment_create",
    "card_settle",
    "card_shipment_pay",
    "checkout_due_now",
    "deposit_of",
    "waiting_reserve",
    "from_minor",
]
