"""Concurrency on real PostgreSQL row locks: threads started together by a barrier."""

import pytest
from django.db.models import Sum

from config.testing import run_together
from inventory.models import PurchaseOrderStatus, StockItem, StockMovement
from inventory.services import InsufficientStock, purchase_order_receive, stock_adjust
from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory, WarehouseFactory
from shop.tests.factories import VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def assert_ledger_matches(item):
    item.refresh_from_db()
    sums = StockMovement.objects.filter(stock_item=item).aggregate(
        on_hand=Sum("on_hand_delta"), allocated=Sum("allocated_delta")
    )
    assert (item.on_hand, item.allocated) == (sums["on_hand"] or 0, sums["allocated"] or 0)


def test_removals_race_for_the_last_units():
    variant, warehouse = VariantFactory(), WarehouseFactory()
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=10)

    results = run_together(
        [lambda: stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-1)] * 24
    )

    refused = [r for r in results if isinstance(r, InsufficientStock)]
    other_errors = [r for r in results if isinstance(r, Exception) and not isinstance(r, InsufficientStock)]
    assert (len(results) - len(refused), len(refused), other_errors) == (10, 14, [])
    item = StockItem.objects.get(variant=variant, warehouse=warehouse)
    assert (item.on_hand, item.allocated) == (0, 0)
    assert_ledger_matches(item)


def test_adjustments_and_partial_receipts_of_one_stock_item_at_once():
    variant, warehouse = VariantFactory(), WarehouseFactory()
    po = PurchaseOrderFactory(warehouse=warehouse, status=PurchaseOrderStatus.ORDERED)
    line = PurchaseOrderLineFactory(purchase_order=po, variant=variant, quantity_ordered=16)

    adders = [lambda: stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=3)] * 8
    receivers = [lambda: purchase_order_receive(purchase_order_id=po.pk, quantities={line.pk: 2})] * 8
    # Two more receipts than the line can take: exactly these must be refused.
    too_many = [lambda: purchase_order_receive(purchase_order_id=po.pk, quantities={line.pk: 2})] * 2
    removers = [
        lambda: stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-1)
    ] * 6

    results = run_together(adders + receivers + too_many + removers)

    errors = [r for r in results if isinstance(r, Exception)]
    removed = sum(1 for r in results[-6:] if not isinstance(r, Exception))
    assert len([e for e in errors if "outstanding" in str(e) or "already been received" in str(e)]) == 2
    assert [e for e in errors if not (isinstance(e, InsufficientStock) or "received" in str(e))] == []
    item = StockItem.objects.get(variant=variant, warehouse=warehouse)
    assert item.on_hand == 8 * 3 + 16 - removed
    line.refresh_from_db()
    po.refresh_from_db()
    assert (line.quantity_received, po.status) == (16, "received")
    assert_ledger_matches(item)
