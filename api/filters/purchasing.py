"""Filters of the purchase-order and supplier lists (api/views/purchasing.py).

Every value is checked by its form field before any query: a status that does not exist, an id that
is not a whole number in the id column's range, or a date that is not a date is a 400 naming the
parameter, never a 500. So is a parameter no filter knows: a misspelt `suplier=` would otherwise
quietly list every order.
"""

import django_filters

from inventory.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus, Supplier

from .base import DateTimeFilter, IdFilter, StrictFilterSet


class PurchaseOrderFilter(StrictFilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=PurchaseOrderStatus.choices,
        help_text="One or more statuses (repeat the parameter): draft, ordered, partially_received, "
        "received, cancelled.",
    )
    supplier = IdFilter(field_name="supplier_id", help_text="The supplier's id (GET /api/v1/suppliers/).")
    warehouse = IdFilter(field_name="warehouse_id", help_text="The receiving warehouse's id.")
    expected_date_after = django_filters.DateFilter(
        field_name="expected_date",
        lookup_expr="gte",
        help_text="Expected on or after this date (YYYY-MM-DD); an order with no date does not match.",
    )
    expected_date_before = django_filters.DateFilter(
        field_name="expected_date",
        lookup_expr="lte",
        help_text="Expected on or before this date (YYYY-MM-DD); an order with no date does not match.",
    )
    variant = IdFilter(method="filter_variant", help_text="Only orders with a line for this variant id.")
    sku = django_filters.CharFilter(
        method="filter_sku", max_length=64, help_text="Only orders with a line for this SKU (exact)."
    )
    updated_after = DateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Only orders changed at or after this time (ISO 8601): what an ERP polls for.",
    )

    class Meta:
        model = PurchaseOrder
        fields: list[str] = []

    def filter_variant(self, queryset, name, value):
        return queryset.filter(
            pk__in=PurchaseOrderLine.objects.filter(variant_id=value).values("purchase_order")
        )

    def filter_sku(self, queryset, name, value):
        return queryset.filter(
            pk__in=PurchaseOrderLine.objects.filter(variant__sku=value).values("purchase_order")
        )


class SupplierFilter(StrictFilterSet):
    name = django_filters.CharFilter(
        lookup_expr="icontains", max_length=200, help_text="Suppliers whose name contains this text."
    )

    class Meta:
        model = Supplier
        fields: list[str] = []
