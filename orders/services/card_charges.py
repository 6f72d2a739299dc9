"""Off-session card charges: a waiting line is charged when stock is set aside for it.

*Pay when it ships* (docs/payments.md): when the allocation pass sets units aside for a line of a
card order, the transaction that brings the order up to date also writes one `CardCharge` per
line (status `pending`, key `alloc:<line>:<pass>`), and its commit queues `card_charge_send` for
them. That call holds the units' price on the saved card (an authorization, captured when the
parcel ships). Why at allocation and not at shipment: a card that fails is found while the stock
can still go to the next customer, instead of at the packing table.

A charge the bank refuses, or for which it asks the customer to confirm (3-D Secure), keeps its
stock for PAYMENT_GRACE_DAYS: the customer is emailed a link to pay (orders.views.card_payment);
then the stock goes to the next customer in line (`card_grace_expire`).

The sweep (`card_charges_sweep`, beat) sends what a lost message left pending. A charge is
sent at most once at a time (its row lock) and carries its key as Stripe's idempotency key, so a
charge sent twice (a worker killed after Stripe answered, before the commit) is one charge.
"""

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.models import NotificationKind
from notifications.services.outbox import notification_create

from .. import stripe_api
from ..events import card_charges_created, payment_captured
from ..locks import card_charge_lock, payment_lock
from ..models import (
    CardCharge,
    ChargePurpose,
    ChargeStatus,
    OrderEvent,
    OrderEventKind,
    OrderLine,
    PaymentPlan,
    TransactionKind,
)
from ..stripe_api import StripeDeclined, StripeUnavailable, to_minor
from .cards import CARD, waiting_reserve
from .charges import _payment_status
from .charges import payment_transaction_record as _transaction

logger = logging.getLogger(__name__)


def card_charges_for_allocations(*, takes: dict[int, int], run_id: str) -> list[int]:
    """Pending charges for the units a pass set aside on card orders paid when they ship; their ids.

    Inside the pass's follow-up transaction: two queries whatever the number of lines. The units
    just set aside are the last allocated ones of the line (units ship in order), so their price
    is `price_of_units(shipped + allocated - take, take)`, the price the parcel will capture.
    """
    if not takes:
        return []
    lines = OrderLine.objects.filter(
        pk__in=list(takes),
        order__payment__gateway=CARD,
        order__payment__plan__in=[PaymentPlan.SHIP, PaymentPlan.DEPOSIT],
    ).select_related("order__payment")
    rows = []
    for line in lines:
        take = min(takes[line.pk], line.quantity_allocated)
        if take <= 0:
            continue
        start = line.quantity_shipped + line.quantity_allocated - take
        amount = line.price_of_units(start, take)
        payment = line.order.payment
        if payment.plan == PaymentPlan.DEPOSIT:
            # The balance: the deposit these units carried while they waited was paid at checkout.
            before = waiting_reserve(
                line, payment.plan, payment.deposit_percent, waiting=line.quantity_backordered + take
            )
            amount -= before - waiting_reserve(line, payment.plan, payment.deposit_percent)
        if amount <= 0:
            continue
        rows.append(
            CardCharge(
                payment=line.order.payment,
                order_line=line,
                purpose=ChargePurpose.ALLOCATION,
                key=f"alloc:{line.pk}:{run_id}",
                units=take,
                amount=amount,
            )
        )
    if not rows:
        return []
    CardCharge.objects.bulk_create(rows, ignore_conflicts=True)
    return list(
        CardCharge.objects.filter(key__in=[r.key for r in rows], status=ChargeStatus.PENDING).values_list(
            "pk", flat=True
        )
    )


@transaction.atomic
def card_charge_send(charge_id: int) -> str:
    """Send one pending charge to Stripe and record the answer: 'authorized', 'failed',
    'requires_action', 'skipped' (not pending any more, or nothing left to pay for).
    Raises StripeUnavailable (the task retries; the row stays pending)."""
    row = CardCharge.objects.filter(pk=charge_id).values("payment_id").first()
    if row is None:
        return "skipped"
    payment = payment_lock(row["payment_id"])  # the lock order: the payment, then its charges
    charge = card_charge_lock(charge_id)
    if charge is None or charge.status != ChargeStatus.PENDING:
        return "skipped"
    line = charge.order_line
    if line is not None and line.quantity_allocated == 0:
        # Shipped by a parcel that charged it, or cancelled, before this was sent.
        charge.status = ChargeStatus.RELEASED
        charge.amount_released = charge.amount
        charge.save(update_fields=["status", "amount_released", "updated_at"])
        return "skipped"
    order = payment.order
    charge.attempts += 1
    try:
        intent = stripe_api.payment_intent_create(
            amount=to_minor(charge.amount, payment.currency),
            currency=payment.currency,
            customer=payment.reference,
            payment_method=payment.stripe_payment_method,
            capture_manual=charge.capture_manual,
            off_session=True,
            key=charge.key,
            metadata={"order": order.number, "charge": charge.key},
        )
    except StripeDeclined as exc:
        return _failed(charge, payment, code=exc.code, message=exc.message, intent_id=exc.intent_id)
    except StripeUnavailable:
        CardCharge.objects.filter(pk=charge.pk).update(attempts=charge.attempts)
        raise
    charge.stripe_id = intent.id
    if intent.authorized:
        card_charge_authorized(charge=charge, payment=payment, intent=intent)
        return "authorized"
    status = "requires_action" if intent.needs_action else "failed"
    return _failed(
        charge,
        payment,
        code=intent.error_code or ("authentication_required" if intent.needs_action else "card_declined"),
        message=intent.error_message or "",
        intent_id=intent.id,
        status=status,
    )


def card_charge_authorized(
    *, charge: CardCharge, payment, intent, message: str = "held when stock was set aside"
) -> None:
    """Record Stripe's yes for `charge` (the caller holds the payment's and the charge's locks): the
    charge authorized (or captured), a fresh hold period, the grace over; the payment's sums and a
    gateway call. Used when it is sent, and when the customer pays on the page (card_payment)."""
    now = timezone.now()
    captured = intent.status == "succeeded"
    charge.status = ChargeStatus.CAPTURED if captured else ChargeStatus.AUTHORIZED
    charge.amount_captured = charge.amount if captured else Decimal("0")
    charge.authorized_at = now
    charge.expires_at = now + timedelta(days=settings.PAYMENT_AUTHORIZATION_DAYS)
    charge.failure_code = charge.failure_message = ""
    charge.grace_ends_at = None
    charge.save()
    payment.amount_authorized += charge.amount
    payment.amount_captured += charge.amount_captured
    payment.status = _payment_status(payment)
    payment.save()
    _transaction(payment, TransactionKind.AUTHORIZE, charge.amount, True, intent.id, message)
    if charge.amount_captured:
        # Charged at once (not a hold): paid before it ships (a prepayment invoice, invoices.apps).
        payment_captured.send(order_id=payment.order_id, amount=charge.amount_captured)


def _failed(charge, payment, *, code, message, intent_id, status="failed") -> str:
    """The bank refused, or asks the customer: keep the stock for the grace period and ask them."""
    now = timezone.now()
    charge.status = ChargeStatus.REQUIRES_ACTION if status == "requires_action" else ChargeStatus.FAILED
    charge.stripe_id = intent_id or charge.stripe_id
    charge.failure_code = (code or "")[:60]
    charge.failure_message = (message or "The card was declined.")[:255]
    charge.grace_ends_at = now + timedelta(days=settings.PAYMENT_GRACE_DAYS)
    charge.save()
    _transaction(
        payment, TransactionKind.AUTHORIZE, charge.amount, False, charge.stripe_id, charge.failure_message
    )
    order = payment.order
    OrderEvent.objects.create(
        order=order,
        kind=OrderEventKind.NOTE,
        message=(
            f"The card payment for {charge.units} × {charge.order_line.product_name if charge.order_line else 'items'} "
            f"did not go through ({charge.failure_message}); the customer was asked to pay."
        )[:500],
        data={"card_charge": charge.pk},
        visible_to_customer=False,
    )
    notification_create(
        kind=NotificationKind.CARD_PAYMENT_NEEDED,
        recipient=order.email,
        dedupe_key=f"card-payment-needed:{charge.pk}",
        language=order.language,
        context={"order_id": order.pk, "charge_id": charge.pk},
    )
    return status


def card_charges_announce(charge_ids: list[int]) -> None:
    """Announce new pending charges (inside the transaction that wrote them): the receiver queues
    their sending once it commits (orders.apps)."""
    if charge_ids:
        card_charges_created.send(charge_ids=list(charge_ids))


def card_charges_pending(*, older_than: timedelta, limit: int = 500) -> list[int]:
    """Pending charges a lost message left behind (the sweep)."""
    cutoff = timezone.now() - older_than
    return list(
        CardCharge.objects.filter(status=ChargeStatus.PENDING, created_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
