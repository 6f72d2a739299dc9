"""Payment records: every gateway call is a PaymentTransaction; voids and the payment's status."""

import logging
from decimal import Decimal

from django.db import transaction

from ..events import payment_refunded
from ..locks import payment_lock
from ..models import (
    Payment,
    PaymentStatus,
    PaymentTransaction,
    TransactionKind,
)
from ..payments import gateway_get

logger = logging.getLogger(__name__)


def payment_transaction_record(
    payment: Payment,
    kind: str,
    amount: Decimal,
    success: bool,
    reference: str,
    message: str,
    user_id: int | None = None,
    shipment=None,
) -> None:
    """Record one call to a payment gateway (any gateway, Stripe included): the one place that makes
    PaymentTransaction rows (`payment_transaction_build`; checkout inserts the authorize row it builds
    together with its order), the record `payments_reconcile` checks the payments against."""
    payment_transaction_build(payment, kind, amount, success, reference, message, user_id, shipment).save(
        force_insert=True
    )


def payment_transaction_build(
    payment: Payment,
    kind: str,
    amount: Decimal,
    success: bool,
    reference: str,
    message: str,
    user_id: int | None = None,
    shipment=None,
) -> PaymentTransaction:
    """The row `payment_transaction_record` writes, not saved yet."""
    return PaymentTransaction(
        payment=payment,
        kind=kind,
        amount=amount,
        success=success,
        gateway_reference=(reference or "")[:100],
        message=(message or "")[:255],
        shipment=shipment,
        user_id=user_id,
    )


def _record_transaction(payment: Payment, kind: str, amount: Decimal, result, *, shipment=None, user_id=None):
    """`payment_transaction_record` for a GatewayResult (the test card and invoice gateways)."""
    payment_transaction_record(
        payment, kind, amount, result.success, result.reference, result.message, user_id, shipment
    )


# --- payments --------------------------------------------------------------------------------


@transaction.atomic
def _payment_void(
    *,
    payment_id: int,
    amount: Decimal,
    note: str = "",
    user_id: int | None = None,
    cancelled: dict[int, int] | None = None,
) -> Decimal:
    """Release `amount` of the authorization; refund whatever part of it was already captured.
    `cancelled` ({line id: units}): the cancellation that caused it, told with a refund."""
    payment = payment_lock(payment_id)
    gateway = gateway_get(payment.gateway)
    to_void = min(amount, payment.amount_open)
    to_refund = min(amount - to_void, payment.amount_captured - payment.amount_refunded)
    if to_void > 0:
        result = gateway.void(reference=payment.reference, amount=to_void)
        _record_transaction(payment, TransactionKind.VOID, to_void, result, user_id=user_id)
        if result.success:
            payment.amount_voided += to_void
    if to_refund > 0:
        result = gateway.refund(reference=payment.reference, amount=to_refund)
        _record_transaction(payment, TransactionKind.REFUND, to_refund, result, user_id=user_id)
        if result.success:
            payment.amount_refunded += to_refund
            payment_refunded.send(order_id=payment.order_id, amount=to_refund, cancelled=cancelled)
    payment.status = _payment_status(payment)
    payment.save()
    return to_void + to_refund


def _payment_status(payment: Payment) -> str:
    if payment.amount_open == 0 and payment.amount_captured == 0:
        return PaymentStatus.VOIDED
    if payment.amount_open == 0:
        return PaymentStatus.CAPTURED
    if payment.amount_captured > 0:
        return PaymentStatus.PARTIALLY_CAPTURED
    return PaymentStatus.AUTHORIZED
