"""Celery tasks of invoices: thin wrappers that take ids and call a service (orders/tasks.py's rules).

Idempotent: a document whose PDF is stored is left as it is, so a redelivered message, a second
beat tick or the email that rendered it first change nothing.
"""

import logging

from celery import shared_task
from django.db import OperationalError

from .rendering import RenderError
from .services.pdf import document_pdf_ensure, documents_without_pdf

logger = logging.getLogger(__name__)

RETRYING = {
    "autoretry_for": (OperationalError, OSError, RenderError),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(ignore_result=True, **RETRYING)
def render_document_pdf(document_id: int) -> None:
    """Render and store a document's PDF once (after the issuing transaction committed)."""
    document_pdf_ensure(document_id=document_id)


@shared_task(ignore_result=True, **RETRYING)
def sweep_document_pdfs() -> int:
    """Beat: finish the documents whose PDF is missing (a lost message, a render that gave up)."""
    ids = documents_without_pdf()
    for document_id in ids:
        render_document_pdf.delay(document_id)
    return len(ids)


def document_pdf_enqueue(*, document_id: int, **_) -> None:
    """Receiver of invoices.events.document_issued: the PDF is rendered once the issue commits."""
    render_document_pdf.delay_on_commit(document_id)
