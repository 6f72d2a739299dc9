"""What the stock services announce (inventory.events): which hook, with which ids, and only when.

A receiver connected for the test records every send of the four stock hooks, in order. The
receivers the apps connect run too; they only defer work to a commit that these tests never make,
except the last two, which look at the after-commit callbacks themselves.
"""

from functools import partial

import pytest
from django.db import transaction

from inventory.events import availability_changed, stock_fell, stock_grew, supply_changed
from inventory.models import AllocationRequest, PurchaseOrderStatus
from inventory.services import (
    InsufficientStock,
    allocation_request_add,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_mark_ordered,
    purchase_order_receive,
    purchase_order_set_expected_date,
    stock_adjust,
    stock_count,
    stock_count_bulk,
    stock_receive_bulk,
)
from inventory.tests.factories import (
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    SupplierFactory,
    WarehouseFactory,
)
from orders.tests.helpers import give_stock, place
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

HOOKS = (availability_changed, stock_grew, stock_fell, supply_changed)


def _record(sent: list, name: str, **kwargs) -> None:
    sent.append((name, kwargs))


@pytest.fixture
def heard():
    """Every send of the stock hooks during the test: [(hook name without "inventory.", kwargs)]."""
    sent = []
    receivers = [(hook, partial(_record, sent, hook.name.removeprefix("inventory."))) for hook in HOOKS]
    for hook, receiver in receivers:
        hook.connect(receiver)
    yield sent
    for hook, receiver in receivers:
        hook.disconnect(receiver)


@pytest.fixture
def po():
    """An ordered purchase order with two lines: 10 of one variant, 4 of another."""
    po = PurchaseOrderFactory(status=PurchaseOrderStatus.ORDERED)
    PurchaseOrderLineFactory(purchase_order=po, quantity_ordered=10)
    PurchaseOrderLineFactory(purchase_order=po, quantity_ordered=4)
    return po


def variants_of(po) -> list[int]:
    return sorted(po.lines.values_list("variant_id", flat=True))


# --- adjustments and counts ---------------------------------------------------------------------


def test_stock_that_grows_is_requested_then_announced(heard):
    variant, warehouse = VariantFactory(), WarehouseFactory()

    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=3)

    assert heard == [
        ("availability_changed", {"variant_ids": [variant.pk]}),
        ("stock_grew", {"variant_ids": [variant.pk]}),
    ]
    assert list(AllocationRequest.objects.values_list("variant_id", flat=True)) == [variant.pk]


def test_stock_that_falls_is_announced_without_a_request(heard):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=3)
    AllocationRequest.objects.all().delete()
    heard.clear()

    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-2)

    assert heard == [
        ("availability_changed", {"variant_ids": [variant.pk]}),
        ("stock_fell", {"variant_ids": [variant.pk]}),
    ]
    assert AllocationRequest.objects.count() == 0


def test_a_refused_adjustment_announces_nothing(heard):
    variant, warehouse = VariantFactory(), WarehouseFactory()

    with pytest.raises(InsufficientStock):
        stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-1)

    assert heard == []


def test_a_count_announces_its_direction_and_an_unchanged_count_nothing(heard):
    variant, warehouse = VariantFactory(), WarehouseFactory()

    stock_count(variant_id=variant.pk, warehouse_id=warehouse.pk, counted=5)
    stock_count(variant_id=variant.pk, warehouse_id=warehouse.pk, counted=2)
    stock_count(variant_id=variant.pk, warehouse_id=warehouse.pk, counted=2)

    assert heard == [
        ("availability_changed", {"variant_ids": [variant.pk]}),
        ("stock_grew", {"variant_ids": [variant.pk]}),
        ("availability_changed", {"variant_ids": [variant.pk]}),
        ("stock_fell", {"variant_ids": [variant.pk]}),
    ]


# --- bulk ---------------------------------------------------------------------------------------


def test_a_bulk_receipt_announces_each_variant_once(heard):
    mug, tent, warehouse = VariantFactory(), VariantFactory(), WarehouseFactory()

    stock_receive_bulk(
        rows=[(tent.pk, warehouse.pk, 2), (mug.pk, warehouse.pk, 1), (tent.pk, warehouse.pk, 3)]
    )

    ids = sorted([mug.pk, tent.pk])
    assert heard == [("availability_changed", {"variant_ids": ids}), ("stock_grew", {"variant_ids": ids})]


def test_a_bulk_count_announces_what_grew_and_what_fell(heard):
    up, down, same, warehouse = VariantFactory(), VariantFactory(), VariantFactory(), WarehouseFactory()
    stock_receive_bulk(rows=[(down.pk, warehouse.pk, 5), (same.pk, warehouse.pk, 4)])
    heard.clear()

    with transaction.atomic():
        stock_count_bulk(
            counts=[(up.pk, warehouse.pk, 3), (down.pk, warehouse.pk, 1), (same.pk, warehouse.pk, 4)]
        )
        stock_count_bulk(counts=[(same.pk, warehouse.pk, 4)])

    assert heard == [
        ("availability_changed", {"variant_ids": sorted([up.pk, down.pk])}),
        ("stock_grew", {"variant_ids": [up.pk]}),
        ("stock_fell", {"variant_ids": [down.pk]}),
    ]


# --- purchase orders ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "supply"), [(PurchaseOrderStatus.DRAFT, False), (PurchaseOrderStatus.ORDERED, True)]
)
def test_a_new_purchase_order_is_supply_only_once_ordered(heard, status, supply):
    variant, supplier, warehouse = VariantFactory(), SupplierFactory(), WarehouseFactory()

    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        reference="PO-NEW",
        lines={variant.pk: 5},
        status=status,
    )

    expected = [("availability_changed", {"variant_ids": [variant.pk]})]
    if supply:
        expected.append(
            ("supply_changed", {"purchase_order_id": po.pk, "variant_ids": [variant.pk], "cause": ""})
        )
    assert heard == expected


def test_marking_ordered_and_moving_the_date_announce_supply(heard, po):
    po.status = PurchaseOrderStatus.DRAFT
    po.save()
    ids = variants_of(po)

    purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=None)  # unchanged: nothing
    purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=po.created_at.date())  # a draft
    purchase_order_mark_ordered(purchase_order_id=po.pk)
    purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=None)

    assert heard == [
        ("availability_changed", {"variant_ids": ids}),
        ("availability_changed", {"variant_ids": ids}),
        ("supply_changed", {"purchase_order_id": po.pk, "variant_ids": ids, "cause": ""}),
        ("availability_changed", {"variant_ids": ids}),
        ("supply_changed", {"purchase_order_id": po.pk, "variant_ids": ids, "cause": "po_date_changed"}),
    ]


def test_a_short_receipt_grows_stock_of_what_came_and_announces_the_shortfall(heard, po):
    first, second = po.lines.order_by("pk")

    purchase_order_receive(purchase_order_id=po.pk, quantities={first.pk: 6})
    purchase_order_cancel(purchase_order_id=po.pk)

    ids = variants_of(po)
    assert heard == [
        ("availability_changed", {"variant_ids": ids}),
        ("stock_grew", {"variant_ids": [first.variant_id]}),
        ("supply_changed", {"purchase_order_id": po.pk, "variant_ids": ids, "cause": "po_received_short"}),
        ("availability_changed", {"variant_ids": ids}),
        ("supply_changed", {"purchase_order_id": po.pk, "variant_ids": ids, "cause": "po_received_short"}),
    ]


def test_a_full_receipt_is_no_shortfall_and_a_cancelled_order_no_supply(heard, po):
    other = PurchaseOrderLineFactory(purchase_order__status=PurchaseOrderStatus.ORDERED).purchase_order

    purchase_order_receive(purchase_order_id=po.pk)
    purchase_order_cancel(purchase_order_id=other.pk)

    assert heard == [
        ("availability_changed", {"variant_ids": variants_of(po)}),
        ("stock_grew", {"variant_ids": variants_of(po)}),
        ("availability_changed", {"variant_ids": variants_of(other)}),
        (
            "supply_changed",
            {"purchase_order_id": other.pk, "variant_ids": variants_of(other), "cause": "po_cancelled"},
        ),
    ]


# --- checkout and requests ----------------------------------------------------------------------


def test_checkout_announces_the_changed_availability_and_the_fall_of_its_stock(heard):
    tent = VariantFactory()
    give_stock(tent, 5)
    heard.clear()

    place([(tent, 2)])

    assert heard == [
        ("availability_changed", {"variant_ids": [tent.pk]}),
        ("stock_fell", {"variant_ids": [tent.pk]}),
    ]


def test_a_request_is_kept_once_and_no_variants_is_nothing(heard):
    tent = VariantFactory()

    allocation_request_add(variant_ids=[])
    allocation_request_add(variant_ids=[tent.pk, tent.pk])
    allocation_request_add(variant_ids=[tent.pk])

    assert heard == [("stock_grew", {"variant_ids": [tent.pk]}), ("stock_grew", {"variant_ids": [tent.pk]})]
    assert list(AllocationRequest.objects.values_list("variant_id", flat=True)) == [tent.pk]


# --- after commit -------------------------------------------------------------------------------


def test_after_commit_the_page_cache_then_the_stock_arrived_task_run_once_each(
    django_capture_on_commit_callbacks,
):
    variant, warehouse = VariantFactory(), WarehouseFactory()

    with django_capture_on_commit_callbacks() as callbacks:
        stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=3)

    assert len(callbacks) == 2
    assert "availability_changed" in callbacks[0].__qualname__  # shop.cache replaces the tokens
    assert (callbacks[1].func.__self__.name, callbacks[1].keywords) == (
        "inventory.tasks.stock_arrived",
        {"variant_ids": [variant.pk]},
    )


def test_a_change_that_rolls_back_publishes_nothing(django_capture_on_commit_callbacks):
    variant, warehouse = VariantFactory(), WarehouseFactory()

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=3)
        raise RuntimeError("the caller's transaction fails after the adjustment")

    assert callbacks == []
    assert AllocationRequest.objects.count() == 0
