"""The receivers of orders' hooks (connected in invoices.apps): each issues a document in the
transaction of the change, as webhooks write their events, so a document exists exactly when
its shipment, payment or refund committed, and a rollback takes its number back with it.

The rendering of the PDF is not done here: it runs after commit (B3's task, by document id)."""

from decimal import Decimal

from .services import credit_note_issue, prepayment_invoice_issue, shipment_invoice_issue


def order_shipped(*, order_id: int, shipment_id: int) -> None:
    shipment_invoice_issue(shipment_id=shipment_id)


def payment_captured(*, order_id: int, amount: Decimal) -> None:
    prepayment_invoice_issue(order_id=order_id, amount=amount)


def payment_refunded(*, order_id: int, amount: Decimal, cancelled: dict[int, int] | None = None) -> None:
    credit_note_issue(order_id=order_id, amount=amount, cancelled=cancelled)
