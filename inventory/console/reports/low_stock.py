"""Low stock that nothing is coming for: the dashboard's tile and the variant list's "low stock" filter."""

from django.db.models import F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from inventory.conf import inventory_defaults
from inventory.models import OPEN_PO_STATUSES, PurchaseOrderLine
from inventory.selectors import variants_with_stock
from shop.models import Variant


def _units_incoming():
    """Units still to arrive for the variant on open purchase orders (ordered or partly received)."""
    rows = (
        PurchaseOrderLine.objects.filter(
            variant=OuterRef("pk"),
            purchase_order__status__in=OPEN_PO_STATUSES,
            quantity_received__lt=F("quantity_ordered"),
        )
        .order_by()
        .values("variant")
        .annotate(units=Sum(F("quantity_ordered") - F("quantity_received")))
        .values("units")
    )
    return Coalesce(Subquery(rows), 0, output_field=IntegerField())


def low_stock_variants() -> QuerySet[Variant]:
    """Active, not discontinued variants that will be at or below their low-stock threshold even once
    their open purchase orders arrive: free + incoming − waiting ≤ threshold. What staff should reorder.

    Variants whose purchase orders cover their waiting customers and the threshold are left out: they
    are on order already. (The staff low-stock email tells when sellable stock falls to the threshold;
    this list is what is left to do about it.) Annotations: `_position`, `_incoming`, `_threshold`.
    """
    threshold = inventory_defaults().low_stock_threshold
    return (
        variants_with_stock(Variant.objects.filter(is_active=True))
        .annotate(
            _incoming=_units_incoming(),
            _threshold=Coalesce(
                F("backorder_policy__low_stock_threshold"), Value(threshold), output_field=IntegerField()
            ),
        )
        .annotate(_position=F("stock_free") + F("_incoming") - F("backorders_waiting"))
        .filter(policy_discontinued=False, _position__lte=F("_threshold"))
    )
