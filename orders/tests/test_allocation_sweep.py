"""The allocation sweep finds work a lost message or a dead pass left behind."""

import pytest

from inventory.models import AllocationRequest, StockItem
from inventory.services import allocation_requests_claim, stock_adjust
from inventory.tasks import stock_arrived, sweep_allocation_requests
from inventory.tests.factories import BackorderPolicyFactory, WarehouseFactory
from orders.models import OrderLine
from orders.tests.factories import OrderLineFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_sweep_serves_a_queue_whose_pass_died_after_claiming_its_request(monkeypatch):
    # Given: three lines wait, three units arrived, and the pass that claimed the request died
    variant = BackorderPolicyFactory().variant
    OrderLineFactory.create_batch(3, variant=variant)
    monkeypatch.setattr(stock_arrived, "delay_on_commit", lambda **kwargs: None)  # the message is lost
    stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=3)
    assert allocation_requests_claim(variant_ids=[variant.pk]) == [variant.pk]
    assert not AllocationRequest.objects.exists()

    # When: beat's sweep runs (tasks run inline in the tests)
    assert sweep_allocation_requests() == 1

    # Then: every line is served, and a second sweep finds nothing to do
    assert list(OrderLine.objects.values_list("quantity_allocated", "quantity_backordered")) == [(1, 0)] * 3
    assert StockItem.objects.get(variant=variant).allocated == 3
    assert sweep_allocation_requests() == 0
    assert not AllocationRequest.objects.exists()


def test_sweep_leaves_alone_stock_nobody_waits_for_and_lines_with_no_stock():
    warehouse = WarehouseFactory()
    in_stock = BackorderPolicyFactory().variant
    stock_adjust(variant_id=in_stock.pk, warehouse_id=warehouse.pk, quantity_change=4)
    waiting = BackorderPolicyFactory().variant
    OrderLineFactory(variant=waiting)

    assert sweep_allocation_requests() == 0
    assert not AllocationRequest.objects.exists()
    assert OrderLine.objects.get().quantity_backordered == 1
