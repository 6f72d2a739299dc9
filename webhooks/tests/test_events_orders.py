"""Order events: backorders created, allocated by the pass, dates told, shipped, cancelled; what the pass pays."""

from datetime import timedelta

import pytest

from inventory.services import StockError, purchase_order_set_expected_date, stock_adjust
from inventory.tests.factories import WarehouseFactory
from orders.models import OrderEvent, OrderEventKind
from orders.services import (
    CheckoutError,
    OrderActionError,
    allocation_serve_queue,
    order_cancel_backordered,
    order_ship,
)
from orders.tasks import send_due_delay_notices
from orders.tests.delays_helpers import T0, backorderable, day, purchase_order, waiting_order
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory
from webhooks import tasks
from webhooks.hooks import deliveries_queued

from .events_helpers import deliveries, events, queries_of, record_queries, subscribe, written

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_delivery():
    """These tests read the rows written; sending them is test_delivery's and test_api_flow's."""
    deliveries_queued.disconnect(tasks.webhooks_deliver_enqueue)
    yield
    deliveries_queued.connect(tasks.webhooks_deliver_enqueue)


def waiting_orders(variant, quantities):
    return [place([(variant, qty)], email=f"c{n}@example.com").order for n, qty in enumerate(quantities)]


# --- backorder.created -------------------------------------------------------------------------------


def test_an_order_with_waiting_units_writes_backorder_created_and_an_in_stock_one_does_not(clock):
    tent, stove = backorderable("Alpine Tent"), VariantFactory()
    give_stock(tent, 1)
    give_stock(stove, 5)
    subscribe("backorder.created")

    order = place([(tent, 3), (stove, 1)]).order
    place([(stove, 1)])

    tent_line = order.lines.get(variant=tent)
    assert written() == [("backorder.created", "order", str(order.pk))]
    assert events("backorder.created") == [
        {
            "order": {"id": order.pk, "number": order.number},
            "lines": [
                {
                    "line_id": tent_line.pk,
                    "variant_id": tent.pk,
                    "sku": tent.sku,
                    "quantity": 3,
                    "units_waiting": 2,
                    "expected_date": tent_line.expected_date.isoformat(),
                    "expected_range": {
                        "earliest": tent_line.expected_earliest_date.isoformat(),
                        "confident": tent_line.expected_date.isoformat(),
                    },
                }
            ],
        }
    ]
    assert tent_line.expected_date == day(28)  # 21 working days of lead time, as the page said


def test_a_placed_backorder_writes_the_variant_s_new_availability_once():
    tent = backorderable()
    give_stock(tent, 1)
    subscribe("variant.availability_changed")
    place([(tent, 1)])
    before = len(events("variant.availability_changed"))

    place([(tent, 2)])

    answers = events("variant.availability_changed")[before:]
    assert [(a["status"], a["sellable_units"], a["waiting_units"]) for a in answers] == [("backorder", 0, 2)]


def test_a_checkout_that_fails_under_lock_writes_nothing(monkeypatch):
    tent, stove = backorderable(), VariantFactory()
    give_stock(stove, 5)
    subscribe("backorder.created", "variant.availability_changed", "stock.changed")
    from orders.services import checkout

    def refused(**_kwargs):
        raise StockError("The warehouse was closed meanwhile.")

    # The order, its lines and the availability hook are in the transaction when the refusal comes
    monkeypatch.setattr(checkout, "allocation_record", refused)
    with pytest.raises(CheckoutError):
        place([(tent, 2), (stove, 1)])

    assert (written(), deliveries()) == ([], 0)


# --- backorder.allocated and stock.changed from the allocation pass ----------------------------------


def test_the_pass_writes_backorder_allocated_per_line_served_and_one_stock_changed_per_batch(
    settings, django_capture_on_commit_callbacks
):
    tent = VariantFactory()
    allow_backorders(tent)
    first, second, third = waiting_orders(tent, [2, 3, 1])
    main = WarehouseFactory()
    subscribe("backorder.allocated", "stock.changed")

    with django_capture_on_commit_callbacks(execute=True):  # the "stock arrived" task runs the pass
        stock_adjust(variant_id=tent.pk, warehouse_id=main.pk, quantity_change=4)

    lines = [order.lines.get() for order in (first, second, third)]
    allocated = events("backorder.allocated")
    assert [(e["order"]["number"], e["line"]["line_id"], e["units"]) for e in allocated] == [
        (first.number, lines[0].pk, 2),
        (second.number, lines[1].pk, 2),
    ]
    assert allocated[1] == {
        "order": {"id": second.pk, "number": second.number},
        "line": {"line_id": lines[1].pk, "variant_id": tent.pk, "sku": tent.sku, "quantity": 3},
        "units": 2,
        "line_units_allocated": 2,
        "line_units_waiting": 1,
    }
    # The adjustment's levels, then the pass's (one batch)
    assert [e["variants"][0]["allocated"] for e in events("stock.changed")] == [0, 4]
    assert [t for t, *_ in written()].count("stock.changed") == 2


def test_a_pass_in_two_batches_writes_one_stock_changed_per_batch():
    tent = VariantFactory()
    allow_backorders(tent)
    waiting_orders(tent, [1, 1, 1])
    stock_adjust(variant_id=tent.pk, warehouse_id=WarehouseFactory().pk, quantity_change=3)
    subscribe("backorder.allocated", "stock.changed")

    result = allocation_serve_queue(variant_ids=[tent.pk], run_id="two", batch_size=2)

    assert (result.batches, result.lines_served) == (2, 3)
    assert [e["variants"][0]["allocated"] for e in events("stock.changed")] == [2, 3]
    assert [e["units"] for e in events("backorder.allocated")] == [1, 1, 1]


def _pass_queries(lines: int) -> int:
    tent = VariantFactory()
    allow_backorders(tent)
    waiting_orders(tent, [1] * lines)
    stock_adjust(variant_id=tent.pk, warehouse_id=WarehouseFactory().pk, quantity_change=lines)
    return queries_of(
        lambda: allocation_serve_queue(variant_ids=[tent.pk], run_id=f"q{lines}", batch_size=100)
    )


def test_the_pass_s_events_cost_the_same_queries_for_3_or_30_lines():
    no_endpoint = _pass_queries(3), _pass_queries(30)
    subscribe("backorder.allocated", "stock.changed", "variant.availability_changed")
    _pass_queries(1)  # the subscribed types read again after the endpoint's save
    subscribed = _pass_queries(3), _pass_queries(30)

    assert no_endpoint[0] == no_endpoint[1]
    assert subscribed[0] == subscribed[1]
    # stock.changed: levels + endpoints + the writes; backorder.allocated with availability: lines (1),
    # availability (1), SKUs (1), last answers (1), endpoints (1), the writes; the closing
    # availability_changed (inside the test's transaction here): 1 + 1 + 1
    assert subscribed[0] - no_endpoint[0] == (2 + record_queries()) + (5 + record_queries()) + 3
    assert len(events("backorder.allocated")) == 1 + 3 + 30


# --- order.shipped -------------------------------------------------------------------------------------


def test_a_shipment_writes_order_shipped_and_stock_changed():
    tent, stove = VariantFactory(), VariantFactory()
    main = give_stock(tent, 5)
    give_stock(stove, 5, main)
    order = place([(tent, 2), (stove, 1)]).order
    subscribe("order.shipped", "stock.changed")

    shipment = order_ship(order_id=order.pk)

    tent_line, stove_line = order.lines.get(variant=tent), order.lines.get(variant=stove)
    assert written() == [("stock.changed", "stock", "levels"), ("order.shipped", "order", str(order.pk))]
    assert events("order.shipped") == [
        {
            "order": {"id": order.pk, "number": order.number},
            "shipment": {
                "id": shipment.pk,
                "amount": {"amount": str(shipment.amount), "currency": "EUR"},
                "shipped_at": shipment.created_at.isoformat(),
            },
            "lines": [
                {
                    "line_id": tent_line.pk,
                    "variant_id": tent.pk,
                    "sku": tent.sku,
                    "units": 2,
                    "units_waiting": 0,
                },
                {
                    "line_id": stove_line.pk,
                    "variant_id": stove.pk,
                    "sku": stove.sku,
                    "units": 1,
                    "units_waiting": 0,
                },
            ],
        }
    ]
    assert [(v["sku"], v["on_hand"], v["allocated"]) for v in events("stock.changed")[0]["variants"]] == [
        (tent.sku, 3, 0),
        (stove.sku, 4, 0),
    ]


def test_a_refused_shipment_writes_nothing():
    order = place([(backorderable(), 1)]).order
    subscribe("order.shipped", "stock.changed")

    with pytest.raises(OrderActionError):
        order_ship(order_id=order.pk)

    assert (written(), deliveries()) == ([], 0)


# --- order.cancelled -----------------------------------------------------------------------------------


def test_cancelled_waiting_units_write_order_cancelled():
    tent = backorderable()
    order = place([(tent, 3)]).order
    line = order.lines.get()
    subscribe("order.cancelled")

    order_cancel_backordered(order_id=order.pk, quantities={line.pk: 2}, by_staff=True)

    (data,) = events("order.cancelled")
    cancelled = OrderEvent.objects.get(order=order, kind=OrderEventKind.CANCELLED)
    assert data == {
        "order": {"id": order.pk, "number": order.number},
        "cancelled_at": cancelled.created_at.isoformat(),
        "lines": [
            {
                "line_id": line.pk,
                "variant_id": tent.pk,
                "sku": tent.sku,
                "units_cancelled": 2,
                "units_waiting": 1,
            }
        ],
    }


def test_a_refused_cancellation_writes_nothing():
    order = place([(backorderable(), 1)]).order
    subscribe("order.cancelled", "variant.availability_changed")
    before = written()

    with pytest.raises(OrderActionError):
        order_cancel_backordered(order_id=order.pk, quantities={order.lines.get().pk: 2})

    assert written() == before == []


# --- backorder.date_changed ----------------------------------------------------------------------------


def test_a_delay_email_writes_backorder_date_changed_with_the_old_and_new_dates(clock, commit, settings):
    settings.SUPPLIER_DEFAULT_LATE_P50_DAYS = settings.SUPPLIER_DEFAULT_LATE_P90_DAYS = 0
    tent = backorderable()
    po = purchase_order(tent, 5, day(8))
    order = waiting_order(tent, 2, email="ada@example.com")
    line = order.lines.get()
    subscribe("backorder.date_changed")
    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(18))
    assert written() == []  # a slip is told after its quiet period, by the delay email

    clock.move_to(T0 + timedelta(hours=1))
    with commit():
        send_due_delay_notices()

    delayed = OrderEvent.objects.get(order=order, kind=OrderEventKind.DELAYED)
    assert events("backorder.date_changed") == [
        {
            "order": {"id": order.pk, "number": order.number},
            "told_at": delayed.created_at.isoformat(),
            "lines": [
                {
                    "line_id": line.pk,
                    "variant_id": tent.pk,
                    "sku": tent.sku,
                    "units_waiting": 2,
                    "old_date": day(8).isoformat(),
                    "new_date": day(18).isoformat(),
                    "new_range": {"earliest": day(18).isoformat(), "confident": day(18).isoformat()},
                    "estimated": False,
                    "cause": "po_date_changed",
                }
            ],
        }
    ]
