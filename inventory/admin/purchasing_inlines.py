"""The parts of a purchase order's page: its lines (editable while it is a draft) and the history of
its expected date (read-only, written by `purchase_order_set_expected_date`)."""

from django.contrib import admin

from inventory.forms import VariantAutocompleteSelect, VariantChoiceField
from inventory.models import PurchaseOrder, PurchaseOrderDateChange, PurchaseOrderLine, PurchaseOrderStatus
from shop.formatting import date_in_words, datetime_in_words


def is_draft(po: PurchaseOrder | None) -> bool:
    """A new purchase order (None) is a draft too."""
    return po is None or po.status == PurchaseOrderStatus.DRAFT


class PurchaseOrderLineInline(admin.TabularInline):
    """Lines are edited only while the order is a draft; received quantities only ever by receipts."""

    model = PurchaseOrderLine
    autocomplete_fields = ["variant"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant__product")

    def get_fields(self, request, obj=None):
        if is_draft(obj):
            return ["variant", "quantity_ordered"]  # a draft cannot have received anything
        return ["item", "quantity_ordered", "quantity_received", "outstanding"]

    def get_readonly_fields(self, request, obj=None):
        if is_draft(obj):
            return []
        return ["item", "quantity_ordered", "quantity_received", "outstanding"]

    def get_extra(self, request, obj=None, **kwargs):
        if obj is None:
            return 2
        return 1 if is_draft(obj) else 0

    def get_min_num(self, request, obj=None, **kwargs):
        # A new purchase order is created with its lines by purchase_order_create, which needs one.
        return 1 if obj is None else 0

    def has_add_permission(self, request, obj=None) -> bool:
        return is_draft(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_draft(obj) and super().has_delete_permission(request, obj)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "quantity_ordered":
            kwargs["min_value"] = 1
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "variant":
            # The item picker finds a SKU and shows it: "COOK-SSS — Stainless Saucepan Set".
            kwargs["widget"] = VariantAutocompleteSelect(db_field, self.admin_site)
            kwargs["form_class"] = VariantChoiceField
            kwargs["queryset"] = db_field.remote_field.model.objects.select_related("product")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Item")
    def item(self, obj: PurchaseOrderLine) -> str:
        return f"{obj.variant.sku} — {obj.variant}"

    @admin.display(description="Outstanding")
    def outstanding(self, obj: PurchaseOrderLine):
        return obj.quantity_outstanding if obj.pk else "—"


class PurchaseOrderDateChangeInline(admin.TabularInline):
    """The expected-date history, written by purchase_order_set_expected_date; read-only."""

    model = PurchaseOrderDateChange
    fields = ["changed", "old", "new", "source", "changed_by", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "expected-date change"
    verbose_name_plural = "Expected-date history"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        # Part of the purchase order: whoever may see the order sees its history.
        return request.user.has_perm("inventory.view_purchaseorder") or request.user.has_perm(
            "inventory.change_purchaseorder"
        )

    @admin.display(description="Changed")
    def changed(self, obj: PurchaseOrderDateChange) -> str:
        return datetime_in_words(obj.changed_at)

    @admin.display(description="From")
    def old(self, obj: PurchaseOrderDateChange) -> str:
        return date_in_words(obj.old_date) if obj.old_date else "No date"

    @admin.display(description="To")
    def new(self, obj: PurchaseOrderDateChange) -> str:
        return date_in_words(obj.new_date) if obj.new_date else "No date"
