"""Staff admin for inventory.

The admin never writes stock numbers itself. Stock levels, the ledger, received
quantities and a purchase order's status and expected date change only through
`inventory/services.py`: the stock pages and purchase-order buttons collect
input, call a service with the staff user's id, and show a refused change
(a StockError) as a message on the page. The ledger is read-only here.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.text import capfirst
from import_export.admin import ExportMixin

from orders.models import Order, OrderLine, ShipPolicy
from orders.services import order_set_priority
from shop.models import Variant
from shop.submissions import AlreadySubmitted

from .conf import inventory_defaults
from .forms import PurchaseOrderAdminForm, PurchaseOrderReceiveForm, StockAdjustForm, StockCountForm
from .models import (
    OPEN_PO_STATUSES,
    BackorderPolicy,
    PurchaseOrder,
    PurchaseOrderDateChange,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockItem,
    StockMovement,
    Supplier,
    Warehouse,
)
from .reports import week_end_of
from .resources import StockCountResource
from .selectors import QueueSource, backorder_queue_page, backorder_queue_variants
from .selectors import date_in_words as day_in_words
from .services import (
    PurchaseOrderError,
    StockError,
    allocation_request_add,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_mark_ordered,
    purchase_order_receive,
    purchase_order_set_expected_date,
    stock_adjust,
    stock_count,
)


def date_in_words(value) -> str:
    """'21 November 2026'."""
    return format_date(value, "j F Y") if value else "—"


def datetime_in_words(value) -> str:
    """'21 November 2026, 14:05' in the shop's time zone."""
    return format_date(timezone.localtime(value), "j F Y, H:i") if value else "—"


def units(n: int) -> str:
    return f"{n} unit" if abs(n) == 1 else f"{n} units"


def signed(n: int) -> str:
    """'+5', '−3' or '0' (a real minus sign reads better than a hyphen)."""
    return f"+{n}" if n > 0 else (f"−{-n}" if n < 0 else "0")


def age_in_words(days: int) -> str:
    """'today', '1 day', '12 days'."""
    if days <= 0:
        return "today"
    return "1 day" if days == 1 else f"{days} days"


def units_waiting_subquery(variant_field: str):
    """Units waiting on backorder for the row's variant (0 when none): no extra query per row."""
    rows = (
        OrderLine.objects.filter(variant=OuterRef(variant_field), quantity_backordered__gt=0)
        .order_by()
        .values("variant")
        .annotate(total=Sum("quantity_backordered"))
        .values("total")
    )
    return Coalesce(Subquery(rows), 0, output_field=IntegerField())


def can_view_backorder_queue(user) -> bool:
    """The queues are a view of stock: whoever may see stock items may see them."""
    return user.is_active and (
        user.has_perm("inventory.view_stockitem") or user.has_perm("inventory.change_stockitem")
    )


def backorder_queue_link(variant_id: int, waiting: int) -> str:
    if not waiting:
        return "Nobody waiting"
    url = reverse("admin:inventory_stockitem_queue_variant", args=[variant_id])
    return format_html('<a href="{}">{} waiting</a>', url, units(waiting))


# --- warehouses ---------------------------------------------------------------------------


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "priority", "is_active"]
    list_editable = ["priority"]
    list_filter = ["is_active"]
    search_fields = ["name", "code"]
    ordering = ["priority", "pk"]


# --- stock levels -------------------------------------------------------------------------


@admin.register(StockItem)
class StockItemAdmin(ExportMixin, admin.ModelAdmin):
    """Stock levels, read-only: they change through "Adjust stock", "Record a stock count" and receipts.

    "Export" writes the levels as a stock-count CSV (inventory/resources.py); the stock-count
    import reads the same shape (inventory/imports.py, the "Import stock counts" page).
    """

    resource_classes = [StockCountResource]

    list_display = ["sku", "product", "warehouse", "on_hand", "allocated", "free", "backorder_queue"]
    list_filter = ["warehouse"]
    list_select_related = ["variant__product", "warehouse"]
    search_fields = ["variant__sku", "variant__product__name"]
    fields = ["variant", "warehouse", "on_hand", "allocated", "free", "last_changed"]
    readonly_fields = fields
    # The stock item templates plus a link to the backorder queues.
    change_list_template = "admin/inventory/backorder_queue_stockitem_change_list.html"
    change_form_template = "admin/inventory/backorder_queue_stockitem_change_form.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("variant__product", "warehouse")
            .annotate(_free=F("on_hand") - F("allocated"), _waiting=units_waiting_subquery("variant_id"))
        )

    # Levels are never edited or removed by hand; stock items appear when stock is first added.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def can_change_stock(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("inventory.change_stockitem")

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
        extra_context = {**(extra_context or {}), "can_change_stock": self.can_change_stock(request)}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_change_stock": self.can_change_stock(request)}
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            extra_context["movements_url"] = self.movements_url(obj)
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("queue/", wrap(self.queue_list_view), name="inventory_stockitem_queue"),
            path("queue/<int:variant_id>/", wrap(self.queue_view), name="inventory_stockitem_queue_variant"),
            path(
                "queue/<int:variant_id>/priority/",
                wrap(self.queue_priority_view),
                name="inventory_stockitem_queue_priority",
            ),
            path(
                "queue/<int:variant_id>/allocate/",
                wrap(self.queue_allocate_view),
                name="inventory_stockitem_queue_allocate",
            ),
            path("adjust/", wrap(self.adjust_view), name="inventory_stockitem_adjust"),
            path("<path:object_id>/adjust/", wrap(self.adjust_view), name="inventory_stockitem_adjust_item"),
            path("count/", wrap(self.count_view), name="inventory_stockitem_count"),
            path("<path:object_id>/count/", wrap(self.count_view), name="inventory_stockitem_count_item"),
            *super().get_urls(),
        ]

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
        form = form_class(data, admin_site=self.admin_site, stock_item=item)
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
    def _stock_item_url(data) -> str:
        """Where a stock form's success goes: its stock item (the list if there is none)."""
        item = StockItem.objects.filter(variant=data["variant"], warehouse=data["warehouse"]).first()
        if item is None:
            return reverse("admin:inventory_stockitem_changelist")
        return reverse("admin:inventory_stockitem_change", args=[quote(item.pk)])

    @staticmethod
    def _levels(item: StockItem) -> str:
        return f"now {item.on_hand} on hand, {item.allocated} promised to orders, {item.free} free."

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

    # --- the backorder queue: who waits for a variant, in the order arriving stock serves them ---

    QUEUE_PAGE_SIZE = 500
    QUEUE_VARIANTS_PAGE_SIZE = 100

    def can_set_priority(self, request) -> bool:
        return request.user.has_perm("orders.change_order")

    def _queue_context(self, request, title: str) -> dict:
        if not can_view_backorder_queue(request.user):
            raise PermissionDenied
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "queue_list_url": reverse("admin:inventory_stockitem_queue"),
        }

    @staticmethod
    def _page_number(request) -> int:
        try:
            return max(int(request.GET.get("page", 1)), 1)
        except ValueError:
            return 1

    def queue_list_view(self, request):
        """Variants that customers are waiting for, longest wait first."""
        context = self._queue_context(request, "Backorder queues")
        search = request.GET.get("q", "").strip()
        paginator = Paginator(backorder_queue_variants(search=search), self.QUEUE_VARIANTS_PAGE_SIZE)
        page = paginator.get_page(self._page_number(request))
        today = timezone.localdate()
        rows = [
            {
                "url": reverse("admin:inventory_stockitem_queue_variant", args=[variant.pk]),
                "sku": variant.sku,
                "name": str(variant),
                "units_waiting": variant.backorders_waiting,
                "lines": variant.queue_lines,
                "priority_lines": variant.queue_priority_lines,
                "oldest_wait": age_in_words(
                    (today - timezone.localdate(variant.queue_oldest_placed_at)).days
                ),
                "oldest_placed": date_in_words(timezone.localdate(variant.queue_oldest_placed_at)),
                "free_stock": variant.stock_free,
            }
            for variant in page.object_list
        ]
        context.update({"rows": rows, "page": page, "search": search})
        return TemplateResponse(request, "admin/inventory/backorder_queue_list.html", context)

    def queue_view(self, request, variant_id: int):
        """One variant's waiting order lines in service order, with the date each is projected to ship."""
        context = self._queue_context(request, "Backorder queue")
        variant = Variant.objects.select_related("product", "backorder_policy").filter(pk=variant_id).first()
        if variant is None:
            raise Http404("No such variant.")
        number = self._page_number(request)
        queue = backorder_queue_page(
            variant_id=variant.pk, offset=(number - 1) * self.QUEUE_PAGE_SIZE, limit=self.QUEUE_PAGE_SIZE
        )
        pages = max(-(-queue.total_lines // self.QUEUE_PAGE_SIZE), 1)
        if number > pages:
            return HttpResponseRedirect(f"{request.path}?page={pages}")
        a = queue.availability
        policy = getattr(variant, "backorder_policy", None)
        context.update(
            {
                "title": f"Backorder queue: {variant.sku}",
                "variant": variant,
                "queue": queue,
                "rows": [self._queue_row(entry, a) for entry in queue.entries],
                "units_waiting": a.waiting_backorders,
                "free_stock": a.free_stock,
                "lead_time_days": a.lead_time_days,
                "incoming": [
                    {
                        "reference": inc.reference,
                        "url": reverse("admin:inventory_purchaseorder_change", args=[inc.purchase_order_id]),
                        "units": units(inc.quantity),
                        "date": day_in_words(inc.promised_date),
                        "overdue_since": (
                            date_in_words(inc.expected_date)
                            if inc.expected_date and inc.expected_date != inc.promised_date
                            else ""
                        ),
                    }
                    for inc in queue.incoming
                ],
                "policy_url": (
                    reverse("admin:inventory_backorderpolicy_change", args=[policy.pk]) if policy else ""
                ),
                "stock_url": reverse("admin:inventory_stockitem_changelist")
                + "?"
                + urlencode({"q": variant.sku}),
                "page_number": number,
                "pages": pages,
                "previous_page": number - 1 if number > 1 else None,
                "next_page": number + 1 if number < pages else None,
                "can_set_priority": self.can_set_priority(request),
                "can_run_allocation": self.can_change_stock(request),
                "priority_url": reverse("admin:inventory_stockitem_queue_priority", args=[variant.pk]),
                "allocate_url": reverse("admin:inventory_stockitem_queue_allocate", args=[variant.pk]),
            }
        )
        return TemplateResponse(request, "admin/inventory/backorder_queue.html", context)

    @staticmethod
    def _queue_row(entry, availability) -> dict:
        if entry.source == QueueSource.STOCK:
            basis = "in stock now: served by the next allocation pass"
        elif entry.source == QueueSource.LEAD_TIME:
            basis = (
                f"no purchase order covers it yet: lead-time estimate ({availability.lead_time_days} days)"
            )
        elif entry.purchase_order_overdue:
            basis = (
                f"{entry.purchase_order_reference} is overdue (expected "
                f"{date_in_words(entry.purchase_order_expected_date)}): counted on "
                f"{availability.overdue_grace_days} days from today"
            )
        else:
            basis = ""
        return {
            "entry": entry,
            "order_url": reverse("admin:orders_order_change", args=[quote(entry.order_id)]),
            "age": age_in_words(entry.age_days),
            "placed": date_in_words(timezone.localdate(entry.placed_at)),
            "policy": "Together" if entry.ship_policy == ShipPolicy.TOGETHER else "Split",
            "projected": day_in_words(entry.projected_date),
            "basis": basis,
            "stored": day_in_words(entry.expected_date) if entry.expected_date else "—",
            "stored_differs": entry.expected_date != entry.projected_date,
            "po_url": (
                reverse("admin:inventory_purchaseorder_change", args=[entry.purchase_order_id])
                if entry.purchase_order_id
                else ""
            ),
        }

    def _queue_redirect(self, request, variant_id: int) -> HttpResponseRedirect:
        url = reverse("admin:inventory_stockitem_queue_variant", args=[variant_id])
        page = request.POST.get("page", "")
        return HttpResponseRedirect(f"{url}?page={page}" if page.isdigit() and page != "1" else url)

    def queue_priority_view(self, request, variant_id: int):
        """Mark or unmark the selected orders of this queue as priority (orders.services)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (can_view_backorder_queue(request.user) and self.can_set_priority(request)):
            raise PermissionDenied
        is_priority = {"mark": True, "remove": False}.get(request.POST.get("priority", ""))
        ids = [int(v) for v in request.POST.getlist("order") if v.isdigit()]
        # Only orders that wait in this queue: the page offered nothing else.
        orders = (
            Order.objects.filter(pk__in=ids, lines__variant_id=variant_id, lines__quantity_backordered__gt=0)
            .distinct()
            .order_by("pk")
            .values_list("pk", "number")
        )
        if is_priority is None:
            self.message_user(request, "Choose “Mark as priority” or “Remove priority”.", messages.ERROR)
            return self._queue_redirect(request, variant_id)
        if not orders:
            self.message_user(request, "Select the orders to change first.", messages.WARNING)
        for pk, number in orders:
            if order_set_priority(order_id=pk, is_priority=is_priority, user_id=request.user.pk):
                text = "is now a priority order" if is_priority else "is no longer a priority order"
                self.message_user(request, f"{number} {text}.", messages.SUCCESS)
            else:
                text = "was already a priority order" if is_priority else "was not a priority order"
                self.message_user(request, f"{number} {text}.", messages.INFO)
        return self._queue_redirect(request, variant_id)

    def queue_allocate_view(self, request, variant_id: int):
        """Ask for an auto-allocation pass of this variant now; a worker serves it after commit."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (can_view_backorder_queue(request.user) and self.can_change_stock(request)):
            raise PermissionDenied
        sku = Variant.objects.filter(pk=variant_id).values_list("sku", flat=True).first()
        if sku is None:
            raise Http404("No such variant.")
        allocation_request_add(variant_ids=[variant_id])
        self.message_user(
            request,
            f"Allocation of {sku} is queued: free stock goes to the waiting orders in queue order as soon "
            "as a worker runs it. Reload this page in a moment to see the result.",
            messages.SUCCESS,
        )
        return self._queue_redirect(request, variant_id)


# --- the stock ledger -------------------------------------------------------------------------


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

    @admin.display(description="Allocated", ordering="allocated_delta")
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


# --- backorder policy -------------------------------------------------------------------------


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
    ]
    # The change page links to the variant's backorder queue.
    change_form_template = "admin/inventory/backorder_queue_policy_change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_waiting=units_waiting_subquery("variant_id"))

    def get_list_display(self, request):
        if can_view_backorder_queue(request.user):
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


# --- suppliers -------------------------------------------------------------------------------


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


# --- purchase orders -------------------------------------------------------------------------


def _is_draft(po: PurchaseOrder | None) -> bool:
    """A new purchase order (None) is a draft too."""
    return po is None or po.status == PurchaseOrderStatus.DRAFT


class PurchaseOrderLineInline(admin.TabularInline):
    """Lines are edited only while the order is a draft; received quantities only ever by receipts."""

    model = PurchaseOrderLine
    autocomplete_fields = ["variant"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant__product")

    def get_fields(self, request, obj=None):
        if _is_draft(obj):
            return ["variant", "quantity_ordered"]  # a draft cannot have received anything
        return ["item", "quantity_ordered", "quantity_received", "outstanding"]

    def get_readonly_fields(self, request, obj=None):
        if _is_draft(obj):
            return []
        return ["item", "quantity_ordered", "quantity_received", "outstanding"]

    def get_extra(self, request, obj=None, **kwargs):
        if obj is None:
            return 2
        return 1 if _is_draft(obj) else 0

    def get_min_num(self, request, obj=None, **kwargs):
        # A new purchase order is created with its lines by purchase_order_create, which needs one.
        return 1 if obj is None else 0

    def has_add_permission(self, request, obj=None) -> bool:
        return _is_draft(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return _is_draft(obj) and super().has_delete_permission(request, obj)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "quantity_ordered":
            kwargs["min_value"] = 1
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="Item")
    def item(self, obj: PurchaseOrderLine) -> str:
        return f"{obj.variant.sku} — {obj.variant}"

    @admin.display(description="Outstanding")
    def outstanding(self, obj: PurchaseOrderLine):
        return obj.quantity_outstanding if obj.pk else "—"


class PurchaseOrderDateChangeInline(admin.TabularInline):
    """The expected-date history, written by purchase_order_set_expected_date; read-only."""

    model = PurchaseOrderDateChange
    fields = ["changed", "old", "new", "changed_by", "reason"]
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


class PurchaseOrderDueFilter(admin.SimpleListFilter):
    """Open purchase orders by expected date; the dashboard links here."""

    title = "due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("week", "Due this week (today to Sunday)"), ("overdue", "Overdue"), ("none", "No date yet")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        open_orders = queryset.filter(status__in=OPEN_PO_STATUSES)
        if self.value() == "week":
            return open_orders.filter(expected_date__gte=today, expected_date__lte=week_end_of(today))
        if self.value() == "overdue":
            return open_orders.filter(expected_date__lt=today)
        if self.value() == "none":
            return open_orders.filter(expected_date__isnull=True)
        return None


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    """Purchase orders. The header's plain fields save normally; the expected date, the status
    and received quantities change only through the services (date field, buttons, actions)."""

    form = PurchaseOrderAdminForm
    list_display = [
        "reference",
        "supplier",
        "warehouse",
        "status",
        "expected",
        "units_ordered",
        "units_received",
    ]
    list_filter = ["status", PurchaseOrderDueFilter, "supplier", "warehouse"]
    list_select_related = ["supplier", "warehouse"]
    search_fields = ["reference", "supplier__name"]
    inlines = [PurchaseOrderLineInline, PurchaseOrderDateChangeInline]
    actions = ["mark_ordered_action", "cancel_action", "receive_action"]

    # Header fields that make sense to change only before the order goes to the supplier.
    DRAFT_ONLY_FIELDS = ("supplier", "warehouse", "reference")
    PLAIN_FIELDS = (*DRAFT_ONLY_FIELDS, "notes")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("supplier", "warehouse", "ordered_by", "cancelled_by")
            .annotate(
                _units_ordered=Coalesce(Sum("lines__quantity_ordered"), 0),
                _units_received=Coalesce(Sum("lines__quantity_received"), 0),
            )
        )

    def get_inline_instances(self, request, obj=None):
        inlines = super().get_inline_instances(request, obj)
        if obj is None:  # a new order has no date history yet
            inlines = [i for i in inlines if not isinstance(i, PurchaseOrderDateChangeInline)]
        return inlines

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ["supplier", "warehouse", "reference", "status", "expected_date", "notes"]})
            ]
        date_fields = ["expected_date"]
        if obj.status not in (PurchaseOrderStatus.RECEIVED, PurchaseOrderStatus.CANCELLED):
            date_fields.append("date_change_reason")
        return [
            (None, {"fields": ["supplier", "warehouse", "reference", "status"]}),
            ("Delivery", {"fields": date_fields}),
            (None, {"fields": ["notes", "created", "ordered", "cancelled", "last_changed"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["status", "created", "ordered", "cancelled", "last_changed"]
        if not _is_draft(obj):
            readonly += self.DRAFT_ONLY_FIELDS
        if obj is not None and obj.status in (PurchaseOrderStatus.RECEIVED, PurchaseOrderStatus.CANCELLED):
            readonly.append("expected_date")
        return readonly

    def has_delete_permission(self, request, obj=None) -> bool:
        # Only a draft may disappear; an order that went to the supplier is cancelled instead.
        return _is_draft(obj) and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="Expected", ordering="expected_date")
    def expected(self, obj: PurchaseOrder) -> str:
        if obj.expected_date is None:
            return "Not known yet"
        text = date_in_words(obj.expected_date)
        if obj.is_open and obj.expected_date < timezone.localdate():
            return f"{text} (overdue)"
        return text

    @admin.display(description="Units ordered", ordering="_units_ordered")
    def units_ordered(self, obj: PurchaseOrder) -> int:
        return obj._units_ordered

    @admin.display(description="Units received", ordering="_units_received")
    def units_received(self, obj: PurchaseOrder) -> int:
        return obj._units_received

    @admin.display(description="Created")
    def created(self, obj: PurchaseOrder) -> str:
        return datetime_in_words(obj.created_at)

    @admin.display(description="Last changed")
    def last_changed(self, obj: PurchaseOrder) -> str:
        return datetime_in_words(obj.updated_at)

    @staticmethod
    def _when_and_who(at, user) -> str:
        if at is None:
            return "Not yet"
        return datetime_in_words(at) + (f" by {user.get_username()}" if user is not None else "")

    @admin.display(description="Sent to the supplier")
    def ordered(self, obj: PurchaseOrder) -> str:
        return self._when_and_who(obj.ordered_at, obj.ordered_by)

    @admin.display(description="Cancelled")
    def cancelled(self, obj: PurchaseOrder) -> str:
        return self._when_and_who(obj.cancelled_at, obj.cancelled_by)

    # --- saving: plain fields directly, everything else through the services ---

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The admin runs the whole save in one transaction; a refused service call rolls all of it
        # back and is reported, instead of a 500 or a half-saved order.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StockError as exc:
            self.message_user(request, f"Nothing was saved. {exc}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        if not change:
            return  # created with its lines by purchase_order_create, in save_related
        current = PurchaseOrder.objects.select_for_update(no_key=True).get(pk=obj.pk)
        changed = [name for name in form.changed_data if name in self.PLAIN_FIELDS]
        if current.status != PurchaseOrderStatus.DRAFT and set(changed) & set(self.DRAFT_ONLY_FIELDS):
            raise PurchaseOrderError(
                f"{current.reference} is no longer a draft, so its supplier, warehouse and reference "
                "cannot change. Reload the page to see it as it is now."
            )
        if changed:
            obj.save(update_fields=[*changed, "updated_at"])
        if "expected_date" in form.changed_data:
            purchase_order_set_expected_date(
                purchase_order_id=obj.pk,
                expected_date=form.cleaned_data["expected_date"],
                user_id=request.user.pk,
                reason=form.cleaned_data.get("date_change_reason", ""),
            )

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)
            return
        line_formset = next(fs for fs in formsets if fs.model is PurchaseOrderLine)
        lines: dict[int, int] = {}
        for line_form in line_formset.forms:
            data = getattr(line_form, "cleaned_data", None)
            if data and data.get("variant") and not data.get("DELETE"):
                lines[data["variant"].pk] = data["quantity_ordered"]
        data = form.cleaned_data
        po = purchase_order_create(
            supplier_id=data["supplier"].pk,
            warehouse_id=data["warehouse"].pk,
            reference=data["reference"],
            lines=lines,
            expected_date=data.get("expected_date"),
            notes=data.get("notes", ""),
            user_id=request.user.pk,
        )
        # The admin goes on with the unsaved instance (history entry, redirect): give it the new row.
        obj = form.instance
        obj.pk, obj.status, obj.created_at, obj.updated_at = po.pk, po.status, po.created_at, po.updated_at
        obj._state.adding, obj._state.db = False, po._state.db
        for formset in formsets:
            formset.new_objects = list(po.lines.all()) if formset is line_formset else []
            formset.changed_objects, formset.deleted_objects = [], []

    def save_formset(self, request, form, formset, change):
        if formset.model is not PurchaseOrderLine:
            super().save_formset(request, form, formset, change)
            return
        if formset.has_changed():
            po = PurchaseOrder.objects.select_for_update(no_key=True).get(pk=form.instance.pk)
            if po.status != PurchaseOrderStatus.DRAFT:
                raise PurchaseOrderError(
                    f"{po.reference} is no longer a draft, so its lines cannot change. "
                    "Reload the page to see it as it is now."
                )
        lines = formset.save(commit=False)
        for line in formset.deleted_objects:
            line.delete()
        for line in lines:
            if line.pk is None:
                line.save()
            else:
                # Never write quantity_received back from the form's copy.
                line.save(update_fields=["variant", "quantity_ordered"])

    # --- status changes: buttons on the change page and list actions ---

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/receive/", wrap(self.receive_view), name="inventory_purchaseorder_receive"
            ),
            path(
                "<path:object_id>/mark-ordered/",
                wrap(self.mark_ordered_view),
                name="inventory_purchaseorder_mark_ordered",
            ),
            path("<path:object_id>/cancel/", wrap(self.cancel_view), name="inventory_purchaseorder_cancel"),
            *super().get_urls(),
        ]

    def _get_po_for_change(self, request, object_id):
        po = self.get_object(request, unquote(object_id))
        if po is not None and not self.has_change_permission(request, po):
            raise PermissionDenied
        return po

    def _change_url(self, po: PurchaseOrder) -> str:
        return reverse("admin:inventory_purchaseorder_change", args=[quote(po.pk)])

    def _status_view(self, request, object_id, *, service, title, question, explanation, button, done):
        """GET: ask for confirmation. POST: call the service and report what happened."""
        po = self._get_po_for_change(request, object_id)
        if po is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST":
            try:
                service(purchase_order_id=po.pk, user_id=request.user.pk)
            except StockError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, done.format(reference=po.reference), messages.SUCCESS)
            return HttpResponseRedirect(self._change_url(po))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": po,
            "title": title,
            "question": question.format(reference=po.reference),
            "explanation": explanation,
            "button": button,
            "cancel_url": self._change_url(po),
        }
        return TemplateResponse(request, "admin/inventory/purchaseorder/confirm_status.html", context)

    def mark_ordered_view(self, request, object_id):
        return self._status_view(
            request,
            object_id,
            service=purchase_order_mark_ordered,
            title="Mark as ordered",
            question="Mark {reference} as ordered?",
            explanation=(
                "Do this once the order has been sent to the supplier. Its lines can no longer be "
                "changed, and customers' backorder dates start to count on its expected date."
            ),
            button="Yes, mark as ordered",
            done="{reference} is now ordered.",
        )

    def cancel_view(self, request, object_id):
        return self._status_view(
            request,
            object_id,
            service=purchase_order_cancel,
            title="Cancel purchase order",
            question="Cancel {reference}?",
            explanation=(
                "Units that have not arrived will no longer be expected. Units already received stay "
                "in stock. This cannot be undone."
            ),
            button="Yes, cancel it",
            done="{reference} is cancelled.",
        )

    @admin.action(description="Mark selected purchase orders as ordered", permissions=["change"])
    def mark_ordered_action(self, request, queryset):
        self._run_for_each(request, queryset, purchase_order_mark_ordered, "{reference} is now ordered.")

    @admin.action(description="Cancel selected purchase orders", permissions=["change"])
    def cancel_action(self, request, queryset):
        self._run_for_each(request, queryset, purchase_order_cancel, "{reference} is cancelled.")

    def _run_for_each(self, request, queryset, service, done: str) -> None:
        """One service call (one transaction) per order, so one refusal does not stop the others."""
        for pk, reference in queryset.order_by("pk").values_list("pk", "reference"):
            try:
                service(purchase_order_id=pk, user_id=request.user.pk)
            except StockError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, done.format(reference=reference), messages.SUCCESS)

    @admin.action(description="Receive the selected purchase order…", permissions=["change"])
    def receive_action(self, request, queryset):
        pks = list(queryset.values_list("pk", flat=True)[:2])
        if len(pks) != 1:
            self.message_user(request, "Choose exactly one purchase order to receive.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:inventory_purchaseorder_receive", args=[quote(pks[0])]))

    def receive_view(self, request, object_id):
        """Receive some or all outstanding units. GET only shows the page; POST calls the service."""
        po = self._get_po_for_change(request, object_id)
        if po is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        lines = list(po.lines.select_related("variant__product").order_by("pk"))
        receive_all = request.method == "POST" and "_receive_all" in request.POST
        data = request.POST if request.method == "POST" else None
        form = PurchaseOrderReceiveForm(data, lines=lines, receive_all=receive_all)
        error = None
        if data is not None and form.is_valid():
            try:
                receipt = purchase_order_receive(
                    purchase_order_id=po.pk,
                    quantities=form.quantities(),
                    user_id=request.user.pk,
                    submission_key=form.cleaned_data["submission_key"],
                )
            except AlreadySubmitted as exc:
                self.message_user(request, str(exc), messages.WARNING)
                return HttpResponseRedirect(self._change_url(po))
            except StockError as exc:
                error = str(exc)
            else:
                status = PurchaseOrderStatus(receipt.status).label.lower()
                self.message_user(
                    request,
                    f"Received {units(receipt.units_received)} on {po.reference}. It is now {status}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(self._change_url(po))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": po,
            "title": f"Receive {po.reference}",
            "form": form,
            "error": error,
            "can_receive": po.is_open,
            "status_label": capfirst(po.get_status_display().lower()),
            "change_url": self._change_url(po),
        }
        return TemplateResponse(request, "admin/inventory/purchaseorder/receive.html", context)
