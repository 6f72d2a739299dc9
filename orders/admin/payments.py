"""Payments: the authorization and every gateway call (capture, void, refund), read-only."""

from decimal import Decimal

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db.models import F
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from orders.models import Payment, PaymentTransaction
from shop.formatting import datetime_in_words, money

from .base import ReadOnlyAdmin, ReadOnlyInline, order_link


def payment_table(payment: Payment) -> str:
    """The authorization and every gateway call, as a small table."""
    c = payment.currency
    summary = format_html(
        "<p>{} {} · {}. Authorized {}, captured {}, voided {}, refunded {}; still open {}.</p>",
        payment.gateway,
        payment.reference,
        payment.get_status_display(),
        money(payment.amount_authorized, c, plain=True),
        money(payment.amount_captured, c, plain=True),
        money(payment.amount_voided, c, plain=True),
        money(payment.amount_refunded, c, plain=True),
        money(payment.amount_open, c, plain=True),
    )
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                datetime_in_words(t.created_at),
                t.get_kind_display(),
                money(t.amount, c, plain=True),
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
