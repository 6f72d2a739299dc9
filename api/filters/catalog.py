"""Filters of the catalog endpoints (api/views/catalog.py). The shared kinds of filter: api/filters/base.py.

The availability filter reads the same numbers as the answer it filters (`variants_with_stock`, the
SQL twin of `availability_for_variants`, with a parity test of its own in inventory/tests) and
applies the rules of `inventory.selectors.availability_from_numbers` in SQL, so `?availability=backorder`
lists exactly the variants whose `availability.status` is "backorder" (api/tests/test_catalog.py).
"""

import django_filters
from django.db.models import Exists, F, IntegerField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from inventory.conf import inventory_defaults
from inventory.models import BackorderMode, StockMovement
from inventory.selectors import AvailabilityStatus, variants_with_stock
from shop.models import Variant

from .base import (
    BooleanFilter,
    CommaListField,
    DateTimeFilter,
    IdFilter,
    StrictFilterSet,
    TextFilter,
    TextListFilter,
)


class AvailabilityListFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    base_field_class = CommaListField


def variants_with_availability_status(queryset: QuerySet[Variant], statuses: list[str]) -> QuerySet[Variant]:
    """`queryset` narrowed to the variants whose availability status is one of `statuses`.

    The rules of `availability_from_numbers` over `variants_with_stock`'s annotations: units sell now
    when free stock exceeds the waiting units (low stock at or below the threshold); otherwise
    discontinued, backorder (allowed, not discontinued, under the limit) or out of stock.
    """
    defaults = inventory_defaults()
    queryset = variants_with_stock(queryset).annotate(
        policy_low_threshold=Coalesce(
            F("backorder_policy__low_stock_threshold"),
            Value(defaults.low_stock_threshold),
            output_field=IntegerField(),
        )
    )
    sells_now = Q(stock_free__gt=F("backorders_waiting"))
    low = Q(stock_free__lte=F("backorders_waiting") + F("policy_low_threshold"))
    under_limit = Q(policy_limit__isnull=True) | Q(policy_limit__gt=F("backorders_waiting"))
    may_wait = Q(policy_mode=BackorderMode.ALLOW) & under_limit
    conditions = {
        AvailabilityStatus.IN_STOCK: sells_now & ~low,
        AvailabilityStatus.LOW_STOCK: sells_now & low,
        AvailabilityStatus.DISCONTINUED: ~sells_now & Q(policy_discontinued=True),
        AvailabilityStatus.BACKORDER: ~sells_now & Q(policy_discontinued=False) & may_wait,
        AvailabilityStatus.OUT_OF_STOCK: ~sells_now & Q(policy_discontinued=False) & ~may_wait,
    }
    wanted = Q()
    for status in dict.fromkeys(statuses):
        wanted |= conditions[status]
    return queryset.filter(wanted)


class VariantFilter(StrictFilterSet):
    sku = TextListFilter(
        field_name="sku", lookup_expr="in", help_text="Exact SKU, or several comma-separated: TEE-M,TEE-L."
    )
    product = IdFilter(field_name="product_id", help_text="Variants of this product (its id).")
    product_slug = TextFilter(field_name="product__slug", help_text="Variants of this product.")
    is_active = BooleanFilter(field_name="is_active", help_text="true or false.")
    availability = AvailabilityListFilter(
        choices=list(AvailabilityStatus.LABELS.items()),
        method="filter_availability",
        help_text="Availability status, or several comma-separated: in_stock, low_stock, backorder, "
        "out_of_stock, discontinued.",
    )
    stock_changed_since = DateTimeFilter(
        method="filter_stock_changed_since",
        help_text="Only variants whose stock moved (any ledger row: receipt, sale, adjustment, count...) "
        "at or after this time (ISO 8601). Waiting units and dates can change without a stock movement: "
        "the variant.availability_changed webhook tells those.",
    )

    class Meta:
        model = Variant
        fields: list[str] = []

    def filter_availability(self, queryset, name, value):
        return variants_with_availability_status(queryset, value) if value else queryset

    def filter_stock_changed_since(self, queryset, name, value):
        moved = StockMovement.objects.filter(variant=OuterRef("pk"), created_at__gte=value)
        return queryset.filter(Exists(moved))
