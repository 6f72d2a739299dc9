"""Orders: the list, its filters and the order page (lines, shipments, delays, feedback, timeline,
payment), all read-only, and the list's actions.

Orders are placed by customers; their stock, quantities, statuses and money
change only through `orders.services`, which the order list's actions call
with the staff user's id, one order (one transaction) at a time, reporting a
refusal as a message on the page. Shipping and cancelling claim the list
page's one-time submission key (one claim per order), so a page sent twice
ships or cancels once (shop/submissions.py). Shipping, also from the order
page's "Ship ready items" button, is in `orders.admin.shipping`.

The order form itself saves nothing, not even the address: there is no
service for address changes yet (one would record a timeline event and refuse
once the order has shipped), and the admin's whole-row save would write back a
stale status or quantity over a shipment or cancellation that committed while
the page was open.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from orders.models import (
    Order,
    OrderEvent,
    OrderEventKind,
    OrderLine,
    Payment,
    ShipPolicy,
)
from orders.selectors import escalated_cutoff
from orders.selectors.amounts import order_amounts, orders_with_amounts
from orders.services import order_cancel_backordered, order_set_priority
from orders.wording import MoneyReleased, money_released_staff_text
from shop.formatting import date_in_words, money, units
from shop.submissions import AlreadySubmitted, submission_key_new

from .base import ReadOnlyInline, sum_of
from .delays import DelayNoticeInline
from .events import OrderEventInline
from .feedback import OrderFeedbackInline
from .payments import payment_table
from .shipments import ShipmentInline
from .shipping import REFUSALS, OrderShippingMixin, about


def waiting_lines():
    return OrderLine.objects.waiting().filter(order=OuterRef("pk"))


def overdue_lines():
    """Lines still waiting for stock after their expected date."""
    return waiting_lines().filter(expected_date__lt=timezone.localdate())


def escalated_lines():
    """Lines still waiting more than DELAY_ESCALATE_AFTER_DAYS past their first promised date."""
    return waiting_lines().filter(first_promised_date__lt=escalated_cutoff(today=timezone.localdate()))


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


class PriorityFilter(admin.SimpleListFilter):
    """The `is_priority` flag, titled as staff say it ("By priority", not the field's "By is priority")."""

    title = "priority"
    parameter_name = "priority"

    def lookups(self, request, model_admin):
        return [("yes", "Priority orders"), ("no", "Not priority")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(is_priority=self.value() == "yes")
        return None


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
        "vat",
    ]
    readonly_fields = fields

    @admin.display(description="VAT at placement")
    def vat(self, line: OrderLine) -> str:
        """The product's tax class and the rate charged (docs/tax.md); the invoice may use a newer one."""
        return f"{line.tax_rate.normalize():f} % ({line.get_tax_class_display().lower()})"

    @admin.display(description="Item")
    def item(self, line: OrderLine) -> str:
        options = f" ({line.options_label})" if line.options_label else ""
        return f"{line.sku} — {line.product_name}{options}"

    @admin.display(description="Ordered")
    def ordered(self, line: OrderLine) -> int:
        return line.quantity

    @admin.display(description="Set aside for the order")
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


@admin.register(Order)
class OrderAdmin(OrderShippingMixin, admin.ModelAdmin):
    """Orders, read-only; the actions are the only way to change one, each through a service."""

    list_display = [
        "number",
        "placed",
        "status",
        "money_summary",  # early: a wide list scrolls sideways, and the money must not be off screen
        "customer_email",
        "units_waiting",
        "policy",
        "priority",
        "overdue",
        "escalated",
    ]
    list_filter = [
        "status",
        HasBackordersFilter,
        OverdueFilter,
        EscalatedFilter,
        PriorityFilter,
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
        ("Business customer and VAT", {"fields": ["company_name", "vat_number", "reverse_charge"]}),
        (
            "Money",
            {
                "fields": [
                    "currency",
                    "subtotal",
                    "discount_total",
                    "shipping_cost",
                    "amounts",
                    "payment_details",
                    "documents",
                ]
            },
        ),
    ]
    readonly_fields = ["placed", "customer", "amounts", "payment_details", "documents"]
    inlines = [OrderLineInline, ShipmentInline, DelayNoticeInline, OrderFeedbackInline, OrderEventInline]

    def get_queryset(self, request):
        # The amounts (orders.selectors.amounts) make the list and the page count cancellations.
        return orders_with_amounts(
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

    @admin.display(description="Invoices and credit notes")
    def documents(self, obj: Order) -> str:
        from invoices.admin import order_documents_html

        return order_documents_html(obj.pk) if obj.pk else "—"

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

    @admin.display(description=f"Amounts ({settings.SHOP_CURRENCY})", ordering="amount_outstanding")
    def money_summary(self, obj: Order) -> str:
        """The order's money as a sum staff cannot misread: ordered, less cancelled, less captured, is
        what is still to be charged (sorted by that)."""
        a = order_amounts(obj)

        def line(text: str) -> str:  # one line each, however narrow the column (no-break spaces)
            return text.replace(" ", "\u00a0")

        def amount(value) -> str:  # the currency is in the heading: the column stays narrow
            return f"{value:,.2f}"

        lines = [(line(f"{amount(a.ordered)} ordered"),)]
        if a.cancelled:
            lines.append((line(f"− {amount(a.cancelled)} cancelled"),))
        if a.captured:
            lines.append((line(f"− {amount(a.captured)} captured"),))
        return format_html(
            '<span class="order-money">{}<strong>{}</strong></span>',
            format_html_join("", "{}<br>", lines),
            line(f"= {amount(a.outstanding)} outstanding"),
        )

    @admin.display(description="Amounts")
    def amounts(self, obj: Order) -> str:
        a = order_amounts(obj)
        rows = [
            ("Ordered", a.ordered, "the total when the order was placed"),
            ("Cancelled", a.cancelled, "released to the customer: never charged, or refunded"),
            ("Shipped (captured)", a.captured, "charged for what has shipped"),
            ("Outstanding", a.outstanding, "still to be charged when the rest ships"),
        ]
        return format_html(
            '<table class="order-amounts"><tbody>{}</tbody></table>',
            format_html_join(
                "",
                '<tr><th scope="row">{}</th><td>{}</td><td>{}</td></tr>',
                ((label, money(value, a.currency, plain=True), note) for label, value, note in rows),
            ),
        )

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
                order_cancel_backordered(
                    order_id=pk,
                    quantities=None,
                    user_id=request.user.pk,
                    by_staff=True,
                    submission_key=f"{key}:{pk}",
                )
            except AlreadySubmitted as exc:
                self.message_user(request, about(number, exc), messages.WARNING)
                continue
            except REFUSALS as exc:
                self.message_user(request, about(number, exc), messages.ERROR)
                continue
            event = OrderEvent.objects.filter(order_id=pk, kind=OrderEventKind.CANCELLED).latest(
                "created_at", "pk"
            )
            cancelled = sum(event.data.get("lines", {}).values())
            refund = OrderEvent.objects.filter(order_id=pk, kind=OrderEventKind.REFUNDED).latest(
                "created_at", "pk"
            )
            gateway = Payment.objects.filter(order_id=pk).values_list("gateway", flat=True).first()
            outcome = MoneyReleased.from_data(refund.data, gateway=gateway, currency=currency)
            self.message_user(
                request,
                f"{number}: cancelled {units(cancelled)} waiting for stock; {money_released_staff_text(outcome)}.",
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
