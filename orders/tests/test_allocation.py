"""The auto-allocation pass: order of service, partial fills, idempotency, crash safety."""

from dataclasses import astuple
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from inventory.models import Allocation, AllocationRequest, MovementReason, StockItem, StockMovement
from inventory.projection import DateRange
from inventory.selectors import ledger_discrepancies
from inventory.services import purchase_order_receive, stock_adjust
from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory, WarehouseFactory
from inventory.tests.promises import from_lead_time, from_purchase_order
from notifications.models import Notification
from orders.models import OrderEvent, OrderLine
from orders.services import allocation_serve_queue, order_set_priority, stock_arrived_process
from orders.tests.helpers import allow_backorders, place
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


def waiting_orders(variant, quantities, *, start=None, policies=None):
    """Place one backorder per quantity, oldest first (placed a minute apart)."""
    start = start or timezone.now() - timedelta(days=1)
    orders = []
    for n, qty in enumerate(quantities):
        order = place(
            [(variant, qty)], email=f"c{n}@example.com", policy=(policies or {}).get(n, "split")
        ).order
        order.placed_at = start + timedelta(minutes=n)
        order.save(update_fields=["placed_at"])
        orders.append(order)
    return orders


def allocated(orders):
    return [o.lines.get().quantity_allocated for o in orders]


@pytest.mark.parametrize(
    ("waiting", "priority", "arriving", "expected"),
    [
        # FIFO: oldest first, partial fill of the one that straddles.
        ([2, 3, 1], [], 4, [2, 2, 0]),
        # Exactly enough for everyone.
        ([2, 3, 1], [], 6, [2, 3, 1]),
        # More than enough: the rest stays free.
        ([1, 1], [], 5, [1, 1]),
        # A priority order jumps the queue, then FIFO.
        ([2, 3, 1], [2], 3, [2, 0, 1]),
        # Two priority orders are served oldest first among themselves.
        ([2, 3, 1], [1, 2], 3, [0, 3, 0]),
    ],
)
def test_order_of_service(waiting, priority, arriving, expected, django_capture_on_commit_callbacks):
    variant = VariantFactory()
    allow_backorders(variant)
    orders = waiting_orders(variant, waiting)
    for index in priority:
        order_set_priority(order_id=orders[index].pk, is_priority=True)

    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=arriving)

    assert allocated(orders) == expected
    item = StockItem.objects.get(variant=variant)
    assert (item.on_hand, item.allocated) == (arriving, sum(expected))
    assert ledger_discrepancies() == []


def test_statuses_events_and_one_email_per_order(django_capture_on_commit_callbacks):
    variant = VariantFactory()
    allow_backorders(variant)
    first, second = waiting_orders(variant, [2, 2])
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=3)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("ready", "partially_ready")
    assert second.lines.get().status == "partially_allocated"
    assert (
        OrderEvent.objects.filter(kind="allocated", order=second)
        .get()
        .message.startswith("Stock arrived and is reserved for you: 1 ×")
    )
    assert sorted(m.to[0] for m in mail.outbox) == ["c0@example.com", "c1@example.com"]
    body = next(m.body for m in mail.outbox if m.to == ["c1@example.com"])
    assert "Still waiting for stock:" in body


def test_ledger_gets_one_movement_per_stock_item_and_batch_lines_are_in_allocations_and_events(
    django_capture_on_commit_callbacks,
):
    variant = VariantFactory()
    allow_backorders(variant)
    orders = waiting_orders(variant, [2, 3, 1])
    first, second = WarehouseFactory(priority=1), WarehouseFactory(priority=2)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        stock_adjust(variant_id=variant.pk, warehouse_id=first.pk, quantity_change=3)
        stock_adjust(variant_id=variant.pk, warehouse_id=second.pk, quantity_change=4)

    # The first warehouse's 3 units go to the oldest order (2) and the next (1); the second
    # warehouse gives that one its other 2 and the third order its 1.
    assert allocated(orders) == [2, 3, 1]
    movements = StockMovement.objects.filter(variant=variant, reason=MovementReason.ALLOCATED)
    assert sorted((m.warehouse_id, m.allocated_delta, m.order_line_id) for m in movements) == [
        (first.pk, 3, None),
        (second.pk, 3, None),
    ]
    assert all(m.note.startswith("auto-allocation ") and m.note.endswith(": 2 lines") for m in movements)
    lines = [order.lines.get() for order in orders]
    held = sorted(
        Allocation.objects.filter(order_line__in=lines).values_list(
            "order_line_id", "stock_item__warehouse_id", "quantity"
        )
    )
    assert held == [
        (lines[0].pk, first.pk, 2),
        (lines[1].pk, first.pk, 1),
        (lines[1].pk, second.pk, 2),
        (lines[2].pk, second.pk, 1),
    ]
    events = {e.order_id: e.data["lines"] for e in OrderEvent.objects.filter(kind="allocated")}
    assert events == {o.pk: {str(line.pk): q} for o, line, q in zip(orders, lines, [2, 3, 1], strict=True)}
    assert ledger_discrepancies() == []


def test_ship_together_order_keeps_its_place_and_waits_for_all_lines(django_capture_on_commit_callbacks):
    a, b = VariantFactory(), VariantFactory()
    allow_backorders(a)
    allow_backorders(b)
    together = place([(a, 1), (b, 1)], policy="together").order
    later = waiting_orders(a, [1], start=timezone.now())[0]

    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=a.pk, warehouse_id=WarehouseFactory().pk, quantity_change=1)

    together.refresh_from_db()
    assert together.lines.get(variant=a).quantity_allocated == 1  # served first: it is older
    assert later.lines.get().quantity_allocated == 0
    assert together.status == "waiting"  # b still waits, so nothing ships yet


def test_receipt_triggers_allocation(django_capture_on_commit_callbacks):
    variant = VariantFactory()
    allow_backorders(variant)
    orders = waiting_orders(variant, [3, 3])
    po = PurchaseOrderFactory()
    PurchaseOrderLineFactory(purchase_order=po, variant=variant, quantity_ordered=4)

    with django_capture_on_commit_callbacks(execute=True):
        purchase_order_receive(purchase_order_id=po.pk)

    assert allocated(orders) == [3, 1]
    assert AllocationRequest.objects.count() == 0


def test_second_run_changes_nothing(django_capture_on_commit_callbacks):
    variant = VariantFactory()
    allow_backorders(variant)
    orders = waiting_orders(variant, [2])
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=1)

    again = stock_arrived_process(variant_ids=[variant.pk])  # no pending request: nothing to do
    forced = allocation_serve_queue(variant_ids=[variant.pk], run_id="again")  # no free stock: nothing to do

    assert again is None
    assert (forced.lines_served, forced.units_allocated) == (0, 0)
    assert allocated(orders) == [1]


def test_many_receipts_coalesce_into_one_pass():
    variant = VariantFactory()
    allow_backorders(variant)
    orders = waiting_orders(variant, [5])
    warehouse = WarehouseFactory()
    for _ in range(10):  # ten receipts; their task messages are not run yet
        stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=1)

    with mock.patch(
        "orders.services.allocation.allocation_serve_queue", wraps=allocation_serve_queue
    ) as serve:
        for _ in range(10):  # then the ten messages arrive
            stock_arrived_process(variant_ids=[variant.pk])

    assert serve.call_count == 1
    assert allocated(orders) == [5]


def _serve_and_count(lines: int, batch_size: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    variant = VariantFactory()
    allow_backorders(variant)
    orders = waiting_orders(variant, [1] * lines)
    stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=lines)
    with CaptureQueriesContext(connection) as ctx:
        result = allocation_serve_queue(variant_ids=[variant.pk], run_id=f"t{lines}", batch_size=batch_size)
    assert allocated(orders) == [1] * lines
    return result, len(ctx.captured_queries)


def test_queries_grow_with_batches_not_lines():
    small, small_queries = _serve_and_count(lines=12, batch_size=4)
    large, large_queries = _serve_and_count(lines=36, batch_size=12)

    assert (small.batches, small.lines_served, large.batches, large.lines_served) == (3, 12, 3, 36)
    assert small_queries == large_queries
    assert Notification.objects.filter(kind="backorder_allocated").count() == 48


def test_a_crash_between_batches_leaves_whole_batches_and_the_rerun_finishes():
    variant = VariantFactory()
    allow_backorders(variant)
    orders = waiting_orders(variant, [1] * 6)
    stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=6)

    from orders.services import allocation_follow_up as order_services

    real = order_services.order_lines_allocated
    calls = {"n": 0}

    def crash_on_second_batch(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")
        return real(**kwargs)

    with (
        mock.patch.object(order_services, "order_lines_allocated", crash_on_second_batch),
        pytest.raises(SystemExit),
    ):
        allocation_serve_queue(variant_ids=[variant.pk], run_id="crash", batch_size=2)

    assert allocated(orders) == [1, 1, 0, 0, 0, 0]  # the first batch committed, the second rolled back
    assert StockItem.objects.get(variant=variant).allocated == 2
    assert ledger_discrepancies() == []

    allocation_serve_queue(variant_ids=[variant.pk], run_id="rerun", batch_size=2)

    assert allocated(orders) == [1] * 6
    assert StockItem.objects.get(variant=variant).allocated == 6
    assert ledger_discrepancies() == []


def range_of(line) -> DateRange:
    return DateRange(earliest=line.expected_earliest_date, confident=line.expected_date)


def test_dates_of_waiting_lines_are_recomputed_from_the_queue(django_capture_on_commit_callbacks):
    variant = VariantFactory()
    allow_backorders(variant, lead_time_days=30)
    po = PurchaseOrderFactory(expected_date=timezone.localdate() + timedelta(days=7))
    PurchaseOrderLineFactory(purchase_order=po, variant=variant, quantity_ordered=2)
    orders = waiting_orders(variant, [2, 2])
    # The purchase order's date padded by its supplier's lateness, then the lead time (docs/dates.md)
    covered, estimated = from_purchase_order(po.expected_date), from_lead_time(30)
    assert [astuple(range_of(o.lines.get())) for o in orders] == [astuple(covered), astuple(estimated)]

    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=2)

    lines = [o.lines.get() for o in orders]
    assert [(line.quantity_allocated, line.quantity_backordered) for line in lines] == [(2, 0), (0, 2)]
    # The second order now comes first in the queue: the purchase order covers it.
    assert range_of(lines[1]) == covered
    assert OrderLine.objects.filter(quantity_backordered__gt=0).count() == 1


def test_in_stock_email_names_only_what_this_pass_reserved(django_capture_on_commit_callbacks):
    lantern, tent = VariantFactory(product__name="Lantern"), VariantFactory(product__name="Tent")
    stock_adjust(variant_id=lantern.pk, warehouse_id=WarehouseFactory().pk, quantity_change=5)
    allow_backorders(tent)
    order = place([(lantern, 1), (tent, 2)], email="mixed@example.com").order
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=tent.pk, warehouse_id=WarehouseFactory().pk, quantity_change=2)

    message = next(m for m in mail.outbox if m.to == ["mixed@example.com"])
    assert message.subject == f"Order {order.number}: your backordered item is in stock"
    assert "- 2 × Tent" in message.body
    assert "Lantern" not in message.body.split("Reserved and getting ready to ship:")[1].split("Payment")[0]


def test_a_batch_holds_at_most_batch_size_lines_over_all_variants(django_capture_on_commit_callbacks):
    from django.db import connection

    big, small, smaller = VariantFactory(), VariantFactory(), VariantFactory()
    warehouse = WarehouseFactory()
    orders = {}
    for variant, waiting in ((big, 7), (small, 2), (smaller, 2)):
        allow_backorders(variant)
        orders[variant.pk] = waiting_orders(variant, [1] * waiting)
        stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=waiting)

    with django_capture_on_commit_callbacks(execute=True):
        result = allocation_serve_queue(
            variant_ids=[big.pk, small.pk, smaller.pk], run_id="limit", batch_size=5
        )

    # PostgreSQL serves variants together, grouped so that a group waits for about one batch:
    # the big one alone (5 + 2 lines), then the two small ones in one batch (4 lines).
    # Elsewhere each variant has its own batches: 5 + 2, 2, 2.
    assert (result.batches, result.lines_served) == (3 if connection.vendor == "postgresql" else 4, 11)
    for variant in (big, small, smaller):
        assert set(allocated(orders[variant.pk])) == {1}
    # One ledger movement per stock item and batch; its note counts the lines. No variant's lines
    # are split between two batches except the big one's.
    notes = StockMovement.objects.filter(reason=MovementReason.ALLOCATED).values_list("note", flat=True)
    assert sorted(int(note.split(": ")[1].split()[0]) for note in notes) == [2, 2, 2, 5]
    assert Notification.objects.filter(kind="backorder_allocated").count() == 11
    assert OrderEvent.objects.filter(kind="allocated", data__run="limit").count() == 11
    assert ledger_discrepancies() == []
