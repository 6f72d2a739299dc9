"""Stripe's webhook events: each recorded once, each moving our card rows only forwards.

`stripe_webhook_receive` is what the endpoint (orders.views.stripe_webhook) calls with the request's
body and `Stripe-Signature` header. The event is verified (orders.stripe_api.webhook_event), then a
`StripeEvent` row is inserted *in the same transaction* as the event's effect: the unique
`event_id` decides which of two deliveries of one event (a retry, two workers at once) has the
effect; the other finds the row, or waits for it on the unique index, and changes nothing. An
effect that fails rolls its row back with it, so Stripe's next retry does it.

Events arrive late, twice and out of order, so no handler trusts the event's own copy of a state
that can change: a PaymentIntent event reads the intent from Stripe now and moves our
`CardCharge` forwards only (pending / requires_action / failed, then authorized or captured, never
back); a refund compares Stripe's total refunded with ours and records only the difference.

- `payment_intent.succeeded`, `.amount_capturable_updated`: a charge of ours that was not paid
  (the customer confirmed 3-D Secure or paid through the emailed link away from the shop, or a
  call whose answer was lost) is recorded as authorized or captured, as `card_charge_send` records it;
- `payment_intent.payment_failed`, `.requires_action`: a charge still pending, whose intent Stripe
  now has refused or waiting for the customer, is marked failed or waiting for the customer, as `card_charge_send` marks it (stock kept for the grace period, the
  customer asked to pay); a charge already paid is left alone;
- `charge.refunded`: a refund made in Stripe's dashboard is recorded on the charge and the payment,
  with a gateway call and a staff note on the order; our own refunds are recorded already;
- `charge.dispute.created`, `charge.dispute.closed`: a staff note on the order ("Disputed: ...");
  the StripeEvent admin lists the disputes;
- anything else is stored and ignored.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from shop.formatting import date_in_words, money

from .. import stripe_api
from ..events import payment_refunded
from ..locks import card_charge_lock, payment_lock
from ..models import (
    CardCharge,
    ChargeStatus,
    OrderEvent,
    OrderEventKind,
    StripeEvent,
    TransactionKind,
)
from ..stripe_api import Intent, StripeDeclined, from_minor
from .card_charges import _failed, card_charge_authorized
from .charges import _payment_status, payment_transaction_record

logger = logging.getLogger(__name__)

ZERO = Decimal("0")
UNPAID = (ChargeStatus.PENDING, ChargeStatus.REQUIRES_ACTION, ChargeStatus.FAILED)
INTENT_PAID = ("payment_intent.succeeded", "payment_intent.amount_capturable_updated")
INTENT_NOT_PAID = ("payment_intent.payment_failed", "payment_intent.requires_action")
DISPUTES = ("charge.dispute.created", "charge.dispute.closed")


class StripeWebhookInvalid(ValueError):
    """The body is not an event Stripe signed with STRIPE_WEBHOOK_SECRET: answered 400, nothing kept."""


@dataclass(frozen=True)
class WebhookOutcome:
    event_id: str
    type: str
    duplicate: bool  # delivered before: nothing done this time
    result: str


def stripe_webhook_receive(*, payload: bytes, signature: str) -> WebhookOutcome:
    """Verify one delivery and process its event once. Raises StripeWebhookInvalid (bad signature,
    body or secret) and StripeUnavailable (Stripe could not be asked about the intent: nothing
    kept, Stripe delivers again)."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        logger.error("stripe webhook: STRIPE_WEBHOOK_SECRET is not set; refusing every event")
        raise StripeWebhookInvalid("no webhook secret configured")
    if not signature:
        raise StripeWebhookInvalid("no Stripe-Signature header")
    try:
        event = stripe_api.webhook_event(payload, signature)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise StripeWebhookInvalid(str(exc)) from exc
    event_id, event_type = event.get("id"), event.get("type")
    obj = (event.get("data") or {}).get("object")
    if (
        not isinstance(event_id, str)
        or not event_id
        or not isinstance(event_type, str)
        or not isinstance(obj, dict)
    ):
        raise StripeWebhookInvalid("not an event")
    if StripeEvent.objects.filter(event_id=event_id).exists():
        return WebhookOutcome(event_id, event_type, True, "duplicate")
    # Stripe's current state of the intent, asked before any lock is taken (a network call).
    intent = None
    if event_type in INTENT_PAID + INTENT_NOT_PAID and obj.get("id"):
        intent = _current_intent(obj)
    return stripe_event_process(event=event, intent=intent)


@transaction.atomic(durable=True)
def stripe_event_process(*, event: dict, intent: Intent | None = None) -> WebhookOutcome:
    """Insert the event's row and apply its effect, in one transaction; a second delivery of the
    same event id changes nothing (`duplicate`). `intent`: the PaymentIntent as Stripe has it now,
    for payment_intent.* events."""
    event_id, event_type = event["id"], event["type"]
    try:
        with transaction.atomic():  # a savepoint: the unique event_id refuses a second delivery
            row = StripeEvent.objects.create(event_id=event_id, type=event_type[:100], payload=event)
    except IntegrityError:
        return WebhookOutcome(event_id, event_type, True, "duplicate")
    obj = event["data"]["object"]
    if event_type in INTENT_PAID + INTENT_NOT_PAID:
        # Asked here only when the caller did not (tests): stripe_webhook_receive asks before the lock.
        intent = intent or _current_intent(obj)
        result = _intent_event(obj, intent, event_type)
    elif event_type == "charge.refunded":
        result = _charge_refunded(obj, event_id)
    elif event_type in DISPUTES:
        result = _dispute(obj, event_id, opened=event_type == "charge.dispute.created")
    else:
        result = "ignored: not an event the shop acts on"
    row.processed_at = timezone.now()
    row.result = result[:255]
    row.save(update_fields=["processed_at", "result"])
    return WebhookOutcome(event_id, event_type, False, result)


def _current_intent(obj: dict) -> Intent:
    """The PaymentIntent as Stripe has it now. Raises StripeUnavailable."""
    try:
        return stripe_api.payment_intent_get(str(obj["id"]))
    except StripeDeclined:  # Stripe does not know it (another account's, deleted): no effect
        return Intent(id=str(obj["id"]), status="unknown", metadata=dict(obj.get("metadata") or {}))


def _charge_for_intent(intent_id: str, metadata: dict | None = None) -> CardCharge | None:
    """Our charge for a PaymentIntent: by its id, else by the key our calls put in its metadata
    (a call whose answer was lost has no intent id on its row yet)."""
    charge = CardCharge.objects.filter(stripe_id=intent_id).order_by("pk").first() if intent_id else None
    key = (metadata or {}).get("charge")
    if charge is None and key:
        charge = CardCharge.objects.filter(key=key).first()
    return charge


def _lock(charge: CardCharge):
    """The payment, then the charge (the lock order, orders.locks): a charge being sent or settled
    is recorded by its own transaction first, and read here after it commits."""
    payment = payment_lock(charge.payment_id)
    return payment, card_charge_lock(charge.pk)


def _staff_note(order, message: str, data: dict, kind=OrderEventKind.NOTE) -> None:
    OrderEvent.objects.create(
        order=order, kind=kind, message=message[:500], data=data, visible_to_customer=False
    )


def _intent_event(obj: dict, intent: Intent, event_type: str) -> str:
    charge = _charge_for_intent(intent.id, intent.metadata or obj.get("metadata"))
    if charge is None:
        return f"no card charge of ours for {intent.id}"
    payment, charge = _lock(charge)
    order = payment.order
    if charge.status not in UNPAID:
        return f"{order.number}: charge {charge.pk} already {charge.status}; Stripe says {intent.status}"
    if intent.authorized:
        charge.stripe_id = intent.id
        card_charge_authorized(
            charge=charge, payment=payment, intent=intent, message="paid away from the shop (Stripe's event)"
        )
        if charge.order_line is not None and charge.order_line.quantity_allocated == 0:
            _staff_note(
                order,
                f"The card payment of {money(charge.amount, payment.currency, plain=True)} went through "
                f"in Stripe after its units were no longer set aside; release it in Stripe's dashboard.",
                {"card_charge": charge.pk, "stripe_intent": intent.id},
            )
        return f"{order.number}: charge {charge.pk} {charge.status} (Stripe: {intent.status})"
    refused = intent.needs_action or intent.status in ("requires_payment_method", "canceled")
    if event_type in INTENT_NOT_PAID and charge.status == ChargeStatus.PENDING and refused:
        status = _failed(
            charge,
            payment,
            code=intent.error_code or ("authentication_required" if intent.needs_action else "card_declined"),
            message=intent.error_message,
            intent_id=intent.id,
            status="requires_action" if intent.needs_action else "failed",
        )
        return f"{order.number}: charge {charge.pk} {status}"
    return f"{order.number}: charge {charge.pk} stays {charge.status} (Stripe: {intent.status})"


def _charge_refunded(obj: dict, event_id: str) -> str:
    """A refund of a Charge (ours or made in Stripe's dashboard): record what Stripe refunded
    beyond what we have recorded. `amount_refunded` is Stripe's running total, so an older event
    (a smaller total) and our own refunds (recorded when we made them) add nothing. Locks as our
    refunds do (the payment, then the charge): a refund of ours in flight commits first."""
    intent_id = obj.get("payment_intent") or ""
    if not isinstance(intent_id, str):
        intent_id = intent_id.get("id", "")
    charge = _charge_for_intent(intent_id, obj.get("metadata"))
    if charge is None:
        return f"no card charge of ours for {intent_id or obj.get('id')}"
    payment, charge = _lock(charge)
    order = payment.order
    # A capture of less than the hold "refunds" the rest at Stripe: that part is not a refund here.
    if obj.get("amount_captured") is not None:
        uncaptured = from_minor(int(obj.get("amount") or 0) - int(obj["amount_captured"]), payment.currency)
    else:
        uncaptured = (
            charge.amount - charge.amount_captured if charge.status == ChargeStatus.CAPTURED else ZERO
        )
    stripe_total = from_minor(int(obj.get("amount_refunded") or 0), payment.currency) - max(uncaptured, ZERO)
    missing = stripe_total - charge.amount_refunded
    if missing <= 0:
        return f"{order.number}: refunds of charge {charge.pk} already recorded ({charge.amount_refunded})"
    part = min(missing, charge.amount_captured - charge.amount_refunded)
    if part <= 0:
        return f"{order.number}: Stripe refunded {stripe_total}, more than charge {charge.pk} captured here"
    charge.amount_refunded += part
    charge.save(update_fields=["amount_refunded", "updated_at"])
    payment.amount_refunded += part
    payment.status = _payment_status(payment)
    payment.save(update_fields=["amount_refunded", "status"])
    payment_refunded.send(order_id=order.pk, amount=part, cancelled=None)  # a credit note (invoices.apps)
    refunds = (obj.get("refunds") or {}).get("data") or []
    reference = (refunds[0].get("id") if refunds else "") or obj.get("id") or intent_id
    payment_transaction_record(
        payment, TransactionKind.REFUND, part, True, reference, "refunded in Stripe's dashboard"
    )
    amount = money(part, payment.currency, plain=True)
    _staff_note(
        order,
        f"{amount} was refunded in Stripe's dashboard (not by the shop); recorded on the payment.",
        {"card_charge": charge.pk, "stripe_event": event_id, "refunded": str(part)},
        kind=OrderEventKind.REFUNDED,
    )
    return f"{order.number}: {amount} refunded in the dashboard recorded on charge {charge.pk}"


def _dispute(obj: dict, event_id: str, *, opened: bool) -> str:
    """A customer's bank disputes a charge, or the dispute ended: told to staff on the order."""
    intent_id = obj.get("payment_intent") or ""
    if not isinstance(intent_id, str):
        intent_id = intent_id.get("id", "")
    charge = _charge_for_intent(intent_id)
    currency = obj.get("currency") or settings.SHOP_CURRENCY
    amount = money(from_minor(int(obj.get("amount") or 0), currency), currency.upper(), plain=True)
    reason = (obj.get("reason") or "no reason given").replace("_", " ")
    if opened:
        due = ((obj.get("evidence_details") or {}).get("due_by")) or None
        when = f"; answer in Stripe's dashboard by {_date(due)}" if due else "; answer in Stripe's dashboard"
        what = f"Disputed: the customer's bank disputes {amount} ({reason}){when}."
    else:
        what = f"Dispute closed: {amount} ({reason}), {(obj.get('status') or 'closed').replace('_', ' ')}."
    if charge is None:
        logger.warning(
            "stripe webhook: dispute %s for %s matches no charge of ours", obj.get("id"), intent_id
        )
        return f"{what} No order found for {intent_id or obj.get('charge')}."
    order = charge.payment.order
    _staff_note(
        order,
        what,
        {"stripe_dispute": obj.get("id"), "stripe_event": event_id, "card_charge": charge.pk},
    )
    return f"{order.number}: {what}"


def _date(timestamp) -> str:
    try:
        return date_in_words(datetime.fromtimestamp(int(timestamp), tz=UTC).date())
    except (TypeError, ValueError, OverflowError, OSError):
        return "the date Stripe gives"
