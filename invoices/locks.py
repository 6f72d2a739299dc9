"""Every row lock invoices take (docs/concurrency.md).

The document counter is the last lock of a transaction that issues a document: the shipment or
refund has locked its order lines, the payment and its charges (orders.locks) before the hook that
issues the document runs. Holding it until the commit is what makes numbers gap-free: the next
transaction reads the counter only once this one committed (or rolled back, giving the number back).
"""

from django.db import transaction

from .models import DocumentSequence


def document_sequence_lock(*, series: str, year: int) -> DocumentSequence:
    """The (series, year) counter row, created if it is the year's first document, locked FOR NO KEY
    UPDATE (its number changes, never its key) until the caller's transaction ends (it must be
    inside `transaction.atomic()`).

    Two transactions issuing the year's first number at once: both insert with ON CONFLICT DO
    NOTHING, so the second waits on the unique index until the first commits and then inserts
    nothing; both then lock the one row, in turn.
    SQL: INSERT ... ON CONFLICT DO NOTHING; SELECT ... FROM invoices_documentsequence
         WHERE series = %s AND year = %s FOR NO KEY UPDATE
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("document_sequence_lock must be called inside transaction.atomic().")
    DocumentSequence.objects.bulk_create(
        [DocumentSequence(series=series, year=year, last=0)], ignore_conflicts=True
    )
    return DocumentSequence.objects.select_for_update(no_key=True).get(series=series, year=year)
