"""Filters of GET /api/v1/orders/ (docs/api.md, "Orders and the backorder queue").

A bad value (an unknown status, a date that is not ISO 8601, `has_waiting=maybe`) is a 400 with the
field's message: django-filter's backend raises the form's errors as a ValidationError. So is a query
parameter no filter knows: a misspelt `emial=` would otherwise quietly list every order.
"""

import django_filters
from django.db.models import Exists, OuterRef

from orders.models import Order, OrderEvent, OrderLine, OrderStatus

from .base import BooleanFilter, DateTimeFilter, StrictFilterSet


class OrderFilter(StrictFilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=OrderStatus.choices,
        help_text="The order's status; repeat the parameter for any of several.",
    )
    placed_after = DateTimeFilter(
        field_name="placed_at", lookup_expr="gte", help_text="Placed at or after this moment (ISO 8601)."
    )
    placed_before = DateTimeFilter(
        field_name="placed_at", lookup_expr="lt", help_text="Placed before this moment (ISO 8601)."
    )
    has_waiting = BooleanFilter(
        method="filter_has_waiting",
        help_text="true: orders with units waiting for stock; false: orders with none.",
    )
    email = django_filters.CharFilter(
        field_name="email", lookup_expr="iexact", max_length=254, help_text="The customer's email, any case."
    )
    changed_since = DateTimeFilter(
        method="filter_changed_since",
        help_text="Orders with a timeline event (placed, allocated, shipped, delayed, cancelled, refunded, "
        "priority, note) at or after this moment (ISO 8601): every change of an order writes one.",
    )

    class Meta:
        model = Order
        fields = ["status", "placed_after", "placed_before", "has_waiting", "email", "changed_since"]

    def filter_has_waiting(self, queryset, name, value):
        waiting = Exists(OrderLine.objects.waiting().filter(order=OuterRef("pk")))
        return queryset.filter(waiting if value else ~waiting)

    def filter_changed_since(self, queryset, name, value):
        return queryset.filter(Exists(OrderEvent.objects.filter(order=OuterRef("pk"), created_at__gte=value)))
