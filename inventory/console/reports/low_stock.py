"""Low-stock variants: the dashboard's tile and the variant list's "low stock" filter."""

from django.db.models import F, IntegerField, QuerySet, Value
from django.db.models.functions import Coalesce, Greatest

from inventory.conf import inventory_defaults
from inventory.selectors import variants_with_stock
from shop.models import Variant


def low_stock_variants() -> QuerySet[Variant]:
    """Active, not discontinued variants whose sellable units (free − waiting, at least 0) are at or
    below their low-stock threshold: the same rule as the staff low-stock email."""
    threshold = inventory_defaults().low_stock_threshold
    return (
        variants_with_stock(Variant.objects.filter(is_active=True))
        .annotate(
            _sellable=Greatest(
                F("stock_free") - F("backorders_waiting"), Value(0), output_field=IntegerField()
            ),
            _threshold=Coalesce(
                F("backorder_policy__low_stock_threshold"), Value(threshold), output_field=IntegerField()
            ),
        )
        .filter(policy_discontinued=False, _sellable__lte=F("_threshold"))
    )
