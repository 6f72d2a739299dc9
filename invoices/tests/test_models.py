"""The document table's invariants: immutable once issued, and what the database refuses."""

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from invoices.models import Document, DocumentImmutable, DocumentKind, DocumentSeries, document_number
from orders.tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _document(order, **overrides) -> Document:
    fields = dict(
        kind=DocumentKind.PREPAYMENT,
        series=DocumentSeries.INVOICE,
        number="2026-000001",
        year=2026,
        sequence=1,
        order=order,
        issued_at=timezone.now(),
        tax_point=timezone.localdate(),
        language="en",
        currency="EUR",
        seller={"name": "Seller", "address": [], "vat_id": "DE123456789"},
        buyer={"name": "Ann"},
        lines=[],
        totals=[],
        total_gross=Decimal("10.00"),
        amount_payable=Decimal("10.00"),
    )
    fields.update(overrides)
    return Document.objects.create(**fields)


def test_numbers_are_per_series_and_year():
    assert document_number(series=DocumentSeries.INVOICE, year=2026, sequence=123) == "2026-000123"
    assert document_number(series=DocumentSeries.CREDIT_NOTE, year=2026, sequence=7) == "CN-2026-000007"


def test_an_issued_document_refuses_a_change_and_keeps_its_row(settings, tmp_path):
    # Given an issued document
    settings.SHOP_DOCUMENTS_ROOT = str(tmp_path)
    document = _document(OrderFactory())
    # When its amount is changed and saved, then it is refused and the row is as issued
    document.total_gross = Decimal("9.00")
    document.amount_payable = Decimal("9.00")
    with pytest.raises(DocumentImmutable, match="amount_payable, total_gross cannot change"):
        document.save()
    assert Document.objects.get().total_gross == Decimal("10.00")
    # Nor through the queryset, nor by deleting
    with pytest.raises(DocumentImmutable):
        Document.objects.filter(pk=document.pk).update(lines=[{"gross": "1"}])
    with pytest.raises(DocumentImmutable):
        Document.objects.get().delete()
    with pytest.raises(DocumentImmutable):
        Document.objects.all().delete()
    assert Document.objects.get().lines == []


def test_the_pdf_is_filled_in_once(settings, tmp_path):
    settings.SHOP_DOCUMENTS_ROOT = str(tmp_path)
    document = _document(OrderFactory())
    # When the PDF is stored the first time, it is kept
    document.pdf.save("2026-000001.pdf", ContentFile(b"%PDF-1"), save=False)
    document.pdf_sha256 = "a" * 64
    document.save()
    stored = Document.objects.get()
    assert stored.pdf.name.endswith("2026-000001.pdf") and stored.pdf_sha256 == "a" * 64
    # A second PDF is refused
    stored.pdf_sha256 = "b" * 64
    with pytest.raises(DocumentImmutable, match="already has its PDF"):
        stored.save()
    # And the queryset fills only documents without one
    assert Document.objects.filter(pk=document.pk).update(pdf_sha256="c" * 64) == 0
    assert Document.objects.get().pdf_sha256 == "a" * 64


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount_payable": Decimal("9.00")},  # payable is not total less prepayment
        {"total_gross": Decimal("-1.00"), "amount_payable": Decimal("-1.00")},
        {"kind": DocumentKind.INVOICE},  # an invoice without its shipment
        {"kind": DocumentKind.CREDIT_NOTE},  # a credit note in the invoice series
        {"sequence": 0},
    ],
)
def test_the_database_refuses_a_broken_document(overrides):
    order = OrderFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        _document(order, **overrides)
    assert not Document.objects.exists()


def test_one_number_once():
    order = OrderFactory()
    _document(order)
    with pytest.raises(IntegrityError), transaction.atomic():
        _document(order, sequence=2)  # same number
    assert Document.objects.count() == 1
