"""Purchase orders: the list and page, their lines and expected-date history, and the receive,
mark-ordered and cancel pages.

The header's plain fields (supplier, warehouse, reference while a draft; notes) and a draft's lines
are saved here, under the purchase order's lock; the expected date, the status and received
quantities change only through `inventory.services` (date field, buttons, actions).
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import capfirst

from inventory.console.reports import DUE_SOON_DAYS, due_soon_end
from inventory.forms import PurchaseOrderAdminForm, PurchaseOrderReceiveForm
from inventory.locks import purchase_order_lock
from inventory.models import OPEN_PO_STATUSES, PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from inventory.services import (
    PurchaseOrderError,
    StockError,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_mark_ordered,
    purchase_order_receive,
    purchase_order_set_expected_date,
)
from orders.delays import delays_preview
from orders.models import Order
from shop.formatting import date_in_words, datetime_in_words, units
from shop.submissions import AlreadySubmitted

from .purchasing_inlines import PurchaseOrderDateChangeInline, PurchaseOrderLineInline, is_draft
from .purchasing_supplier import PurchaseOrderAnswerFilter, done_news, ordered_news, supplier_answer


class PurchaseOrderDueFilter(admin.SimpleListFilter):
    """Open purchase orders by expected date; the dashboard links here."""

    title = "due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        # "week": the dashboard's "due in the next 7 days" (the parameter kept for links already shared).
        return [
            ("week", f"Due in the next {DUE_SOON_DAYS} days (today included)"),
            ("overdue", "Overdue"),
            ("none", "No date yet"),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        open_orders = queryset.filter(status__in=OPEN_PO_STATUSES)
        if self.value() == "week":
            return open_orders.filter(expected_date__gte=today, expected_date__lte=due_soon_end(today))
        if self.value() == "overdue":
            return open_orders.filter(expected_date__lt=today)
        if self.value() == "none":
            return open_orders.filter(expected_date__isnull=True)
        return None


def date_change_news(po: PurchaseOrder) -> str:
    """What a new expected date means for waiting customers, said when staff save it.

    After commit, the delay check (`orders.delays.delays_detect`, run by the service's
    `supply_changed` hook) re-projects the queues of the order's items and emails every customer
    whose date got later; `delays_preview` runs that same check now, writing nothing. A draft sends
    no hook (it promises nothing), so nobody is told.
    """
    if po.status == PurchaseOrderStatus.DRAFT:
        return f"{po.reference} is a draft, so no customer waits on its date and nobody is emailed."
    variant_ids = po.lines.values_list("variant_id", flat=True)
    order_ids = {slip.order_id for slip in delays_preview(variant_ids=variant_ids)}
    if not order_ids:
        return "No waiting order gets a later date, so no customer is emailed about it."
    customers = Order.objects.filter(pk__in=order_ids).values("email").distinct().count()
    orders = len(order_ids)
    if orders == 1:
        return "1 waiting order now gets a later date: its customer will be emailed about the new date."
    who = "their customer" if customers == 1 else f"their {customers} customers"
    return f"{orders} waiting orders now get a later date: {who} will be emailed about the new date."


def _line_sum(field: str):
    """A sum over the order's lines as a subquery, not Sum() over a join: the search by SKU joins the
    lines too, which would count every line once per matching line."""
    rows = (
        PurchaseOrderLine.objects.filter(purchase_order=OuterRef("pk"))
        .order_by()
        .values("purchase_order")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(rows), 0, output_field=IntegerField())


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
    list_filter = ["status", PurchaseOrderDueFilter, PurchaseOrderAnswerFilter, "supplier", "warehouse"]
    list_select_related = ["supplier", "warehouse"]
    # A waiting SKU finds the purchase orders bringing it (the changelist keeps one row per order).
    search_fields = ["reference", "supplier__name", "lines__variant__sku", "lines__variant__product__name"]
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
                _units_ordered=_line_sum("quantity_ordered"),
                _units_received=_line_sum("quantity_received"),
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
        date_fields = ["expected_date", *(["supplier_answer"] if obj.ordered_at else [])]
        if obj.status not in (PurchaseOrderStatus.RECEIVED, PurchaseOrderStatus.CANCELLED):
            date_fields.append("date_change_reason")
        # "Cancelled: Not yet" on every open order says nothing: the field shows only once it happened.
        history = ["created", "ordered", *(["cancelled"] if obj.cancelled_at else []), "last_changed"]
        return [
            (None, {"fields": ["supplier", "warehouse", "reference", "status"]}),
            ("Delivery", {"fields": date_fields}),
            (None, {"fields": ["notes", *history]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["status", "created", "ordered", "cancelled", "last_changed", "supplier_answer"]
        if not is_draft(obj):
            readonly += self.DRAFT_ONLY_FIELDS
        if obj is not None and obj.status in (PurchaseOrderStatus.RECEIVED, PurchaseOrderStatus.CANCELLED):
            readonly.append("expected_date")
        return readonly

    def has_delete_permission(self, request, obj=None) -> bool:
        # Only a draft may disappear; an order that went to the supplier is cancelled instead.
        return is_draft(obj) and super().has_delete_permission(request, obj)

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

    supplier_answer = staticmethod(supplier_answer)

    @admin.display(description="Sent to the supplier")
    def ordered(self, obj: PurchaseOrder) -> str:
        return self._when_and_who(obj.ordered_at, obj.ordered_by)

    @admin.display(description="Cancelled on")
    def cancelled(self, obj: PurchaseOrder) -> str:
        """Shown only on a cancelled order (get_fieldsets): "Cancelled on: 3 March 2026, 14:05 by ann"."""
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
        current = purchase_order_lock(obj.pk)
        changed = [name for name in form.changed_data if name in self.PLAIN_FIELDS]
        if current.status != PurchaseOrderStatus.DRAFT and set(changed) & set(self.DRAFT_ONLY_FIELDS):
            raise PurchaseOrderError(
                f"{current.reference} is no longer a draft, so its supplier, warehouse and reference "
                "cannot change. Reload the page to see it as it is now."
            )
        if changed:
            obj.save(update_fields=[*changed, "updated_at"])
        if "expected_date" in form.changed_data:
            changed_date = purchase_order_set_expected_date(
                purchase_order_id=obj.pk,
                expected_date=form.cleaned_data["expected_date"],
                user_id=request.user.pk,
                reason=form.cleaned_data.get("date_change_reason", ""),
            )
            if changed_date is not None:
                # Told after the whole save succeeded (response_change), never for a rolled-back one.
                request._po_date_news = date_change_news(current)

    def response_change(self, request, obj):
        response = super().response_change(request, obj)
        news = getattr(request, "_po_date_news", None)
        if news:
            self.message_user(request, news, messages.INFO)
        return response

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
            po = purchase_order_lock(form.instance.pk)
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
                self.message_user(request, *done_news(done, po))
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
            done=ordered_news,
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
        self._run_for_each(request, queryset, purchase_order_mark_ordered, ordered_news)

    @admin.action(description="Cancel selected purchase orders", permissions=["change"])
    def cancel_action(self, request, queryset):
        self._run_for_each(request, queryset, purchase_order_cancel, "{reference} is cancelled.")

    def _run_for_each(self, request, queryset, service, done) -> None:
        """One service call (one transaction) per order, so one refusal does not stop the others."""
        for po in queryset.select_related("supplier").order_by("pk"):
            try:
                service(purchase_order_id=po.pk, user_id=request.user.pk)
            except StockError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, *done_news(done, po))

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
