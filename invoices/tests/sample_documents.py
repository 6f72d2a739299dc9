"""Issued documents as tests need them: real rows with a realistic snapshot (no issuing service run)."""

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from invoices.models import SERIES_OF_KIND, Document, DocumentKind
from invoices.services.numbering import document_number_take
from orders.tests.factories import OrderFactory


def issued_document(*, order=None, kind: str = DocumentKind.INVOICE, shipment=None, **overrides) -> Document:
    """A document of `kind` for `order`: a mug at 19 % and shipping, €54.40 in all (as issuing writes it)."""
    order = order or OrderFactory()
    if kind == DocumentKind.INVOICE and shipment is None and "shipment" not in overrides:
        from orders.models import Shipment

        shipment = Shipment.objects.create(order=order, amount=Decimal("49.90"))
    series = SERIES_OF_KIND[kind]
    year = overrides.pop("year", 2026)
    with transaction.atomic():  # numbered from the counter, as issuing does: real issues come next
        taken = document_number_take(series=series, year=year)
    fields = dict(
        kind=kind,
        series=series,
        number=taken.number,
        year=year,
        sequence=taken.sequence,
        order=order,
        shipment=shipment if kind == DocumentKind.INVOICE else None,
        issued_at=timezone.make_aware(datetime(2026, 12, 1, 10, 30)),
        tax_point=date(2026, 12, 1),
        language="en",
        currency="EUR",
        seller={
            "name": "Backorder Shop GmbH",
            "address": ["Musterstraße 1", "10115 Berlin", "Germany"],
            "vat_id": "DE123456789",
        },
        buyer={
            "name": "Ann Example",
            "company": "",
            "address": ["Hauptstraße 5", "80331 München"],
            "country": "DE",
            "vat_number": "",
            "email": "ann@example.com",
        },
        lines=[
            {
                "description": "Enamel mug (Blue)",
                "sku": "MUG-BLUE",
                "quantity": 2,
                "unit_gross": "24.95",
                "gross": "49.90",
                "rate": "19.00",
                "tax_class": "standard",
            },
            {
                "description": "Shipping (Standard)",
                "sku": "",
                "quantity": 1,
                "unit_gross": "4.50",
                "gross": "4.50",
                "rate": "19.00",
                "tax_class": "standard",
            },
        ],
        totals=[{"rate": "19.00", "net": "45.71", "vat": "8.69", "gross": "54.40"}],
        total_gross=Decimal("54.40"),
        prepayment_deducted=Decimal("0"),
        amount_payable=Decimal("54.40"),
        notes=[],
    )
    fields.update(overrides)
    return Document.objects.create(**fields)
