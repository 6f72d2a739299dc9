"""The stock ledger: every change of on hand and allocated, append-only, read-only here."""

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from inventory.models import StockMovement
from shop.formatting import datetime_in_words, signed


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    """The append-only ledger: visible to staff, never added to, changed or deleted here."""

    list_display = [
        "time",
        "sku",
        "warehouse",
        "on_hand_change",
        "allocated_change",
        "reason",
        "reference",
        "note",
    ]
    list_filter = ["reason", "warehouse", "created_at"]
    list_select_related = ["variant", "warehouse", "po_line__purchase_order", "order_line__order", "user"]
    search_fields = ["variant__sku"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the ledger only grows; skip the second COUNT(*) when filtering
    empty_value_display = "—"
    fields = [
        "time",
        "stock_item",
        "on_hand_change",
        "allocated_change",
        "reason",
        "reference",
        "note",
    ]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        return {}

    @admin.display(description="Time", ordering="created_at")
    def time(self, obj: StockMovement) -> str:
        return datetime_in_words(obj.created_at)

    @admin.display(description="SKU", ordering="variant__sku")
    def sku(self, obj: StockMovement) -> str:
        return obj.variant.sku

    @admin.display(description="On hand", ordering="on_hand_delta")
    def on_hand_change(self, obj: StockMovement) -> str:
        return signed(obj.on_hand_delta)

    @admin.display(description="Set aside for orders", ordering="allocated_delta")
    def allocated_change(self, obj: StockMovement) -> str:
        return signed(obj.allocated_delta)

    @admin.display(description="Reference")
    def reference(self, obj: StockMovement) -> str:
        parts = []
        if obj.po_line_id:
            po = obj.po_line.purchase_order
            url = reverse("admin:inventory_purchaseorder_change", args=[quote(po.pk)])
            parts.append(format_html('<a href="{}">{}</a>', url, po.reference))
        if obj.order_line_id:
            parts.append(f"Order {obj.order_line.order.number}, line {obj.order_line_id}")
        if obj.user_id:
            parts.append(f"by {obj.user.get_username()}")
        return format_html_join(" · ", "{}", ((part,) for part in parts)) or "—"
