"""A document's PDF, rendered once from its snapshot and kept (SHOP_DOCUMENTS_ROOT, <year>/<number>.pdf).

Rendering happens after the issuing transaction commits (invoices.tasks.render_document_pdf), or
on the spot when an email needs the file before the task has run. Whoever stores first wins: the
row takes a PDF only while it has none (`DocumentQuerySet.update`), a loser deletes its own file
and uses the stored one, so an issued PDF is never replaced.
"""

import hashlib
import logging
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from ..models import Document
from ..rendering import document_pdf

logger = logging.getLogger(__name__)


def document_pdf_name(document: Document) -> str:
    return f"{document.year}/{document.number}.pdf"


def document_pdf_ensure(*, document_id: int) -> Document:
    """The document with its PDF stored: rendered and stored now unless it already was."""
    document = Document.objects.select_related("order__payment", "refers_to").get(pk=document_id)
    if document.pdf:
        return document
    content = document_pdf(document)
    storage = document.pdf.storage
    name = storage.save(document_pdf_name(document), ContentFile(content))
    stored = Document.objects.filter(pk=document.pk).update(
        pdf=name, pdf_sha256=hashlib.sha256(content).hexdigest()
    )
    if not stored:  # another rendering stored its file first: keep that one
        storage.delete(name)
        logger.info("document %s: a PDF was stored meanwhile; discarded this rendering", document.number)
    document.refresh_from_db(fields=["pdf", "pdf_sha256"])
    return document


def document_pdf_bytes(*, document_id: int) -> tuple[Document, bytes]:
    """(the document, its stored PDF's bytes), rendering and storing it first if need be."""
    document = document_pdf_ensure(document_id=document_id)
    with document.pdf.open("rb") as stored:
        return document, stored.read()


def documents_without_pdf(*, older_than: timedelta = timedelta(minutes=1), limit: int = 200) -> list[int]:
    """Ids of documents issued over `older_than` ago whose PDF is still missing (a lost task, a
    render that failed), oldest first; younger ones are left to their own task."""
    missing = Document.objects.filter(pdf__in=["", None], issued_at__lt=timezone.now() - older_than)
    return list(missing.order_by("pk").values_list("pk", flat=True)[:limit])
