"""Stock levels: the stock item list and page (read-only), the "Adjust stock" and "Record a stock
count" pages that change them through `inventory.services`, and the routes of the backorder queue
pages, whose views are the staff console's (`inventory.console.queue`).

"Export" writes the levels as a stock-count CSV (`inventory.console.resources`); the stock-count
import reads the same shape (`inventory.console.imports`, the "Import stock counts" page).
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from import_export.admin import ExportMixin

from inventory.console import queue
from inventory.console.page import restock_urls
from inventory.console.permissions import can_change_stock
from inventory.console.queue import backorder_queue_link
from inventory.console.resources import StockCountResource
from inventory.forms import StockAddForm, StockAdjustForm, StockCountForm
from inventory.models import StockItem, Warehouse
from inventory.services import StockError, stock_adjust, stock_count
from orders.models import OrderLine
from shop.formatting import datetime_in_words, signed, units
from shop.models import Variant
from shop.submissions import AlreadySubmitted

# Items listed under a stock-list search that have no stock line yet (each with its restock links).
UNSTOCKED_MATCHES_SHOWN = 20


@admin.register(StockItem)
class StockItemAdmin(ExportMixin, admin.ModelAdmin):
    """Stock levels, read-only: they change through "Adjust stock", "Record a stock count" and receipts."""

    resource_classes = [StockCountResource]

    list_display = ["sku", "product", "warehouse", "on_hand", "allocated", "free", "backorder_queue"]
    list_filter = ["warehouse"]
    list_select_related = ["variant__product", "warehouse"]
    search_fields = ["variant__sku", "variant__product__name"]
    fields = ["variant", "warehouse", "on_hand", "allocated", "free", "last_changed"]
    readonly_fields = fields
    # The stock item templates plus a link to the backorder queues.
    change_list_template = "admin/inventory/backorder_queue_stockitem_change_list.html"
    # Not django-import-export's list template: it shows the list's own buttons ("Adjust stock",
    # "Record a stock count", ...) only to those who may add rows, and nobody adds stock items by
    # hand, so they never showed. Ours adds its "Export" button itself.
    import_export_change_list_template = None
    change_form_template = "admin/inventory/backorder_queue_stockitem_change_form.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("variant__product", "warehouse")
            .annotate(
                _free=F("on_hand") - F("allocated"),
                _waiting=OrderLine.objects.waiting_units_subquery("variant_id"),
            )
        )

    # Levels are never edited or removed by hand; stock items appear when stock is first added.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def can_change_stock(self, request) -> bool:
        return can_change_stock(request.user)

    def get_list_display(self, request):
        if self.can_change_stock(request):
            return [*self.list_display, "row_actions"]
        return self.list_display

    @admin.display(description="SKU", ordering="variant__sku")
    def sku(self, obj: StockItem) -> str:
        return obj.variant.sku

    @admin.display(description="Product", ordering="variant__product__name")
    def product(self, obj: StockItem) -> str:
        return str(obj.variant)

    @admin.display(description="Free", ordering="_free")
    def free(self, obj: StockItem) -> int:
        return obj.free

    @admin.display(description="Last changed")
    def last_changed(self, obj: StockItem) -> str:
        return datetime_in_words(obj.updated_at)

    @admin.display(description="Backorder queue", ordering="_waiting")
    def backorder_queue(self, obj: StockItem) -> str:
        return backorder_queue_link(obj.variant_id, obj._waiting)

    @admin.display(description="")
    def row_actions(self, obj: StockItem) -> str:
        pk = quote(obj.pk)
        return format_html(
            '<a href="{}">Adjust stock</a> · <a href="{}">Record a count</a> · <a href="{}">History</a>',
            reverse("admin:inventory_stockitem_adjust_item", args=[pk]),
            reverse("admin:inventory_stockitem_count_item", args=[pk]),
            self.movements_url(obj),
        )

    @staticmethod
    def movements_url(obj: StockItem) -> str:
        return reverse("admin:inventory_stockmovement_changelist") + f"?stock_item__id__exact={obj.pk}"

    def changelist_view(self, request, extra_context=None):
        can_change = self.can_change_stock(request)
        search = request.GET.get("q", "").strip()
        # Shown to everyone who may see the list, so that its count is honest; links only to those who
        # may change stock. One more than shown tells whether there are more.
        unstocked = self._unstocked_matches(search, links=can_change) if search else []
        extra_context = {
            **(extra_context or {}),
            "title": "Stock levels",  # short: the list's five buttons sit beside it
            "can_change_stock": can_change,
            "unstocked": unstocked[:UNSTOCKED_MATCHES_SHOWN],
            "unstocked_more": len(unstocked) > UNSTOCKED_MATCHES_SHOWN,
        }
        return super().changelist_view(request, extra_context)

    @staticmethod
    def _unstocked_matches(search: str, *, links: bool) -> list[dict]:
        """Variants matching a stock-list search that have no stock line at all, so no row to act on:
        each with the links that restock or count it when `links` (one query; one more than shown)."""
        variants = (
            Variant.objects.filter(Q(sku__icontains=search) | Q(product__name__icontains=search))
            .exclude(Exists(StockItem.objects.filter(variant=OuterRef("pk"))))
            .select_related("product")
            .order_by("sku")[: UNSTOCKED_MATCHES_SHOWN + 1]
        )
        return [{"sku": v.sku, "name": str(v), **(restock_urls(v.pk) if links else {})} for v in variants]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_change_stock": self.can_change_stock(request)}
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            extra_context["movements_url"] = self.movements_url(obj)
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            # The backorder queues: a view of stock, so under the stock items (inventory.console.queue).
            path("queue/", wrap(queue.queue_list_view), name="inventory_stockitem_queue"),
            path("queue/<int:variant_id>/", wrap(queue.queue_view), name="inventory_stockitem_queue_variant"),
            path(
                "queue/<int:variant_id>/priority/",
                wrap(queue.queue_priority_view),
                name="inventory_stockitem_queue_priority",
            ),
            path(
                "queue/<int:variant_id>/allocate/",
                wrap(queue.queue_allocate_view),
                name="inventory_stockitem_queue_allocate",
            ),
            path("add-stock/", wrap(self.add_stock_view), name="inventory_stockitem_add_stock"),
            path("adjust/", wrap(self.adjust_view), name="inventory_stockitem_adjust"),
            path("<path:object_id>/adjust/", wrap(self.adjust_view), name="inventory_stockitem_adjust_item"),
            path("count/", wrap(self.count_view), name="inventory_stockitem_count"),
            path("<path:object_id>/count/", wrap(self.count_view), name="inventory_stockitem_count_item"),
            *super().get_urls(),
        ]

    def add_stock_view(self, request):
        """The "Add stock" links (an item's first stock, found or returned units): an adjustment that
        only adds, titled like its link."""
        return self._stock_form_view(
            request,
            None,
            form_class=StockAddForm,
            title="Add stock",
            submit_label="Add stock",
            apply=self._apply_adjustment,
        )

    def adjust_view(self, request, object_id=None):
        return self._stock_form_view(
            request,
            object_id,
            form_class=StockAdjustForm,
            title="Adjust stock",
            submit_label="Adjust stock",
            apply=self._apply_adjustment,
        )

    def count_view(self, request, object_id=None):
        return self._stock_form_view(
            request,
            object_id,
            form_class=StockCountForm,
            title="Record a stock count",
            submit_label="Record count",
            apply=self._apply_count,
        )

    def _stock_form_view(self, request, object_id, *, form_class, title, submit_label, apply):
        """Show a stock form; on a valid POST call the service through `apply`, which returns
        (stock item, message). A refused change (StockError) is shown on the form, nothing written."""
        if not self.can_change_stock(request):
            raise PermissionDenied
        item = None
        if object_id is not None:
            item = self.get_object(request, unquote(object_id))
            if item is None:
                return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        data = request.POST if request.method == "POST" else None
        initial = self._initial_target(request) if item is None else {}
        form = form_class(data, admin_site=self.admin_site, stock_item=item, initial=initial)
        if data is not None and form.is_valid():
            try:
                changed_item, message = apply(form.cleaned_data, user_id=request.user.pk)
            except AlreadySubmitted as exc:
                self.message_user(request, str(exc), messages.WARNING)
                return HttpResponseRedirect(self._stock_item_url(form.cleaned_data))
            except StockError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:inventory_stockitem_change", args=[quote(changed_item.pk)])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "stock_item": item,
            "chosen": self._chosen_variant_levels(initial.get("variant")) if item is None else None,
            "form": form,
            "submit_label": submit_label,
            "media": self.media + form.media,
            "cancel_url": (
                reverse("admin:inventory_stockitem_change", args=[quote(item.pk)])
                if item
                else reverse("admin:inventory_stockitem_changelist")
            ),
        }
        return TemplateResponse(request, "admin/inventory/stockitem/stock_form.html", context)

    @staticmethod
    def _initial_target(request) -> dict:
        """`?variant=<id>&warehouse=<id>`: the variant (and warehouse) a link opened the page on.
        With one active warehouse, it is chosen already."""
        initial = {}
        for name in ("variant", "warehouse"):
            value = request.GET.get(name, "")
            if value.isdigit():
                initial[name] = int(value)
        if "warehouse" not in initial:
            active = list(Warehouse.objects.filter(is_active=True).values_list("pk", flat=True)[:2])
            if len(active) == 1:
                initial["warehouse"] = active[0]
        return initial

    @staticmethod
    def _chosen_variant_levels(variant_id: int | None) -> dict | None:
        """The variant a link opened the page on, with its stock in each active warehouse ("no stock
        line yet" where it has none): what staff check before adding or counting."""
        if variant_id is None:
            return None
        variant = Variant.objects.select_related("product").filter(pk=variant_id).first()
        if variant is None:
            return None
        items = {
            item.warehouse_id: item
            for item in StockItem.objects.filter(variant_id=variant_id, warehouse__is_active=True)
        }
        levels = []
        for warehouse in Warehouse.objects.filter(is_active=True).order_by("priority", "pk"):
            item = items.get(warehouse.pk)
            levels.append(
                f"{warehouse.name}: {item.on_hand} on hand, {item.allocated} set aside for orders"
                if item
                else f"{warehouse.name}: no stock yet"
            )
        return {"variant": variant, "levels": levels}

    @staticmethod
    def _stock_item_url(data) -> str:
        """Where a stock form's success goes: its stock item (the list if there is none)."""
        item = StockItem.objects.filter(variant=data["variant"], warehouse=data["warehouse"]).first()
        if item is None:
            return reverse("admin:inventory_stockitem_changelist")
        return reverse("admin:inventory_stockitem_change", args=[quote(item.pk)])

    @staticmethod
    def _levels(item: StockItem) -> str:
        return f"now {item.on_hand} on hand, {item.allocated} set aside for orders, {item.free} free."

    def _apply_adjustment(self, data, *, user_id):
        change = data["quantity_change"]
        movement = stock_adjust(
            variant_id=data["variant"].pk,
            warehouse_id=data["warehouse"].pk,
            quantity_change=change,
            reason=data["reason"],
            user_id=user_id,
            note=data["note"],
            submission_key=data["submission_key"],
        )
        item = StockItem.objects.select_related("variant", "warehouse").get(pk=movement.stock_item_id)
        verb = "added" if change > 0 else "removed"
        return (
            item,
            f"{item.variant.sku} at {item.warehouse.name}: {units(abs(change))} {verb}; {self._levels(item)}",
        )

    def _apply_count(self, data, *, user_id):
        variant, warehouse = data["variant"], data["warehouse"]
        movement = stock_count(
            variant_id=variant.pk,
            warehouse_id=warehouse.pk,
            counted=data["counted"],
            user_id=user_id,
            note=data["note"],
            submission_key=data["submission_key"],
        )
        item = StockItem.objects.select_related("variant", "warehouse").get(
            variant_id=variant.pk, warehouse_id=warehouse.pk
        )
        where = f"{item.variant.sku} at {item.warehouse.name}"
        if movement is None:
            return item, f"{where}: the count matches the records, nothing changed; {self._levels(item)}"
        return item, (
            f"{where}: stock count recorded, on hand changed by {signed(movement.on_hand_delta)}; "
            f"{self._levels(item)}"
        )
