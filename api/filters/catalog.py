"""Filters of the catalog endpoints (api/views/catalog.py), and the strict FilterSet the stock ones share.

Every bad value is a 400 with the filter's name (django-filter's form errors, api.errors), and so is a
query parameter no filter knows: a misspelt `skus=` would otherwise quietly list every variant.

The availability filter reads the same numbers as the answer it filters (`variants_with_stock`, the
SQL twin of `availability_for_variants`, with a parity test of its own in inventory/tests) and
applies the rules of `inventory.selectors.availability_from_numbers` in SQL, so `?availability=backorder`
lists exactly the variants whose `availability.status` is "backorder" (api/tests/test_catalog.py).
"""

from datetime import UTC, datetime

import django_filters
from django import forms
from django.db.models import Exists, F, IntegerField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from inventory.conf import inventory_defaults
from inventory.models import BackorderMode, StockMovement
from inventory.selectors import AvailabilityStatus, variants_with_stock
from shop.models import Variant

# Query parameters that are not filters: the pagination's.
PAGINATION_PARAMETERS = frozenset({"cursor", "page_size"})
# Most values in one comma-separated filter (a page holds at most 200 rows).
MAX_LIST_VALUES = 200
ID_MAX = 2**63 - 1  # BigAutoField


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet that answers 400 to a query parameter it does not know."""

    def is_valid(self) -> bool:
        unknown = sorted(set(self.data) - set(self.filters) - PAGINATION_PARAMETERS)
        if unknown:
            known = ", ".join(sorted(set(self.filters) | PAGINATION_PARAMETERS))
            raise ValidationError({name: [f"Unknown query parameter. Known: {known}."] for name in unknown})
        return super().is_valid()


@extend_schema_field(OpenApiTypes.BOOL)
class BooleanFilter(django_filters.TypedChoiceFilter):
    """`true` or `false`; anything else is a 400 (django-filter's BooleanFilter would ignore it)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(**kwargs)


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 moment, in UTC before it reaches the database (PostgreSQL refuses offsets beyond
    ±15:59, which Python accepts). A moment that is before the year 1 or after 9999 once in UTC
    (0001-01-01T00:00:00+14:00) is the first or last moment there is: as a bound it keeps every row."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            return datetime.min.replace(tzinfo=UTC) if moment.year == 1 else datetime.max.replace(tzinfo=UTC)


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 moment, e.g. 2026-11-21T12:00:00Z (django-filter's, normalised to UTC)."""

    field_class = UtcDateTimeField


class IdField(forms.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(**kwargs)


ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": ID_MAX}


@extend_schema_field(ID_SCHEMA)
class IdFilter(django_filters.Filter):
    """An id: a whole number from 1 (django-filter's NumberFilter would take 1.5)."""

    field_class = IdField


class _CommaListField(django_filters.fields.BaseCSVField):
    def clean(self, value):
        values = super().clean(value)
        if values is not None and len(values) > MAX_LIST_VALUES:
            raise forms.ValidationError(f"At most {MAX_LIST_VALUES} comma-separated values.")
        return values


class IdListFilter(django_filters.BaseInFilter, IdFilter):
    """One id or several, comma-separated: `?variant=3,8` (the schema: an array of IdFilter's ids)."""

    base_field_class = _CommaListField


# Text filters hold no NUL: config.middleware refuses it in any query string (PostgreSQL refuses it in text).
TEXT_SCHEMA = {"type": "string", "pattern": r"^[^\x00]*$"}


@extend_schema_field(TEXT_SCHEMA)
class TextFilter(django_filters.CharFilter):
    """Exact text."""


@extend_schema_field(TEXT_SCHEMA)  # spectacular makes it an array of these
class TextListFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """One exact value or several, comma-separated: `?sku=TEE-M,TEE-L`."""

    base_field_class = _CommaListField


class AvailabilityListFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    base_field_class = _CommaListField


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
