"""The order timeline: every event of every order, newest first; read-only."""

from django.contrib import admin

from orders.models import OrderEvent
from shop.formatting import datetime_in_words

from .base import ReadOnlyAdmin, ReadOnlyInline, order_link


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
