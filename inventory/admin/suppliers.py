"""Suppliers, with a link to their open purchase orders and their learned habits (on-time rate,
typical lateness, fill rate: inventory.selectors.suppliers, docs/inventory.md)."""

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from inventory.models import OPEN_PO_STATUSES, Supplier
from inventory.selectors.suppliers import supplier_habits, supplier_habits_in_words


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "contact_email",
        "lead_time",
        "open_purchase_orders",
        "on_time",
        "lateness",
        "fill",
    ]
    search_fields = ["name", "contact_email"]
    fields = ["name", "contact_email", "lead_time_days", "habits"]
    readonly_fields = ["habits"]

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

    def get_changelist_instance(self, request):
        """The page's suppliers get their habits in two queries, whatever the page size."""
        cl = super().get_changelist_instance(request)
        habits = supplier_habits([s.pk for s in cl.result_list])
        for supplier in cl.result_list:
            supplier._habits_words = supplier_habits_in_words(habits[supplier.pk])
        return cl

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

    @admin.display(description="On time")
    def on_time(self, obj: Supplier) -> str:
        return obj._habits_words.on_time

    @admin.display(description="Lateness")
    def lateness(self, obj: Supplier) -> str:
        return obj._habits_words.lateness

    @admin.display(description="Fill rate")
    def fill(self, obj: Supplier) -> str:
        return obj._habits_words.fill

    @admin.display(description="Habits, learned from its purchase orders")
    def habits(self, obj: Supplier):
        if obj.pk is None:
            return "Learned from its purchase orders once they arrive."
        words = supplier_habits_in_words(supplier_habits([obj.pk])[obj.pk])
        return format_html(
            '<ul class="supplier-habits"><li>{}</li><li>{}{}</li><li>Fill rate: {}</li><li>{}</li></ul>'
            '<p class="help">Each order counts once it has a receipt: how late its last delivery was against '
            "the date promised when it was placed; the fill rate counts the units of orders due by now.</p>",
            words.on_time,
            words.lateness[:1].upper() + words.lateness[1:],
            f" ({words.assumed})" if words.assumed else "",
            words.fill,
            words.sample,
        )
