"""Backorder policies: whether and how far a variant sells beyond stock, its lead time and discount."""

from django.contrib import admin

from inventory.conf import inventory_defaults
from inventory.console.permissions import can_view_stock
from inventory.console.queue import backorder_queue_link
from inventory.models import BackorderPolicy
from orders.models import OrderLine
from shop.formatting import units


@admin.register(BackorderPolicy)
class BackorderPolicyAdmin(admin.ModelAdmin):
    list_display = ["sku", "product", "mode", "limit", "lead_time", "discontinued", "discount"]
    list_filter = ["mode", "discontinued"]
    list_select_related = ["variant__product"]
    search_fields = ["variant__sku", "variant__product__name"]
    autocomplete_fields = ["variant"]
    fields = [
        "variant",
        "mode",
        "backorder_limit",
        "lead_time_days",
        "discontinued",
        "backorder_discount_percent",
        "low_stock_threshold",
        "payment_plan",
        "deposit_percent",
    ]
    # The change page links to the variant's backorder queue.
    change_form_template = "admin/inventory/backorder_queue_policy_change_form.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_waiting=OrderLine.objects.waiting_units_subquery("variant_id"))
        )

    def get_list_display(self, request):
        if can_view_stock(request.user):
            return [*self.list_display, "backorder_queue"]
        return self.list_display

    @admin.display(description="SKU", ordering="variant__sku")
    def sku(self, obj: BackorderPolicy) -> str:
        return obj.variant.sku

    @admin.display(description="Product", ordering="variant__product__name")
    def product(self, obj: BackorderPolicy) -> str:
        return str(obj.variant)

    @admin.display(description="Backorder limit", ordering="backorder_limit")
    def limit(self, obj: BackorderPolicy) -> str:
        return "No limit" if obj.backorder_limit is None else units(obj.backorder_limit)

    @admin.display(description="Lead time", ordering="lead_time_days")
    def lead_time(self, obj: BackorderPolicy) -> str:
        if obj.lead_time_days is None:
            return f"Shop default ({inventory_defaults().lead_time_days} days)"
        return f"{obj.lead_time_days} days"

    @admin.display(description="Backorder discount", ordering="backorder_discount_percent")
    def discount(self, obj: BackorderPolicy) -> str:
        if obj.backorder_discount_percent is None:
            return "—"
        return f"{obj.backorder_discount_percent.normalize():f} %"

    @admin.display(description="Backorder queue", ordering="_waiting")
    def backorder_queue(self, obj: BackorderPolicy) -> str:
        return backorder_queue_link(obj.variant_id, obj._waiting)


class BackorderPolicyInline(admin.StackedInline):
    """Ready for `VariantAdmin.inlines` in shop/admin.py (not registered from here)."""

    model = BackorderPolicy
    fields = BackorderPolicyAdmin.fields[1:]
    max_num = 1
    extra = 0
    can_delete = True
    verbose_name_plural = "Backorder policy (empty: the shop defaults apply)"
