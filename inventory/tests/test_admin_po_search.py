"""The purchase-order list finds a purchase order by the SKU or product name of its lines (issue 16
item 4): from a waiting SKU to the purchase order bringing it, one row per order, sums unchanged."""

import pytest
from django.urls import reverse

from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

POS = reverse("admin:inventory_purchaseorder_changelist")


def test_purchase_orders_are_found_by_the_sku_or_product_of_their_lines(admin_client):
    saucepan = VariantFactory(sku="COOK-SSS", product=ProductFactory(name="Stainless Saucepan Set"))
    lid = VariantFactory(sku="COOK-SSS-LID", product=ProductFactory(name="Saucepan Lid"))
    two_lines = PurchaseOrderFactory(reference="PO-A")
    PurchaseOrderLineFactory(purchase_order=two_lines, variant=saucepan, quantity_ordered=6)
    PurchaseOrderLineFactory(purchase_order=two_lines, variant=lid, quantity_ordered=4, quantity_received=1)
    PurchaseOrderLineFactory(purchase_order__reference="PO-B", variant=lid, quantity_ordered=2)
    PurchaseOrderLineFactory(purchase_order__reference="PO-C")

    def found(term):
        cl = admin_client.get(POS, {"q": term}).context["cl"]
        return sorted((po.reference, po._units_ordered, po._units_received) for po in cl.result_list)

    assert found("COOK-SSS") == [("PO-A", 10, 1), ("PO-B", 2, 0)]  # one row per order, whole sums
    assert found("COOK-SSS-LID") == [("PO-A", 10, 1), ("PO-B", 2, 0)]
    assert found("Stainless Saucepan") == [("PO-A", 10, 1)]
    assert found("PO-C") == [("PO-C", 10, 0)]
