"""What every list's filters share (docs/api.md, "Conventions"): strict FilterSets and typed filters.

Every bad value is a 400 with the filter's name (django-filter's form errors, api.errors), and so is a
query parameter no filter knows: a misspelt `skus=` would otherwise quietly list every row. Moments are
taken in UTC before they reach the database (PostgreSQL refuses offsets beyond ±15:59, which ISO 8601
allows); ids are whole numbers in the id column's range; text holds no NUL.
"""

from datetime import UTC, datetime

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

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


class CommaListField(django_filters.fields.BaseCSVField):
    def clean(self, value):
        values = super().clean(value)
        if values is not None and len(values) > MAX_LIST_VALUES:
            raise forms.ValidationError(f"At most {MAX_LIST_VALUES} comma-separated values.")
        return values


class IdListFilter(django_filters.BaseInFilter, IdFilter):
    """One id or several, comma-separated: `?variant=3,8` (the schema: an array of IdFilter's ids)."""

    base_field_class = CommaListField


# Text filters hold no NUL: config.middleware refuses it in any query string (PostgreSQL refuses it in text).
TEXT_SCHEMA = {"type": "string", "pattern": r"^[^\x00]*$"}


@extend_schema_field(TEXT_SCHEMA)
class TextFilter(django_filters.CharFilter):
    """Exact text."""


@extend_schema_field(TEXT_SCHEMA)  # spectacular makes it an array of these
class TextListFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """One exact value or several, comma-separated: `?sku=TEE-M,TEE-L`."""

    base_field_class = CommaListField
