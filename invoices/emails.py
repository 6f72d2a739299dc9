"""Documents in emails: the invoice PDF on the shipment email, the prepayment invoice on the order
confirmation, a credit note's own email with its PDF (registered with the outbox in InvoicesConfig.ready).

The outbox (notifications.emails) imports nothing of invoices: it is handed these functions. A PDF
the task has not stored yet is rendered and stored on the spot (`document_pdf_bytes`), so the email
never waits for the task; if even that fails, the shipment email goes without it (logged), since
the customer can download the document from the order page, while a credit note's own email is
retried like any email that cannot be built.
"""

import logging

from notifications.emails import PermanentEmailError, absolute_url
from notifications.models import Notification, NotificationKind
from notifications.services.outbox import notification_create
from orders.tokens import order_access_path

from .models import Document, DocumentKind
from .services.pdf import document_pdf_bytes

logger = logging.getLogger(__name__)

PDF = "application/pdf"


def _attachment(document: Document, content: bytes) -> tuple[str, bytes, str]:
    return (f"{document.number}.pdf", content, PDF)


def _pdfs(documents: list[int], *, notification: Notification) -> list[tuple[str, bytes, str]]:
    files = []
    for document_id in documents:
        try:
            document, content = document_pdf_bytes(document_id=document_id)
        except Exception:  # noqa: BLE001 - the email goes; the PDF stays on the order page and the sweep
            logger.exception("notification %s: document %s not attached", notification.pk, document_id)
            continue
        files.append(_attachment(document, content))
    return files


def shipment_invoice_attachments(notification: Notification) -> list[tuple[str, bytes, str]]:
    """order_shipped: the invoice of that shipment."""
    ids = Document.objects.filter(
        kind=DocumentKind.INVOICE, shipment_id=notification.context.get("shipment_id")
    ).values_list("pk", flat=True)
    return _pdfs(list(ids), notification=notification)


def prepayment_invoice_attachments(notification: Notification) -> list[tuple[str, bytes, str]]:
    """order_confirmed: the prepayment invoices of money taken at checkout (pay now, a deposit)."""
    ids = (
        Document.objects.filter(kind=DocumentKind.PREPAYMENT, order_id=notification.context.get("order_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return _pdfs(list(ids), notification=notification)


def credit_note_attachments(notification: Notification) -> list[tuple[str, bytes, str]]:
    """credit_note_issued: the credit note itself (a failure retries the email: it is its point)."""
    document, content = document_pdf_bytes(document_id=notification.context.get("document_id"))
    return [_attachment(document, content)]


def credit_note_issued_context(context: dict) -> dict:
    document = (
        Document.objects.filter(pk=context.get("document_id"), kind=DocumentKind.CREDIT_NOTE)
        .select_related("order", "refers_to")
        .first()
    )
    if document is None:
        raise PermanentEmailError(f"credit note {context.get('document_id')} does not exist")
    return {
        "document": document,
        "order": document.order,
        "corrects": document.refers_to,
        "order_url": absolute_url(order_access_path(document.order.number)),
    }


def credit_note_email_create(*, document_id: int, kind: str, **_) -> None:
    """Receiver of invoices.events.document_issued: a credit note's email, an outbox row written in
    the refund's transaction (sent after it commits, once: its dedupe key is the document)."""
    if kind != DocumentKind.CREDIT_NOTE:
        return
    document = Document.objects.select_related("order").get(pk=document_id)
    notification_create(
        kind=NotificationKind.CREDIT_NOTE_ISSUED,
        recipient=document.order.email,
        dedupe_key=f"credit_note_issued:{document.pk}",
        context={"document_id": document.pk, "order_id": document.order_id},
        language=document.language,
    )


def register() -> None:
    from notifications.emails import register_attachments, register_builder

    register_builder(NotificationKind.CREDIT_NOTE_ISSUED, credit_note_issued_context, sample=_sample)
    register_attachments(NotificationKind.CREDIT_NOTE_ISSUED, credit_note_attachments)
    register_attachments(NotificationKind.ORDER_SHIPPED, shipment_invoice_attachments)
    register_attachments(NotificationKind.ORDER_CONFIRMED, prepayment_invoice_attachments)


def _sample() -> dict | None:
    """The admin preview's row context (ids, as the outbox stores it): the latest credit note."""
    row = (
        Document.objects.filter(kind=DocumentKind.CREDIT_NOTE)
        .order_by("-pk")
        .values("pk", "order_id")
        .first()
    )
    return None if row is None else {"document_id": row["pk"], "order_id": row["order_id"]}
