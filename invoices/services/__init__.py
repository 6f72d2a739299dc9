"""Writes of invoices (docs/tax.md, "Invoices and credit notes"): documents issued inside the
transaction of the shipment, payment or refund they document."""

from .issuing import credit_note_issue, prepayment_invoice_issue, shipment_invoice_issue
from .numbering import DocumentNumber, document_number_take

__all__ = [
    "DocumentNumber",
    "credit_note_issue",
    "document_number_take",
    "prepayment_invoice_issue",
    "shipment_invoice_issue",
]
