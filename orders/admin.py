"""Staff admin for orders, payments, shipments, the order timeline and carts.

Everything here is read-only. Orders are placed by customers; their stock,
quantities, statuses and money change only through `orders/services.py`,
which the order list's actions call with the staff user's id, one order (one
transaction) at a time, reporting a refusal as a message on the page. Shipping
and cancelling claim the list page's one-time submission key (one claim per
order), so a page sent twice ships or cancels once (shop/submissions.py).

The order form itself saves nothing, not even the address: there is no
service for address changes yet (one would record a timeline event and refuse
once the order has shipped), and the admin's whole-row save would write back a
stale status or quantity over a shipment or cancellation that committed while
the page was open.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.db.models import Exists, F, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from inventory.admin import date_in_words, datetime_in_words, units
from inventory.services import StockError
from shop.submissions import OUT_OF_DATE, AlreadySubmitted, SubmissionKeyForm, submission_key_new

from .lifecycle import TransitionError
from .models import (
    Cart,
    CartLine,
    DelayNotice,
    DelayNoticeStatus,
    LineDelay,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderFeedback,
    OrderLine,
    Payment,
    PaymentTransaction,
    Shipment,
    ShipmentLine,
    ShipPolicy,
    TransactionKind,
)
from .selectors import escalated_cutoff
from .services import OrderActionError, order_cancel_backordered, order_set_priority, order_ship

# What a service may refuse with: the message says why, and nothing was written.
REFUSALS = (OrderActionError, StockError, TransitionError)


def money(amount: Decimal, currency: str) -> str:
    return f"{amount} {currency}"


def order_link(order: Order) -> str:
    url = reverse("admin:orders_order_change", args=[quote(order.pk)])
    return format_html('<a href="{}">{}</a>', url, order.number)


def sum_of(model, field: str, *, fk: str):
    """A correlated subquery summing `field` over the rows of `model` that point here (0 when none).

    A subquery rather than Sum() over a join: a search or filter on the same
    relation (e.g. SKU of lines) would join it again and multiply the sum.
    """
    rows = (
        model.objects.filter(**{fk: OuterRef("pk")})
        .order_by()
        .values(fk)
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(rows), 0, output_field=IntegerField())


def waiting_lines():
    return OrderLine.objects.filter(order=OuterRef("pk"), quantity_backordered__gt=0)


def overdue_lines():
    """Lines still waiting for stock after their expected date."""
    return waiting_lines().filter(expected_date__lt=timezone.localdate())


def escalated_lines():
    """Lines still waiting more than DELAY_ESCALATE_AFTER_DAYS past their first promised date."""
    return waiting_lines().filter(first_promised_date__lt=escalated_cutoff(today=timezone.localdate()))


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record written only by the services: staff may look, never add, change or delete."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """A read-only part of its parent, visible to whoever may see the parent."""

    template = "admin/orders/readonly_tabular.html"
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        opts = self.parent_model._meta
        return request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or request.user.has_perm(
            f"{opts.app_label}.change_{opts.model_name}"
        )


# --- orders ---------------------------------------------------------------------------------


class OrderLinesFilter(admin.SimpleListFilter):
    """Orders that have (yes) or have not (no) a line matching `lines()`, an OrderLine subquery."""

    yes_label = no_label = ""

    @staticmethod
    def lines():
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return [("yes", self.yes_label), ("no", self.no_label)]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(Exists(self.lines()))
        if self.value() == "no":
            return queryset.exclude(Exists(self.lines()))
        return None


class HasBackordersFilter(OrderLinesFilter):
    title = "backorders"
    parameter_name = "backorders"
    yes_label, no_label = "Has units waiting for stock", "Nothing waiting"
    lines = staticmethod(waiting_lines)


class OverdueFilter(OrderLinesFilter):
    title = "overdue"
    parameter_name = "overdue"
    yes_label, no_label = "Waiting past the expected date", "Not overdue"
    lines = staticmethod(overdue_lines)


class EscalatedFilter(OrderLinesFilter):
    """Orders whose customers have waited too long past the date first promised (docs/delays.md)."""

    title = "escalated"
    parameter_name = "escalated"
    yes_label, no_label = "Waiting too long past the first promised date", "Not escalated"
    lines = staticmethod(escalated_lines)


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    verbose_name_plural = "Lines"
    fields = [
        "item",
        "unit_price",
        "backorder_price",
        "ordered",
        "allocated",
        "backordered",
        "shipped",
        "cancelled",
        "expected",
        "status",
    ]
    readonly_fields = fields

    @admin.display(description="Item")
    def item(self, line: OrderLine) -> str:
        options = f" ({line.options_label})" if line.options_label else ""
        return f"{line.sku} — {line.product_name}{options}"

    @admin.display(description="Ordered")
    def ordered(self, line: OrderLine) -> int:
        return line.quantity

    @admin.display(description="Allocated")
    def allocated(self, line: OrderLine) -> int:
        return line.quantity_allocated

    @admin.display(description="Waiting")
    def backordered(self, line: OrderLine) -> int:
        return line.quantity_backordered

    @admin.display(description="Shipped")
    def shipped(self, line: OrderLine) -> int:
        return line.quantity_shipped

    @admin.display(description="Cancelled")
    def cancelled(self, line: OrderLine) -> int:
        return line.quantity_cancelled

    @admin.display(description="Backorder price")
    def backorder_price(self, line: OrderLine) -> str:
        if not line.quantity_at_backorder_price:
            return "—"
        return (
            f"{line.backorder_unit_price} for the last {units(line.quantity_at_backorder_price)} "
            f"({line.backorder_discount_percent.normalize():f} % off)"
        )

    @admin.display(description="Expected")
    def expected(self, line: OrderLine) -> str:
        if not line.quantity_backordered:
            return "—"
        if line.expected_date is None:
            return "Not known yet"
        text = date_in_words(line.expected_date)
        if line.expected_date < timezone.localdate():
            text += " (overdue)"
        if line.first_promised_date and line.first_promised_date != line.expected_date:
            text += f"; first promised {date_in_words(line.first_promised_date)}"
        return text


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ["shipment", "created", "created_by", "items", "amount"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("created_by").prefetch_related("lines__order_line")
        )

    @admin.display(description="Shipment")
    def shipment(self, obj: Shipment) -> str:
        url = reverse("admin:orders_shipment_change", args=[quote(obj.pk)])
        return format_html('<a href="{}">#{}</a>', url, obj.pk)

    @admin.display(description="Shipped")
    def created(self, obj: Shipment) -> str:
        return datetime_in_words(obj.created_at)

    @admin.display(description="Items")
    def items(self, obj: Shipment) -> str:
        return ", ".join(f"{line.quantity} × {line.order_line.sku}" for line in obj.lines.all())


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    verbose_name = "event"
    verbose_name_plural = "Timeline"
    fields = ["time", "kind", "message", "user", "visible_to_customer"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    @admin.display(description="Time")
    def time(self, obj: OrderEvent) -> str:
        return datetime_in_words(obj.created_at)


class DelayNoticeInline(ReadOnlyInline):
    """Delay emails of the order: the dates we told, the new ones, and the customer's answer."""

    model = DelayNotice
    verbose_name = "delay email"
    verbose_name_plural = "Delays"
    fields = ["created", "state", "sent", "items", "answer"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .exclude(status=DelayNoticeStatus.WITHDRAWN)
            .prefetch_related("line_delays__line")
        )

    @admin.display(description="Detected")
    def created(self, obj: DelayNotice) -> str:
        return datetime_in_words(obj.created_at)

    @admin.display(description="Status")
    def state(self, obj: DelayNotice) -> str:
        if obj.status == DelayNoticeStatus.PENDING:
            return f"Collecting; emailed after {datetime_in_words(obj.due_at)}"
        return obj.get_status_display()

    @admin.display(description="Emailed")
    def sent(self, obj: DelayNotice) -> str:
        return datetime_in_words(obj.sent_at) if obj.sent_at else "—"

    @admin.display(description="Items (told → new)")
    def items(self, obj: DelayNotice) -> str:
        delays = [d for d in obj.line_delays.all() if d.status != DelayNoticeStatus.WITHDRAWN]
        return format_html_join(
            "",
            "<div>{} — {} → {}{} ({})</div>",
            (
                (
                    d.line.sku,
                    date_in_words(d.old_date),
                    date_in_words(d.new_date),
                    " (estimate, no purchase order)" if d.estimated else "",
                    d.get_cause_display(),
                )
                for d in delays
            ),
        )

    @admin.display(description="Customer's answer")
    def answer(self, obj: DelayNotice) -> str:
        if not obj.choice:
            return "—" if obj.status == DelayNoticeStatus.SENT else ""
        return f"{obj.get_choice_display()} ({datetime_in_words(obj.choice_at)})"


class OrderFeedbackInline(ReadOnlyInline):
    model = OrderFeedback
    verbose_name_plural = "Feedback"
    fields = ["requested_at", "rating", "comment", "answered_at"]
    readonly_fields = fields


def payment_table(payment: Payment) -> str:
    """The authorization and every gateway call, as a small table."""
    c = payment.currency
    summary = format_html(
        "<p>{} {} · {}. Authorized {}, captured {}, voided {}, refunded {}; still open {}.</p>",
        payment.gateway,
        payment.reference,
        payment.get_status_display(),
        money(payment.amount_authorized, c),
        money(payment.amount_captured, c),
        money(payment.amount_voided, c),
        money(payment.amount_refunded, c),
        money(payment.amount_open, c),
    )
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                datetime_in_words(t.created_at),
                t.get_kind_display(),
                money(t.amount, c),
                "OK" if t.success else "Failed",
                t.gateway_reference or "—",
                t.message or "—",
            )
            for t in payment.transactions.order_by("created_at", "pk")
        ),
    )
    return format_html(
        "{}<table><thead><tr><th>Time</th><th>Call</th><th>Amount</th><th>Result</th><th>Gateway "
        "reference</th><th>Message</th></tr></thead><tbody>{}</tbody></table>",
        summary,
        rows,
    )


@dataclass(frozen=True)
class CancelPreview:
    """What "Cancel backordered quantities" would cancel on one order, and the money it would release.

    Mirrors order_cancel_backordered with quantities=None: every waiting unit,
    the last units of each line (those sold at the backorder price), plus the
    shipping charge when nothing of the order would be left to ship.
    """

    order: Order
    lines: list[tuple[OrderLine, int, Decimal]]  # (line, units, their price)
    shipping_returned: Decimal

    @property
    def amount(self) -> Decimal:
        return sum((price for _, _, price in self.lines), self.shipping_returned)

    @classmethod
    def of(cls, order: Order) -> "CancelPreview":
        lines = list(order.lines.all())
        waiting = []
        for line in lines:
            qty = line.quantity_backordered
            if qty:
                end = line.quantity - line.quantity_cancelled
                waiting.append((line, qty, line.price_of_units(end - qty, qty)))
        nothing_left = bool(waiting) and all(
            line.quantity_allocated == 0 and line.quantity_shipped == 0 for line in lines
        )
        return cls(
            order=order,
            lines=waiting,
            shipping_returned=order.shipping_cost if nothing_left else Decimal("0"),
        )


def _about(number: str, exc: Exception) -> str:
    """A refusal message that names the order once."""
    text = str(exc)
    return text if text.startswith(number) else f"{number}: {text}"


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders, read-only; the actions are the only way to change one, each through a service."""

    list_display = [
        "number",
        "customer_email",
        "placed",
        "status",
        "policy",
        "priority",
        "units_waiting",
        "order_total",
        "overdue",
        "escalated",
    ]
    list_filter = [
        "status",
        HasBackordersFilter,
        OverdueFilter,
        EscalatedFilter,
        "is_priority",
        "ship_policy",
        "placed_at",
    ]
    search_fields = ["number", "email", "lines__sku"]
    list_select_related = []  # every column is on the order row or annotated
    actions = ["ship_action", "cancel_backordered_action", "mark_priority_action", "remove_priority_action"]
    fieldsets = [
        (None, {"fields": ["number", "status", "ship_policy", "is_priority", "placed", "customer"]}),
        (
            "Shipping address",
            {
                "fields": [
                    "full_name",
                    "address_line1",
                    "address_line2",
                    "city",
                    "postcode",
                    "country",
                    "shipping_method",
                ]
            },
        ),
        (
            "Money",
            {
                "fields": [
                    "currency",
                    "subtotal",
                    "discount_total",
                    "shipping_cost",
                    "total",
                    "payment_details",
                ]
            },
        ),
    ]
    readonly_fields = ["placed", "customer", "payment_details"]
    inlines = [OrderLineInline, ShipmentInline, DelayNoticeInline, OrderFeedbackInline, OrderEventInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _units_waiting=sum_of(OrderLine, "quantity_backordered", fk="order"),
                _overdue=Exists(overdue_lines()),
                _escalated=Exists(escalated_lines()),
            )
        )

    # Orders are placed by customers and never removed; the form saves nothing (see the module).
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_process_permission(self, request) -> bool:
        """Cancelling waiting units (releasing money) and priority need the "change order" permission."""
        return request.user.has_perm("orders.change_order")

    def has_ship_permission(self, request) -> bool:
        """Shipping needs "change order" or "add shipment" (the Warehouse role: it ships, never refunds)."""
        return request.user.has_perm("orders.change_order") or request.user.has_perm("orders.add_shipment")

    @admin.display(description="Customer email", ordering="email")
    def customer_email(self, obj: Order) -> str:
        return obj.email

    @admin.display(description="Priority", boolean=True, ordering="is_priority")
    def priority(self, obj: Order) -> bool:
        return obj.is_priority

    @admin.display(description="Placed", ordering="placed_at")
    def placed(self, obj: Order) -> str:
        if obj.placed_at is None:
            return "—"
        return date_in_words(timezone.localtime(obj.placed_at))

    @admin.display(description="Ship policy", ordering="ship_policy")
    def policy(self, obj: Order) -> str:
        return "Together" if obj.ship_policy == ShipPolicy.TOGETHER else "Split"

    @admin.display(description="Units waiting", ordering="_units_waiting")
    def units_waiting(self, obj: Order) -> int:
        return obj._units_waiting

    @admin.display(description="Total", ordering="total")
    def order_total(self, obj: Order) -> str:
        return money(obj.total, obj.currency)

    @admin.display(description="Overdue", boolean=True, ordering="_overdue")
    def overdue(self, obj: Order) -> bool:
        return obj._overdue

    @admin.display(description="Escalated", boolean=True, ordering="_escalated")
    def escalated(self, obj: Order) -> bool:
        return obj._escalated

    @admin.display(description="Customer")
    def customer(self, obj: Order) -> str:
        if obj.user_id is None:
            return f"{obj.email} (guest checkout)"
        return f"{obj.email} (account: {obj.user.get_username()})"

    @admin.display(description="Payment")
    def payment_details(self, obj: Order) -> str:
        payment = Payment.objects.filter(order=obj).first()
        if payment is None:
            return "No payment recorded."
        return payment_table(payment)

    # --- actions: one service call (one transaction) per order, one message per order ---

    def changelist_view(self, request, extra_context=None):
        # Each rendering of the list gets a fresh one-time key for its action form (change_list.html).
        return super().changelist_view(
            request, {**(extra_context or {}), "submission_key": submission_key_new()}
        )

    def _submission_key(self, request) -> str | None:
        """The posted one-time key of the action form; None, with an error message, if it is missing or bad."""
        form = SubmissionKeyForm(request.POST)
        if form.is_valid():
            return form.cleaned_data["submission_key"]
        self.message_user(request, OUT_OF_DATE, messages.ERROR)
        return None

    @admin.action(description="Ship allocated items", permissions=["ship"])
    def ship_action(self, request, queryset):
        key = self._submission_key(request)
        if key is None:
            return None
        rows = queryset.order_by("pk").values_list("pk", "number", "currency", "shipping_cost")
        for pk, number, currency, shipping_cost in rows:
            try:
                shipment = order_ship(order_id=pk, user_id=request.user.pk, submission_key=f"{key}:{pk}")
            except AlreadySubmitted as exc:
                self.message_user(request, _about(number, exc), messages.WARNING)
                continue
            except REFUSALS as exc:
                self.message_user(request, _about(number, exc), messages.ERROR)
                continue
            shipped = shipment.lines.aggregate(units=Sum("quantity"))["units"]
            captured = PaymentTransaction.objects.get(shipment=shipment, kind=TransactionKind.CAPTURE).amount
            first = not Shipment.objects.filter(order_id=pk).exclude(pk=shipment.pk).exists()
            note = f", including {money(shipping_cost, currency)} shipping" if first and shipping_cost else ""
            self.message_user(
                request,
                f"{number}: shipped {units(shipped)} (shipment #{shipment.pk}); "
                f"captured {money(captured, currency)}{note}.",
                messages.SUCCESS,
            )

    @admin.action(description="Cancel backordered quantities…", permissions=["process"])
    def cancel_backordered_action(self, request, queryset):
        """Ask first (listing every waiting unit and the money released); cancel on the confirming POST.

        The list page's one-time key is carried through the confirmation page and claimed there."""
        key = self._submission_key(request)
        if key is None:
            return None
        if request.POST.get("post") != "yes":
            previews = [CancelPreview.of(o) for o in queryset.order_by("pk").prefetch_related("lines")]
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Cancel backordered quantities",
                "previews": previews,
                "to_cancel": [p for p in previews if p.lines],
                "nothing_waiting": [p.order.number for p in previews if not p.lines],
                "action_name": "cancel_backordered_action",
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "submission_key": key,
                "media": self.media,
            }
            return TemplateResponse(request, "admin/orders/order/cancel_backordered.html", context)
        for pk, number, currency in queryset.order_by("pk").values_list("pk", "number", "currency"):
            try:
                released = order_cancel_backordered(
                    order_id=pk,
                    quantities=None,
                    user_id=request.user.pk,
                    by_staff=True,
                    submission_key=f"{key}:{pk}",
                )
            except AlreadySubmitted as exc:
                self.message_user(request, _about(number, exc), messages.WARNING)
                continue
            except REFUSALS as exc:
                self.message_user(request, _about(number, exc), messages.ERROR)
                continue
            event = OrderEvent.objects.filter(order_id=pk, kind=OrderEventKind.CANCELLED).latest(
                "created_at", "pk"
            )
            cancelled = sum(event.data.get("lines", {}).values())
            self.message_user(
                request,
                f"{number}: cancelled {units(cancelled)} waiting for stock; "
                f"{money(released, currency)} released to the customer.",
                messages.SUCCESS,
            )
        return None

    @admin.action(description="Mark as priority", permissions=["process"])
    def mark_priority_action(self, request, queryset):
        self._set_priority(request, queryset, True)

    @admin.action(description="Remove priority", permissions=["process"])
    def remove_priority_action(self, request, queryset):
        self._set_priority(request, queryset, False)

    def _set_priority(self, request, queryset, is_priority: bool) -> None:
        for pk, number in queryset.order_by("pk").values_list("pk", "number"):
            changed = order_set_priority(order_id=pk, is_priority=is_priority, user_id=request.user.pk)
            if changed:
                text = "is now a priority order" if is_priority else "is no longer a priority order"
                self.message_user(request, f"{number} {text}.", messages.SUCCESS)
            else:
                text = "was already a priority order" if is_priority else "was not a priority order"
                self.message_user(request, f"{number} {text}.", messages.INFO)


# --- payments -------------------------------------------------------------------------------


class PaymentTransactionInline(ReadOnlyInline):
    model = PaymentTransaction
    verbose_name = "gateway call"
    verbose_name_plural = "Gateway calls"
    fields = ["time", "kind", "amount", "success", "gateway_reference", "message", "shipment_no", "user"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    @admin.display(description="Time")
    def time(self, obj: PaymentTransaction) -> str:
        return datetime_in_words(obj.created_at)

    @admin.display(description="Shipment")
    def shipment_no(self, obj: PaymentTransaction) -> str:
        if obj.shipment_id is None:
            return "—"
        url = reverse("admin:orders_shipment_change", args=[quote(obj.shipment_id)])
        return format_html('<a href="{}">#{}</a>', url, obj.shipment_id)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "order_number",
        "status",
        "gateway",
        "reference",
        "amount_authorized",
        "amount_captured",
        "amount_voided",
        "amount_refunded",
        "open_amount",
        "created",
    ]
    list_filter = ["status", "gateway", "created_at"]
    list_select_related = ["order"]
    search_fields = ["order__number", "order__email", "reference"]
    ordering = ["-created_at", "-pk"]
    fields = [
        "order_number",
        "gateway",
        "reference",
        "currency",
        "status",
        "amount_authorized",
        "amount_captured",
        "amount_voided",
        "amount_refunded",
        "open_amount",
        "created",
    ]
    readonly_fields = fields
    inlines = [PaymentTransactionInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("order")
            .annotate(_open=F("amount_authorized") - F("amount_captured") - F("amount_voided"))
        )

    @admin.display(description="Order", ordering="order__number")
    def order_number(self, obj: Payment) -> str:
        return order_link(obj.order)

    @admin.display(description="Open", ordering="_open")
    def open_amount(self, obj: Payment) -> Decimal:
        return obj.amount_open

    @admin.display(description="Authorized at", ordering="created_at")
    def created(self, obj: Payment) -> str:
        return datetime_in_words(obj.created_at)


# --- shipments ------------------------------------------------------------------------------


class ShipmentLineInline(ReadOnlyInline):
    model = ShipmentLine
    verbose_name_plural = "Items"
    fields = ["sku", "product", "quantity"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line")

    @admin.display(description="SKU")
    def sku(self, obj: ShipmentLine) -> str:
        return obj.order_line.sku

    @admin.display(description="Product")
    def product(self, obj: ShipmentLine) -> str:
        return obj.order_line.product_name


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = ["shipment", "order_number", "created", "created_by", "units_shipped", "amount"]
    list_filter = ["created_at"]
    list_select_related = ["order", "created_by"]
    search_fields = ["=id", "order__number", "order__email", "lines__order_line__sku"]
    fields = ["order_number", "created", "created_by", "amount", "capture"]
    readonly_fields = fields
    inlines = [ShipmentLineInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("order", "created_by")
            .annotate(_units=sum_of(ShipmentLine, "quantity", fk="shipment"))
        )

    @admin.display(description="Shipment", ordering="pk")
    def shipment(self, obj: Shipment) -> str:
        return f"#{obj.pk}"

    @admin.display(description="Order", ordering="order__number")
    def order_number(self, obj: Shipment) -> str:
        return order_link(obj.order)

    @admin.display(description="Shipped", ordering="created_at")
    def created(self, obj: Shipment) -> str:
        return datetime_in_words(obj.created_at)

    @admin.display(description="Units", ordering="_units")
    def units_shipped(self, obj: Shipment) -> int:
        return obj._units

    @admin.display(description="Captured")
    def capture(self, obj: Shipment) -> str:
        captures = PaymentTransaction.objects.filter(shipment=obj, kind=TransactionKind.CAPTURE)
        return (
            "; ".join(
                f"{money(t.amount, obj.order.currency)} ({'OK' if t.success else 'failed'})" for t in captures
            )
            or "—"
        )


# --- the order timeline -----------------------------------------------------------------------


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ["time", "order_number", "kind", "message", "user", "visible_to_customer"]
    list_filter = ["kind", "visible_to_customer", "created_at"]
    list_select_related = ["order", "user"]
    search_fields = ["order__number", "message"]
    ordering = ["-created_at", "-pk"]
    show_full_result_count = False  # the timeline only grows; skip the second COUNT(*) when filtering
    fields = ["time", "order_number", "kind", "message", "data", "user", "visible_to_customer"]
    readonly_fields = fields

    @admin.display(description="Time", ordering="created_at")
    def time(self, obj: OrderEvent) -> str:
        return datetime_in_words(obj.created_at)

    @admin.display(description="Order", ordering="order__number")
    def order_number(self, obj: OrderEvent) -> str:
        return order_link(obj.order)


# --- carts (for support) ------------------------------------------------------------------------


class CartOwnerFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "owner"

    def lookups(self, request, model_admin):
        return [("customer", "Signed-in customer"), ("guest", "Guest")]

    def queryset(self, request, queryset):
        if self.value() == "customer":
            return queryset.filter(user__isnull=False)
        if self.value() == "guest":
            return queryset.filter(user__isnull=True)
        return None


class CartLineInline(ReadOnlyInline):
    model = CartLine
    verbose_name_plural = "Items"
    fields = ["sku", "product", "quantity", "added"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant__product")

    @admin.display(description="SKU")
    def sku(self, obj: CartLine) -> str:
        return obj.variant.sku

    @admin.display(description="Product")
    def product(self, obj: CartLine) -> str:
        return str(obj.variant)

    @admin.display(description="Added")
    def added(self, obj: CartLine) -> str:
        return datetime_in_words(obj.added_at)


@admin.register(Cart)
class CartAdmin(ReadOnlyAdmin):
    list_display = ["cart", "owner", "units_in_cart", "created", "updated"]
    list_filter = [CartOwnerFilter, "updated_at"]
    list_select_related = ["user"]
    search_fields = ["=id", "user__email", "user__username", "lines__variant__sku"]
    ordering = ["-updated_at", "-pk"]
    fields = ["owner", "created", "updated"]
    readonly_fields = fields
    inlines = [CartLineInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("user")
            .annotate(_units=sum_of(CartLine, "quantity", fk="cart"))
        )

    @admin.display(description="Cart", ordering="pk")
    def cart(self, obj: Cart) -> str:
        return f"#{obj.pk}"

    @admin.display(description="Owner", ordering="user__email")
    def owner(self, obj: Cart) -> str:
        if obj.user_id is None:
            return "Guest"
        return obj.user.email or obj.user.get_username()

    @admin.display(description="Units", ordering="_units")
    def units_in_cart(self, obj: Cart) -> int:
        return obj._units

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: Cart) -> str:
        return datetime_in_words(obj.created_at)

    @admin.display(description="Last changed", ordering="updated_at")
    def updated(self, obj: Cart) -> str:
        return datetime_in_words(obj.updated_at)


# --- delays and feedback ------------------------------------------------------------------------


@admin.register(LineDelay)
class LineDelayAdmin(ReadOnlyAdmin):
    """Every slip found, read-only: what the customer was told, the new date, why, and their answer."""

    list_display = [
        "order_number",
        "email",
        "item",
        "told",
        "new",
        "days",
        "cause",
        "status",
        "answer",
        "detected",
    ]
    list_filter = ["cause", "status", "notice__choice", "estimated", "detected_at"]
    search_fields = ["notice__order__number", "notice__order__email", "line__sku"]
    list_select_related = ["notice__order", "line"]
    fields = [
        "order_number",
        "item",
        "cause",
        "purchase_order",
        "old_date",
        "new_date",
        "estimated",
        "lead_time_days",
        "units_waiting",
        "status",
        "answer",
        "detected",
    ]
    readonly_fields = fields

    @admin.display(description="Order", ordering="notice__order__number")
    def order_number(self, obj: LineDelay) -> str:
        return order_link(obj.notice.order)

    @admin.display(description="Customer email", ordering="notice__order__email")
    def email(self, obj: LineDelay) -> str:
        return obj.notice.order.email

    @admin.display(description="Item", ordering="line__sku")
    def item(self, obj: LineDelay) -> str:
        return f"{obj.line.sku} — {obj.line.product_name}"

    @admin.display(description="Told", ordering="old_date")
    def told(self, obj: LineDelay) -> str:
        return date_in_words(obj.old_date)

    @admin.display(description="New date", ordering="new_date")
    def new(self, obj: LineDelay) -> str:
        return date_in_words(obj.new_date) + (" (estimate)" if obj.estimated else "")

    @admin.display(description="Days later")
    def days(self, obj: LineDelay) -> int:
        return obj.days_later

    @admin.display(description="Customer's answer", ordering="notice__choice")
    def answer(self, obj: LineDelay) -> str:
        return obj.notice.get_choice_display() if obj.status == DelayNoticeStatus.SENT else "—"

    @admin.display(description="Detected", ordering="detected_at")
    def detected(self, obj: LineDelay) -> str:
        return datetime_in_words(obj.detected_at)


class RatingFilter(admin.SimpleListFilter):
    """The five ratings, without asking the database which exist."""

    title = "rating"
    parameter_name = "rating"

    def lookups(self, request, model_admin):
        return [(str(n), f"{n} of 5") for n in range(5, 0, -1)]

    def queryset(self, request, queryset):
        if self.value() in {"1", "2", "3", "4", "5"}:
            return queryset.filter(rating=int(self.value()))
        return None


class AnsweredFilter(admin.SimpleListFilter):
    title = "answered"
    parameter_name = "answered"

    def lookups(self, request, model_admin):
        return [("yes", "Answered"), ("no", "No answer yet")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(answered_at__isnull=self.value() == "no")
        return None


@admin.register(OrderFeedback)
class OrderFeedbackAdmin(ReadOnlyAdmin):
    """Answers to the feedback request sent after a backordered order was delivered."""

    list_display = ["order_number", "email", "rating", "comment", "requested", "answered"]
    list_filter = [RatingFilter, AnsweredFilter, "requested_at"]
    search_fields = ["order__number", "order__email", "comment"]
    list_select_related = ["order"]
    fields = ["order_number", "email", "rating", "comment", "requested", "answered"]
    readonly_fields = fields

    @admin.display(description="Order", ordering="order__number")
    def order_number(self, obj: OrderFeedback) -> str:
        return order_link(obj.order)

    @admin.display(description="Customer email", ordering="order__email")
    def email(self, obj: OrderFeedback) -> str:
        return obj.order.email

    @admin.display(description="Asked", ordering="requested_at")
    def requested(self, obj: OrderFeedback) -> str:
        return datetime_in_words(obj.requested_at)

    @admin.display(description="Answered", ordering="answered_at")
    def answered(self, obj: OrderFeedback) -> str:
        return datetime_in_words(obj.answered_at) if obj.answered_at else "—"
