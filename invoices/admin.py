"""Documents in the admin: read-only (issued documents never change), searchable, with their PDF.

No add, change or delete: documents are issued by the shipment or refund they document
(invoices.services.issuing). Staff open a document's page (the snapshot as issued) and download its
PDF (rendered and stored on the spot if the task has not run yet), or view it as a page.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from orders.admin.base import ReadOnlyAdmin
from shop.formatting import datetime_in_words, money

from .models import Document
from .rendering import document_html
from .selectors.customer_documents import documents_for_order
from .services.pdf import document_pdf_ensure


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ["number", "kind", "issued", "order_link", "buyer_email", "total", "pdf_link"]
    list_filter = ["kind", "year"]
    search_fields = ["number", "order__number", "order__email"]
    list_select_related = ["order"]
    ordering = ["-issued_at", "-pk"]
    show_full_result_count = False
    fields = [
        "number",
        "kind",
        "issued",
        "tax_point",
        "order_link",
        "shipment",
        "refers_to",
        "language",
        "currency",
        "seller",
        "buyer",
        "reverse_charge",
        "lines",
        "totals",
        "total_gross",
        "prepayment_deducted",
        "amount_payable",
        "notes",
        "pdf_link",
        "pdf_sha256",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        # The list shows no snapshot: leave its JSON in the database.
        return super().get_queryset(request).defer("seller", "buyer", "lines", "totals", "notes")

    def get_urls(self):
        pdf = path(
            "<int:document_id>/pdf/",
            self.admin_site.admin_view(self.pdf_view),
            name="invoices_document_pdf",
        )
        page = path(
            "<int:document_id>/page/",
            self.admin_site.admin_view(self.page_view),
            name="invoices_document_page",
        )
        return [pdf, page, *super().get_urls()]

    def page_view(self, request, document_id: int) -> HttpResponse:
        """The document as its customer sees it (HTML, in its own language)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        document = (
            Document.objects.select_related("order__payment", "refers_to").filter(pk=document_id).first()
        )
        if document is None:
            raise Http404("No such document.")
        html = document_html(document, pdf_url=reverse("admin:invoices_document_pdf", args=[document.pk]))
        response = HttpResponse(html)
        response["Cache-Control"] = "private, no-store"
        return response

    def pdf_view(self, request, document_id: int) -> FileResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if not Document.objects.filter(pk=document_id).exists():
            raise Http404("No such document.")
        document = document_pdf_ensure(document_id=document_id)
        response = FileResponse(
            document.pdf.open("rb"),
            as_attachment=True,
            filename=f"{document.number}.pdf",
            content_type="application/pdf",
        )
        response["Cache-Control"] = "private, no-store"
        return response

    @admin.display(description="Issued", ordering="issued_at")
    def issued(self, obj: Document) -> str:
        return datetime_in_words(obj.issued_at)

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, obj: Document) -> str:
        url = reverse("admin:orders_order_change", args=[obj.order_id])
        return format_html('<a href="{}">{}</a>', url, obj.order.number)

    @admin.display(description="Customer email", ordering="order__email")
    def buyer_email(self, obj: Document) -> str:
        return obj.order.email

    @admin.display(description="Amount", ordering="amount_payable")
    def total(self, obj: Document) -> str:
        return money(obj.amount_payable, obj.currency, plain=True)

    @admin.display(description="PDF")
    def pdf_link(self, obj: Document) -> str:
        url = reverse("admin:invoices_document_pdf", args=[obj.pk])
        page = reverse("admin:invoices_document_page", args=[obj.pk])
        return format_html('<a href="{}">Download {}.pdf</a> · <a href="{}">View</a>', url, obj.number, page)


def order_documents_html(order_id: int) -> str:
    """The order's admin page: its documents, each a link to the document and its PDF (one query)."""
    documents = documents_for_order(order_id=order_id)
    if not documents:
        return "—"
    return format_html_join(
        "",
        '<div><a href="{}">{} {}</a> ({}, {}) · <a href="{}">PDF</a></div>',
        (
            (
                reverse("admin:invoices_document_change", args=[d.pk]),
                d.get_kind_display(),
                d.number,
                datetime_in_words(timezone.localtime(d.issued_at)),
                money(d.amount_payable, d.currency, plain=True),
                reverse("admin:invoices_document_pdf", args=[d.pk]),
            )
            for d in documents
        ),
    )
