"""Filters of GET /api/v1/orders/ (docs/api.md, "Orders and the backorder queue").

A bad value (an unknown status, a date that is not ISO 8601, `has_waiting=maybe`) is a 400 with the
field's message: django-filter's backend raises the form's errors as a ValidationError. So is a query
parameter no filter knows: a misspelt `emial=` would otherwise quietly list every order.
"""

from datetime import UTC

import django_filters
from django import forms
from django.db.models import Exists, OuterRef
from django_filters.fields import IsoDateTimeField
from rest_framework.exceptions import ValidationError

from orders.models import Order, OrderEvent, OrderLine, OrderStatus

PAGINATION_PARAMETERS = frozenset({"cursor", "page_size"})


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 moment, turned to UTC: PostgreSQL takes offsets up to ±15:59 only, ISO 8601 up to ±23:59."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
            raise forms.ValidationError("That moment is out of range.", code="invalid") from None


class MomentFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=OrderStatus.choices,
        help_text="The order's status; repeat the parameter for any of several.",
    )
    placed_after = MomentFilter(
        field_name="placed_at", lookup_expr="gte", help_text="Placed at or after this moment (ISO 8601)."
    )
    placed_before = MomentFilter(
        field_name="placed_at", lookup_expr="lt", help_text="Placed before this moment (ISO 8601)."
    )
    has_waiting = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_has_waiting",
        help_text="true: orders with units waiting for stock; false: orders with none.",
    )
    email = django_filters.CharFilter(
        field_name="email", lookup_expr="iexact", max_length=254, help_text="The customer's email, any case."
    )
    changed_since = MomentFilter(
        method="filter_changed_since",
        help_text="Orders with a timeline event (placed, allocated, shipped, delayed, cancelled, refunded, "
        "priority, note) at or after this moment (ISO 8601): every change of an order writes one.",
    )

    class Meta:
        model = Order
        fields = ["status", "placed_after", "placed_before", "has_waiting", "email", "changed_since"]

    def is_valid(self) -> bool:
        unknown = sorted(set(self.data) - set(self.filters) - PAGINATION_PARAMETERS)
        if unknown:
            known = ", ".join(sorted(set(self.filters) | PAGINATION_PARAMETERS))
            raise ValidationError({name: [f"Unknown query parameter. Known: {known}."] for name in unknown})
        return super().is_valid()

    def filter_has_waiting(self, queryset, name, value):
        waiting = Exists(OrderLine.objects.waiting().filter(order=OuterRef("pk")))
        return queryset.filter(waiting if value == "true" else ~waiting)

    def filter_changed_since(self, queryset, name, value):
        return queryset.filter(Exists(OrderEvent.objects.filter(order=OuterRef("pk"), created_at__gte=value)))
