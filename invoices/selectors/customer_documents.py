"""The documents of an order as its customer and staff list them."""

from ..models import Document


def documents_for_order(*, order_id: int) -> list[Document]:
    """An order's invoices, prepayment invoices and credit notes, oldest first; one query whatever
    their number (the snapshot's bulky JSON is left in the database)."""
    return list(
        Document.objects.filter(order_id=order_id)
        .only("pk", "kind", "number", "issued_at", "amount_payable", "currency", "order_id")
        .order_by("issued_at", "pk")
    )
