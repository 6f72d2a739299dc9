"""Suppliers, with a link to their open purchase orders."""

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from inventory.models import OPEN_PO_STATUSES, Supplier


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ["name", "contact_email", "lead_time", "open_purchase_orders"]
    search_fields = ["name", "contact_email"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _open_po_count=Count(
                    "purchase_orders", filter=Q(purchase_orders__status__in=OPEN_PO_STATUSES)
                )
            )
        )

    @admin.display(description="Lead time", ordering="lead_time_days")
    def lead_time(self, obj: Supplier) -> str:
        return f"{obj.lead_time_days} days"

    @admin.display(description="Open purchase orders", ordering="_open_po_count")
    def open_purchase_orders(self, obj: Supplier):
        if not obj._open_po_count:
            return "None"
        statuses = ",".join(OPEN_PO_STATUSES)
        url = reverse("admin:inventory_purchaseorder_changelist")
        return format_html(
            '<a href="{}?supplier__id__exact={}&amp;status__in={}">{}</a>',
            url,
            obj.pk,
            statuses,
            obj._open_po_count,
        )
