"""What is left of an order's prepayments: invoiced before shipping, not yet used or refunded."""

from decimal import Decimal

from django.db.models import Q, Sum

from ..models import Document, DocumentKind

ZERO = Decimal("0")


def prepayment_balance(*, order_id: int) -> Decimal:
    """Σ prepayment invoices − Σ prepayments deducted by shipment invoices − Σ credit notes that
    correct a prepayment invoice: money taken before shipping that no shipment used and no refund
    gave back yet. One query."""
    sums = Document.objects.filter(order_id=order_id).aggregate(
        prepaid=Sum("total_gross", filter=Q(kind=DocumentKind.PREPAYMENT)),
        used=Sum("prepayment_deducted", filter=Q(kind=DocumentKind.INVOICE)),
        refunded=Sum(
            "total_gross", filter=Q(kind=DocumentKind.CREDIT_NOTE, refers_to__kind=DocumentKind.PREPAYMENT)
        ),
    )
    return (sums["prepaid"] or ZERO) - (sums["used"] or ZERO) - (sums["refunded"] or ZERO)
