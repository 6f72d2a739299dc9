"""Stock and purchase-order events: written once with the change, gone with a refused change, none unsubscribed."""

from datetime import date

import pytest

from inventory.services import (
    InsufficientStock,
    PurchaseOrderError,
    purchase_order_receive,
    purchase_order_set_expected_date,
    stock_adjust,
    stock_count,
    stock_count_bulk,
)
from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory, WarehouseFactory
from shop.tests.factories import VariantFactory
from webhooks.models import WebhookDelivery

from .events_helpers import (
    deliveries,
    events,
    queries_of,
    receivers_disconnected,
    record_queries,
    subscribe,
    written,
)

pytestmark = pytest.mark.django_db


def level(variant, *warehouses, allocated=0):
    """A variant's entry of `stock.changed`: [(warehouse, on hand, allocated)] and the totals."""
    on_hand = sum(w[1] for w in warehouses)
    return {
        "variant_id": variant.pk,
        "sku": variant.sku,
        "on_hand": on_hand,
        "allocated": sum(w[2] for w in warehouses),
        "free_units": on_hand - sum(w[2] for w in warehouses),
        "warehouses": [{"warehouse": w[0].code, "on_hand": w[1], "allocated": w[2]} for w in warehouses],
    }


# --- stock.changed -----------------------------------------------------------------------------


def test_an_adjustment_writes_one_stock_changed_with_the_new_levels_and_a_delivery_per_endpoint():
    tent = VariantFactory()
    main, spare = WarehouseFactory(priority=0), WarehouseFactory(priority=1)
    stock_adjust(variant_id=tent.pk, warehouse_id=spare.pk, quantity_change=2)
    first, second = subscribe("stock.changed"), subscribe("stock.changed", "order.shipped")
    subscribe("order.shipped")

    stock_adjust(variant_id=tent.pk, warehouse_id=main.pk, quantity_change=5)

    assert written() == [("stock.changed", "stock", "levels")]
    assert events("stock.changed") == [{"variants": [level(tent, (main, 5, 0), (spare, 2, 0))]}]
    assert sorted(WebhookDelivery.objects.values_list("endpoint_id", "status")) == [
        (first.pk, "pending"),
        (second.pk, "pending"),
    ]


def test_a_refused_adjustment_writes_nothing():
    tent, main = VariantFactory(), WarehouseFactory()
    stock_adjust(variant_id=tent.pk, warehouse_id=main.pk, quantity_change=1)
    subscribe("stock.changed", "variant.availability_changed")

    with pytest.raises(InsufficientStock):
        stock_adjust(variant_id=tent.pk, warehouse_id=main.pk, quantity_change=-2)

    assert (written(), deliveries()) == ([], 0)


def test_nothing_is_written_when_no_endpoint_subscribes_to_the_type():
    tent, main = VariantFactory(), WarehouseFactory()
    subscribe("order.shipped")
    subscribe("stock.changed").delete()
    inactive = subscribe("stock.changed")
    inactive.is_active = False
    inactive.save()

    stock_adjust(variant_id=tent.pk, warehouse_id=main.pk, quantity_change=3)
    stock_count(variant_id=tent.pk, warehouse_id=main.pk, counted=1)

    assert (written(), deliveries()) == ([], 0)


def test_a_bulk_count_is_one_event_for_all_its_variants_whether_they_grew_or_fell():
    tent, stove, lamp = VariantFactory(), VariantFactory(), VariantFactory()
    main = WarehouseFactory()
    for variant in (tent, stove, lamp):
        stock_adjust(variant_id=variant.pk, warehouse_id=main.pk, quantity_change=4)
    subscribe("stock.changed")

    stock_count_bulk(counts=[(tent.pk, main.pk, 6), (stove.pk, main.pk, 1), (lamp.pk, main.pk, 4)])

    assert events("stock.changed") == [{"variants": [level(tent, (main, 6, 0)), level(stove, (main, 1, 0))]}]


# --- variant.availability_changed ----------------------------------------------------------------


def test_availability_is_written_with_the_product_page_s_answer():
    tent, main = VariantFactory(), WarehouseFactory()
    subscribe("variant.availability_changed")

    stock_adjust(variant_id=tent.pk, warehouse_id=main.pk, quantity_change=12)
    stock_adjust(variant_id=tent.pk, warehouse_id=main.pk, quantity_change=-12)

    answers = events("variant.availability_changed")
    assert [(a["status"], a["sellable_units"], a["free_units"], a["waiting_units"]) for a in answers] == [
        ("in_stock", 12, 12, 0),
        ("out_of_stock", 0, 0, 0),
    ]
    assert answers[0] == {
        "variant_id": tent.pk,
        "sku": tent.sku,
        "status": "in_stock",
        "sellable_units": 12,
        "free_units": 12,
        "waiting_units": 0,
        "backorderable_units": 0,
        "expected_date": None,
        "expected_range": None,
    }
    assert written()[0] == ("variant.availability_changed", "variant", str(tent.pk))


def test_a_purchase_order_date_that_leaves_the_page_unchanged_writes_no_availability_event():
    tent, main = VariantFactory(), WarehouseFactory()
    stock_adjust(variant_id=tent.pk, warehouse_id=main.pk, quantity_change=12)
    po = PurchaseOrderFactory(expected_date=date(2026, 3, 20))
    PurchaseOrderLineFactory(purchase_order=po, variant=tent)
    subscribe("variant.availability_changed")
    stock_adjust(variant_id=tent.pk, warehouse_id=main.pk, quantity_change=1)

    purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=date(2026, 3, 27))

    assert len(events("variant.availability_changed")) == 1


# --- purchase orders ---------------------------------------------------------------------------


def test_a_receipt_writes_purchase_order_received_and_stock_changed():
    tent, stove = VariantFactory(), VariantFactory()
    po = PurchaseOrderFactory(reference="PO-7", expected_date=date(2026, 3, 20))
    tent_line = PurchaseOrderLineFactory(purchase_order=po, variant=tent, quantity_ordered=5)
    stove_line = PurchaseOrderLineFactory(purchase_order=po, variant=stove, quantity_ordered=2)
    subscribe("purchase_order.received", "stock.changed")

    purchase_order_receive(purchase_order_id=po.pk, quantities={tent_line.pk: 3})

    assert written() == [
        ("stock.changed", "stock", "levels"),
        ("purchase_order.received", "purchase_order", str(po.pk)),
    ]
    assert events("purchase_order.received") == [
        {
            "purchase_order": {
                "id": po.pk,
                "reference": "PO-7",
                "status": "partially_received",
                "supplier_id": po.supplier_id,
                "warehouse": po.warehouse.code,
                "expected_date": "2026-03-20",
            },
            "lines": [
                {
                    "line_id": tent_line.pk,
                    "variant_id": tent.pk,
                    "sku": tent.sku,
                    "units_received": 3,
                    "quantity_received": 3,
                    "quantity_ordered": 5,
                }
            ],
        }
    ]
    assert events("stock.changed") == [{"variants": [level(tent, (po.warehouse, 3, 0))]}]
    assert stove_line.pk not in [line["line_id"] for line in events("purchase_order.received")[0]["lines"]]


def test_a_refused_receipt_writes_nothing():
    po = PurchaseOrderFactory()
    line = PurchaseOrderLineFactory(purchase_order=po, quantity_ordered=2)
    subscribe("purchase_order.received", "stock.changed")

    with pytest.raises(PurchaseOrderError):
        purchase_order_receive(purchase_order_id=po.pk, quantities={line.pk: 3})

    assert written() == []


def test_a_moved_date_writes_purchase_order_date_changed_with_old_new_and_why():
    po = PurchaseOrderFactory(reference="PO-8", expected_date=date(2026, 3, 20))
    PurchaseOrderLineFactory(purchase_order=po)
    subscribe("purchase_order.date_changed")

    purchase_order_set_expected_date(
        purchase_order_id=po.pk, expected_date=date(2026, 3, 27), reason="Container held at port"
    )
    # The same date again changes nothing, so tells nothing
    purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=date(2026, 3, 27))

    (data,) = events("purchase_order.date_changed")
    changed_at = data.pop("changed_at")
    assert data == {
        "purchase_order": {
            "id": po.pk,
            "reference": "PO-8",
            "status": "ordered",
            "supplier_id": po.supplier_id,
            "warehouse": po.warehouse.code,
            "expected_date": "2026-03-27",
        },
        "old_date": "2026-03-20",
        "new_date": "2026-03-27",
        "reason": "Container held at port",
        "source": "staff",
    }
    assert changed_at == po.date_changes.get().changed_at.isoformat()


def test_a_refused_date_move_writes_nothing():
    po = PurchaseOrderFactory(status="cancelled", expected_date=date(2026, 3, 20))
    subscribe("purchase_order.date_changed")

    with pytest.raises(PurchaseOrderError):
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=date(2026, 3, 27))

    assert written() == []


# --- what it costs ---------------------------------------------------------------------------------


def test_with_no_endpoint_a_stock_change_costs_no_query_and_with_one_the_event_s_queries():
    tent, main = VariantFactory(), WarehouseFactory()
    stock_adjust(variant_id=tent.pk, warehouse_id=main.pk, quantity_change=5)

    def adjust():
        stock_adjust(variant_id=tent.pk, warehouse_id=main.pk, quantity_change=1)

    with receivers_disconnected():
        without_webhooks = queries_of(adjust)
    adjust()  # the subscribed types are read once (and cached)
    assert queries_of(adjust) == without_webhooks

    subscribe("stock.changed")
    adjust()  # the endpoint's save forgot them: read again once
    # The levels (1), the endpoints (1), the event and its delivery (2 inserts, or 1 statement)
    assert queries_of(adjust) == without_webhooks + 2 + record_queries()
    assert len(events("stock.changed")) == 2
