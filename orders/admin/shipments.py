"""Shipments: what left the warehouse, when, by whom, and the capture it triggered; read-only."""

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.html import format_html

from orders.models import PaymentTransaction, Shipment, ShipmentLine, TransactionKind
from shop.formatting import datetime_in_words, money

from .base import ReadOnlyAdmin, ReadOnlyInline, order_link, sum_of


def shipment_amount(obj: Shipment) -> str:
    """'27.55 EUR': a shipment's amount with its order's currency, as staff read money (shop.formatting)."""
    return money(obj.amount, obj.order.currency, plain=True)


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ["shipment", "created", "created_by", "items", "amount_with_currency"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("created_by", "order")
            .prefetch_related("lines__order_line")
        )

    @admin.display(description="Amount")
    def amount_with_currency(self, obj: Shipment) -> str:
        return shipment_amount(obj)

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
    list_display = [
        "shipment",
        "order_number",
        "created",
        "created_by",
        "units_shipped",
        "amount_with_currency",
    ]
    list_filter = ["created_at"]
    list_select_related = ["order", "created_by"]
    search_fields = ["=id", "order__number", "order__email", "lines__order_line__sku"]
    fields = ["order_number", "created", "created_by", "amount_with_currency", "capture"]
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

    @admin.display(description="Amount", ordering="amount")
    def amount_with_currency(self, obj: Shipment) -> str:
        return shipment_amount(obj)

    @admin.display(description="Captured")
    def capture(self, obj: Shipment) -> str:
        captures = PaymentTransaction.objects.filter(shipment=obj, kind=TransactionKind.CAPTURE)
        return (
            "; ".join(
                f"{money(t.amount, obj.order.currency, plain=True)} ({'OK' if t.success else 'failed'})"
                for t in captures
            )
            or "—"
        )
