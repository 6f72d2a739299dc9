"""Feedback: answers to the request sent after a backordered order was delivered; read-only."""

from django.contrib import admin

from orders.models import OrderFeedback
from shop.formatting import datetime_in_words

from .base import ReadOnlyAdmin, ReadOnlyInline, order_link


class OrderFeedbackInline(ReadOnlyInline):
    model = OrderFeedback
    verbose_name_plural = "Feedback"
    fields = ["requested_at", "rating", "comment", "answered_at"]
    readonly_fields = fields


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
