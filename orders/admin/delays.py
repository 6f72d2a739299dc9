"""Delays: the delay emails of an order, and every slip found (what the customer was told, the new
date, why, and their answer); read-only."""

from django.contrib import admin
from django.utils.html import format_html_join

from orders.models import DelayNotice, DelayNoticeStatus, LineDelay
from shop.formatting import date_in_words, datetime_in_words

from .base import ReadOnlyAdmin, ReadOnlyInline, order_link


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
