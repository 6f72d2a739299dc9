"""Documents in emails: the invoice PDF on the shipment email, the prepayment invoice on the order
confirmation, a credit note's own email with its PDF, and a prepayment invoice's own email when the
money came after the confirmation had gone (registered with the outbox in InvoicesConfig.ready).

The outbox (notifications.emails) imports nothing of invoices: it is handed these functions. A PDF
the task has not stored yet is rendered and stored on the spot (`document_pdf_bytes`), so the email
never waits for the task; if even that fails, the shipment email goes without it (logged), since
the customer can download the document from the order page, while a credit note's own email is
retried like any email that cannot be built.
"""

import logging

from notifications.emails import PermanentEmailError, absolute_url
from notifications.models import Notification, NotificationKind, NotificationStatus
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


def document_attachments(notification: Notification) -> list[tuple[str, bytes, str]]:
    """credit_note_issued, invoice_issued: the document itself (a failure retries the email: it is
    its point)."""
    document, content = document_pdf_bytes(document_id=notification.context.get("document_id"))
    return [_attachment(document, content)]


def credit_note_issued_context(context: dict) -> dict:
    return _document_context(context, kind=DocumentKind.CREDIT_NOTE)


def invoice_issued_context(context: dict) -> dict:
    return _document_context(context, kind=DocumentKind.PREPAYMENT)


def _document_context(context: dict, *, kind: str) -> dict:
    document = (
        Document.objects.filter(pk=context.get("document_id"), kind=kind)
        .select_related("order", "refers_to")
        .first()
    )
    if document is None:
        raise PermanentEmailError(f"{kind} {context.get('document_id')} does not exist")
    return {
        "document": document,
        "order": document.order,
        "corrects": document.refers_to,
        "order_url": absolute_url(order_access_path(document.order.number)),
    }


def document_email_create(*, document_id: int, kind: str, **_) -> None:
    """Receiver of invoices.events.document_issued: the document's own email, an outbox row written
    in the transaction that issued it (sent after it commits, once: its dedupe key is the document).

    A credit note always has one. A prepayment invoice has one when the order confirmation cannot
    carry it: the money came later (a payment link, a charge the bank took when stock arrived) and
    the confirmation is no longer waiting to be sent. A confirmation still pending (written in the
    same checkout transaction) attaches it when it is built; one being sent right now may already
    have been built, so only "pending" counts: a customer may get the PDF twice, never not at all.
    """
    if kind == DocumentKind.CREDIT_NOTE:
        email_kind = NotificationKind.CREDIT_NOTE_ISSUED
    elif kind == DocumentKind.PREPAYMENT:
        email_kind = NotificationKind.INVOICE_ISSUED
    else:
        return
    document = Document.objects.select_related("order").get(pk=document_id)
    if (
        email_kind == NotificationKind.INVOICE_ISSUED
        and Notification.objects.filter(
            dedupe_key=f"order-confirmed:{document.order_id}", status=NotificationStatus.PENDING
        ).exists()
    ):
        return
    notification_create(
        kind=email_kind,
        recipient=document.order.email,
        dedupe_key=f"{email_kind}:{document.pk}",
        context={"document_id": document.pk, "order_id": document.order_id},
        language=document.language,
    )


def register() -> None:
    from notifications.emails import register_attachments, register_builder

    register_builder(NotificationKind.CREDIT_NOTE_ISSUED, credit_note_issued_context, sample=_sample)
    register_attachments(NotificationKind.CREDIT_NOTE_ISSUED, document_attachments)
    register_builder(NotificationKind.INVOICE_ISSUED, invoice_issued_context, sample=_prepayment_sample)
    register_attachments(NotificationKind.INVOICE_ISSUED, document_attachments)
    register_attachments(NotificationKind.ORDER_SHIPPED, shipment_invoice_attachments)
    register_attachments(NotificationKind.ORDER_CONFIRMED, prepayment_invoice_attachments)


def _sample() -> dict | None:
    """The admin preview's row context (ids, as the outbox stores it): the latest credit note."""
    return _latest(DocumentKind.CREDIT_NOTE)


def _prepayment_sample() -> dict | None:
    """The admin preview's row context: the latest prepayment invoice."""
    return _latest(DocumentKind.PREPAYMENT)


def _latest(kind: str) -> dict | None:
    row = Document.objects.filter(kind=kind).order_by("-pk").values("pk", "order_id").first()
    return None if row is None else {"document_id": row["pk"], "order_id": row["order_id"]}
