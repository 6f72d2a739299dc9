"""Invoices and credit notes (docs/tax.md, "Invoices and credit notes").

A `Document` is the legal record of money that moved: an invoice per shipment, a prepayment invoice
for money taken before anything shipped (pay now, a deposit), a credit note per refund. It is a
snapshot (seller, buyer, lines, VAT per rate) written in the same transaction as the shipment or
the payment, numbered from a per-year counter row (`DocumentSequence`), and never changed after:
only its PDF is filled in once, after commit. The database refuses the invariants it can check.
"""

import os
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    PREPAYMENT = "prepayment", _("Prepayment invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class DocumentSeries(models.TextChoices):
    """One gap-free sequence per series and year. Invoices and prepayment invoices share the
    invoice series ("2026-000123"); credit notes have their own ("CN-2026-000007")."""

    INVOICE = "invoice", pgettext_lazy("document series", "Invoices")
    CREDIT_NOTE = "credit_note", pgettext_lazy("document series", "Credit notes")


SERIES_OF_KIND = {
    DocumentKind.INVOICE: DocumentSeries.INVOICE,
    DocumentKind.PREPAYMENT: DocumentSeries.INVOICE,
    DocumentKind.CREDIT_NOTE: DocumentSeries.CREDIT_NOTE,
}
NUMBER_PREFIX = {DocumentSeries.INVOICE: "", DocumentSeries.CREDIT_NOTE: "CN-"}


def document_number(*, series: str, year: int, sequence: int) -> str:
    """The printed number: "2026-000123", "CN-2026-000007"."""
    return f"{NUMBER_PREFIX[series]}{year}-{sequence:06d}"


class DocumentImmutable(Exception):
    """An issued document was about to change (only its PDF may be filled in, once)."""


# Fields a service may set on an issued document, once each (the rendered PDF).
FILLABLE_ONCE = frozenset({"pdf", "pdf_sha256"})


class DocumentQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if set(kwargs) - FILLABLE_ONCE:
            raise DocumentImmutable(f"Issued documents cannot change: {sorted(set(kwargs) - FILLABLE_ONCE)}.")
        # Fill the PDF only where none was stored yet.
        return models.QuerySet.update(self.filter(Q(pdf="") | Q(pdf__isnull=True)), **kwargs)

    def delete(self):
        raise DocumentImmutable("Issued documents are never deleted.")


class DocumentsStorage(FileSystemStorage):
    """Where the PDFs are kept: SHOP_DOCUMENTS_ROOT, read at each use (tests move it), private:
    no URL, the download views serve them."""

    @property
    def base_location(self):
        return settings.SHOP_DOCUMENTS_ROOT

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None


def documents_storage() -> FileSystemStorage:
    return DocumentsStorage()


class Document(models.Model):
    kind = models.CharField(max_length=12, choices=DocumentKind.choices)
    series = models.CharField(max_length=12, choices=DocumentSeries.choices)
    number = models.CharField(max_length=20)  # unique: Meta.constraints
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="documents")
    shipment = models.ForeignKey(
        "orders.Shipment", null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    refers_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referred_by",
        help_text="A credit note: the invoice it corrects. An invoice: the prepayment invoice it deducts.",
    )
    issued_at = models.DateTimeField()
    tax_point = models.DateField(help_text="The date of the supply or of the payment: it picks the VAT rate.")
    language = models.CharField(max_length=10, blank=True)
    currency = models.CharField(max_length=3)
    seller = models.JSONField(help_text='{"name", "address": [lines], "vat_id"}')
    buyer = models.JSONField(
        help_text='{"name", "company", "address": [lines], "country", "vat_number", "email"}'
    )
    reverse_charge = models.BooleanField(default=False)
    lines = models.JSONField(
        help_text='[{"description", "sku", "quantity", "unit_gross", "gross", "rate", "tax_class"}]; '
        "shipping is a line (sku empty)."
    )
    totals = models.JSONField(help_text='Per rate: [{"rate", "net", "vat", "gross"}] (strings, 2 places).')
    total_gross = models.DecimalField(max_digits=12, decimal_places=2)
    prepayment_deducted = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    amount_payable = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="An invoice: total less the prepayment deducted. A credit note: the amount refunded.",
    )
    notes = models.JSONField(
        default=list, blank=True, help_text="Printed notes, e.g. the reverse-charge wording."
    )
    pdf = models.FileField(upload_to="%Y/", storage=documents_storage, null=True, blank=True, max_length=200)
    pdf_sha256 = models.CharField(max_length=64, blank=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-pk"]
        indexes = [models.Index(fields=["order", "kind"], name="document_order_kind")]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="document_number_unique"),
            models.UniqueConstraint(fields=["series", "year", "sequence"], name="document_sequence_unique"),
            models.UniqueConstraint(
                fields=["shipment"], condition=Q(kind="invoice"), name="document_one_invoice_per_shipment"
            ),
            models.CheckConstraint(condition=Q(sequence__gt=0), name="document_sequence_positive"),
            models.CheckConstraint(
                condition=Q(total_gross__gte=0, prepayment_deducted__gte=0, amount_payable__gte=0),
                name="document_amounts_not_negative",
            ),
            models.CheckConstraint(
                # Rounded: SQLite subtracts decimals as floats (PostgreSQL's numeric is exact anyway).
                condition=Q(amount_payable=Round(F("total_gross") - F("prepayment_deducted"), 2)),
                name="document_payable_is_total_less_prepayment",
            ),
            models.CheckConstraint(
                condition=(Q(kind="invoice", series="invoice") & Q(shipment__isnull=False))
                | (Q(kind="prepayment", series="invoice") & Q(shipment__isnull=True, prepayment_deducted=0))
                | (
                    Q(kind="credit_note", series="credit_note")
                    & Q(shipment__isnull=True, prepayment_deducted=0)
                ),
                name="document_kind_fits",
            ),
            models.CheckConstraint(
                condition=~Q(kind="prepayment") | Q(refers_to__isnull=True),
                name="document_prepayment_refers_to_nothing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def save(self, *args, **kwargs):
        """Insert once; afterwards only the PDF may be filled in, once (DocumentImmutable)."""
        if self._state.adding:
            return super().save(*args, **kwargs)
        stored = type(self).objects.filter(pk=self.pk).values().first()
        if stored is None:
            raise DocumentImmutable("Issued documents are never deleted or replaced.")
        changed = {
            field.attname
            for field in self._meta.concrete_fields
            if not _same(field, getattr(self, field.attname), stored[field.attname])
        }
        if changed - FILLABLE_ONCE:
            raise DocumentImmutable(
                f"{self.number} is issued: {', '.join(sorted(changed - FILLABLE_ONCE))} cannot change."
            )
        if changed and (stored["pdf"] or stored["pdf_sha256"]):
            raise DocumentImmutable(f"{self.number} already has its PDF.")
        if not changed:
            return None
        kwargs["update_fields"] = sorted(changed)
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise DocumentImmutable("Issued documents are never deleted.")

    @property
    def is_credit_note(self) -> bool:
        return self.kind == DocumentKind.CREDIT_NOTE


def _same(field, value, stored) -> bool:
    """Whether the instance's `value` is what the database row holds (`stored`, from `.values()`)."""
    if isinstance(field, models.FileField):
        return (getattr(value, "name", value) or "") == (stored or "")
    if isinstance(field, models.DecimalField) and value is not None and stored is not None:
        return Decimal(value) == Decimal(stored)
    if isinstance(field, models.DateTimeField | models.DateField) and isinstance(value, str):
        return value == str(stored)
    return value == stored


class DocumentSequence(models.Model):
    """The last number issued per series and year: locked (`invoices.locks.document_sequence_lock`)
    by the transaction that issues the next one, so numbers are consecutive and a rolled-back
    shipment or refund gives its number back."""

    series = models.CharField(max_length=12, choices=DocumentSeries.choices)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["series", "year"]
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="documentsequence_one_per_year"),
        ]

    def __str__(self) -> str:
        return f"{self.series} {self.year}: {self.last}"
