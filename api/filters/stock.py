"""Filters of the stock endpoints (api/views/stock.py): stock levels, the ledger, warehouses."""

import django_filters

from inventory.models import MovementReason, StockItem, StockMovement, Warehouse

from .base import BooleanFilter, DateTimeFilter, IdListFilter, StrictFilterSet, TextFilter, TextListFilter


class StockItemFilter(StrictFilterSet):
    variant = IdListFilter(
        field_name="variant_id", lookup_expr="in", help_text="Variant id, or several comma-separated."
    )
    sku = TextListFilter(
        field_name="variant__sku", lookup_expr="in", help_text="Exact SKU, or several comma-separated."
    )
    warehouse = IdListFilter(
        field_name="warehouse_id", lookup_expr="in", help_text="Warehouse id, or several comma-separated."
    )
    warehouse_code = TextFilter(field_name="warehouse__code", help_text="Warehouse code, e.g. MAIN.")
    updated_since = DateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Levels changed at or after this time (ISO 8601).",
    )

    class Meta:
        model = StockItem
        fields: list[str] = []


class LedgerFilter(StrictFilterSet):
    variant = IdListFilter(
        field_name="variant_id", lookup_expr="in", help_text="Variant id, or several comma-separated."
    )
    sku = TextListFilter(
        field_name="variant__sku", lookup_expr="in", help_text="Exact SKU, or several comma-separated."
    )
    warehouse = IdListFilter(
        field_name="warehouse_id", lookup_expr="in", help_text="Warehouse id, or several comma-separated."
    )
    reason = django_filters.MultipleChoiceFilter(
        choices=MovementReason.choices, help_text="Why stock moved; repeat the parameter for several."
    )
    since = DateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Rows written at or after this time (ISO 8601)."
    )
    until = DateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Rows written before this time (ISO 8601)."
    )

    class Meta:
        model = StockMovement
        fields: list[str] = []


class WarehouseFilter(StrictFilterSet):
    is_active = BooleanFilter(field_name="is_active", help_text="true or false.")
    code = TextFilter(field_name="code", help_text="Exact code, e.g. MAIN.")

    class Meta:
        model = Warehouse
        fields: list[str] = []
