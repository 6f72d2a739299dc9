"""A document for the customer whose order it belongs to: the page (HTML) and the PDF download.

Who may see it is decided exactly as for the order page (`orders.selectors.order_get_for_customer`):
the signed-in owner, or a visitor with the order's signed link (`?token=`); anyone else gets 404,
the same answer as for a document that does not exist.
"""

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from orders.selectors import order_get_for_customer
from shop.formatting import date_in_words

from .models import Document
from .rendering import document_html
from .selectors.customer_documents import documents_for_order
from .services.pdf import document_pdf_ensure


def _document_for_visitor(request: HttpRequest, document_id: int) -> tuple[Document, str]:
    document = (
        Document.objects.select_related("order", "order__payment", "refers_to").filter(pk=document_id).first()
    )
    if document is None:
        raise Http404("No such document.")
    token = request.GET.get("token") or ""
    order_get_for_customer(number=document.order.number, user=request.user, token=token)  # or Http404
    return document, token


def document_url(document_id: int, *, token: str = "", pdf: bool = False) -> str:
    url = reverse(
        "invoices:document_pdf" if pdf else "invoices:document", kwargs={"document_id": document_id}
    )
    return f"{url}?{urlencode({'token': token})}" if token else url


def order_documents_for_page(*, order_id: int, token: str) -> list[Document]:
    """The order page's list (templates/orders/detail.html): each document with its date in words
    and its two links, carrying the visitor's signed link when they came with one. One query."""
    documents = documents_for_order(order_id=order_id)
    for document in documents:
        document.issued_text = date_in_words(timezone.localtime(document.issued_at).date())
        document.page_url = document_url(document.pk, token=token)
        document.pdf_url = document_url(document.pk, token=token, pdf=True)
    return documents


@require_safe
def document_page(request: HttpRequest, document_id: int) -> HttpResponse:
    document, token = _document_for_visitor(request, document_id)
    order_page = reverse("orders:detail", kwargs={"number": document.order.number})
    html = document_html(
        document,
        pdf_url=document_url(document.pk, token=token, pdf=True),
        back_url=f"{order_page}?{urlencode({'token': token})}" if token else order_page,
    )
    response = HttpResponse(html)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def document_pdf_download(request: HttpRequest, document_id: int) -> FileResponse:
    document, _ = _document_for_visitor(request, document_id)
    document = document_pdf_ensure(document_id=document.pk)
    response = FileResponse(
        document.pdf.open("rb"),
        as_attachment=True,
        filename=f"{document.number}.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
