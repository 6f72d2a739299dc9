"""Parity of the allocation pass's PostgreSQL statements with their Python twins.

Each vendor-specific statement sits beside its Python twin, which is what runs on SQLite:
the batch (orders.services.allocation_batches), its stock side (inventory.services.serving),
the orders' side (orders.services.after_allocation) and the expected dates
(orders.services.dates). On PostgreSQL both twins can run, so the same queue is built twice
and served once by each; the rows they write must be the same.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from inventory.models import Allocation, MovementReason, StockItem, StockMovement
from inventory.projection import DateRange
from inventory.selectors import ledger_discrepancies
from inventory.tests.factories import WarehouseFactory
from notifications.models import Notification
from orders.models import AllocationFollowUp, OrderEvent, OrderLine
from orders.services import order_set_priority, order_ship
from orders.services.after_allocation import _orders_allocated_python
from orders.services.allocation_batches import serve_batch, serve_batch_postgres
from orders.services.allocation_follow_up import follow_up_run
from orders.services.dates import _expected_dates_write, _expected_dates_write_postgres
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _queue():
    """A lamp's backorder queue with every kind of line the pass meets, then stock arriving in two
    warehouses; returns (lamp, warehouses, orders in the order they were placed)."""
    lamp, shade = VariantFactory(product__name="Lamp"), VariantFactory(product__name="Shade")
    allow_backorders(lamp)
    allow_backorders(shade)
    first, second = WarehouseFactory(priority=1), WarehouseFactory(priority=2)
    start = timezone.now() - timedelta(days=1)
    orders = []

    def placed(items, **kwargs):
        order = place(items, email=f"c{len(orders)}@example.com", **kwargs).order
        order.placed_at = start + timedelta(minutes=len(orders))
        order.save(update_fields=["placed_at"])
        orders.append(order)
        return order

    give_stock(lamp, 1, first)
    placed([(lamp, 3)])  # one unit allocated from the first warehouse, two wait
    give_stock(lamp, 3, first)  # one unit beyond the two waiting: the next order gets it
    shipped = placed([(lamp, 3)])
    order_ship(order_id=shipped.pk)  # one unit shipped, two wait: the line is "partially shipped"
    placed([(lamp, 2)])
    placed([(lamp, 1), (shade, 1)], policy="together")  # the shade waits: the order keeps waiting
    placed([(lamp, 3)])
    order_set_priority(order_id=placed([(lamp, 1)]).pk, is_priority=True)
    placed([(lamp, 2)])
    # Needed by a date: served before the older orders that need none (orders.querysets.QUEUE_KEYS).
    needs = placed([(lamp, 2)])
    needs.need_by, needs.need_by_action = timezone.localdate() + timedelta(days=60), "ask"
    needs.save(update_fields=["need_by", "need_by_action"])
    give_stock(lamp, 2, first)
    give_stock(lamp, 5, second)  # 9 units free (4 in the first warehouse) for 15 waiting
    return lamp, (first, second), orders


def _rows(lamp, warehouses, orders) -> dict:
    """Everything the pass writes, with ids replaced by positions so that two queues compare."""
    lines = {
        line.pk: (n, line.variant_id == lamp.pk)
        for n, order in enumerate(orders)
        for line in order.lines.order_by("pk")
    }
    where = {w.pk: n for n, w in enumerate(warehouses)}
    by_order = {order.pk: n for n, order in enumerate(orders)}
    return {
        "lines": [
            (
                lines[line.pk],
                line.quantity_allocated,
                line.quantity_backordered,
                line.quantity_shipped,
                line.status,
            )
            for line in OrderLine.objects.filter(pk__in=lines).order_by("pk")
        ],
        "orders": [order.__class__.objects.get(pk=order.pk).status for order in orders],
        "allocations": sorted(
            (lines[a.order_line_id], where[a.stock_item.warehouse_id], a.quantity)
            for a in Allocation.objects.filter(order_line_id__in=lines).select_related("stock_item")
        ),
        "stock": sorted(
            (where[i.warehouse_id], i.on_hand, i.allocated) for i in StockItem.objects.filter(variant=lamp)
        ),
        "movements": sorted(
            (where[m.warehouse_id], m.on_hand_delta, m.allocated_delta, m.order_line_id, m.note)
            for m in StockMovement.objects.filter(
                variant=lamp, reason=MovementReason.ALLOCATED, note__startswith="auto"
            )
        ),
        "events": sorted(
            (
                by_order[e.order_id],
                e.message,
                e.visible_to_customer,
                e.data["run"],
                sorted((lines[int(k)], v) for k, v in e.data["lines"].items()),
                e.data["words"],  # what the customer's timeline says, in their language (orders.event_words)
            )
            for e in OrderEvent.objects.filter(order_id__in=by_order, kind="allocated", data__run="parity")
        ),
        "emails": sorted(
            (
                n.kind,
                n.recipient,
                n.status,
                n.dedupe_key.replace(f":{n.context['order_id']}:", f":#{by_order[n.context['order_id']]}:"),
                by_order[n.context["order_id"]],
                n.context["run_id"],
            )
            for n in Notification.objects.filter(
                kind="backorder_allocated", context__order_id__in=list(by_order)
            )
        ),
    }


def test_python_and_postgres_batches_write_the_same_rows():
    python_queue, postgres_queue = _queue(), _queue()

    served = {"python": [], "postgres": []}
    while True:  # batches of three lines, each with its orders' side, until nothing is left
        with transaction.atomic():
            batch = serve_batch(variant_id=python_queue[0].pk, run_id="parity", batch_size=3)
            if batch.takes:
                _orders_allocated_python(order_ids=batch.order_ids, takes=batch.takes, run_id="parity")
        if not batch.takes:
            break
        served["python"].append(list(batch.takes.values()))
    while True:
        with transaction.atomic():
            batch = serve_batch_postgres(variant_ids=[postgres_queue[0].pk], run_id="parity", batch_size=3)
            if batch.takes:
                assert follow_up_run(batch=batch, run_id="parity")  # the PostgreSQL statement
        if not batch.takes:
            break
        served["postgres"].append(list(batch.takes.values()))

    assert served["python"] == served["postgres"] == [[1, 2, 2], [2, 2]]
    python_rows, postgres_rows = _rows(*python_queue), _rows(*postgres_queue)
    for kind in python_rows:
        assert python_rows[kind] == postgres_rows[kind], kind
    # The queue was served in order: the priority order, the order needed by a date, then the
    # oldest ones (the fourth ships together and waits for its shade); the fifth gets nothing.
    assert python_rows["orders"] == [
        "ready",
        "partially_shipped",
        "ready",
        "waiting",
        "waiting",
        "ready",
        "waiting",
        "ready",
    ]
    assert len(python_rows["emails"]) == 5  # one per order served, whatever its number of batches
    # Each event's words (orders.event_words, said in the reader's language): the units of each line served
    for _order, _message, _visible, _run, served_lines, words in python_rows["events"]:
        assert words == {
            "key": "reserved_from_new_stock",
            "params": {"items": [{"count": units, "name": "Lamp"} for _line, units in served_lines]},
        }
    assert not AllocationFollowUp.objects.exists()
    assert ledger_discrepancies() == []


def test_python_and_postgres_write_the_same_expected_dates():
    today = timezone.localdate()
    lines = [[], []]
    for twin in range(2):
        variant = VariantFactory()
        allow_backorders(variant)
        lines[twin] = [
            place([(variant, n + 1)], email=f"d{n}@example.com").order.lines.get() for n in range(3)
        ]

    def span(n: int) -> DateRange:  # both ends of a range (docs/dates.md): the earliest, the confident
        return DateRange(
            earliest=today + timedelta(days=10 * n), confident=today + timedelta(days=10 * n + 7)
        )

    changes = [[(line.pk, span(n + 1)) for n, line in enumerate(twin)] for twin in lines]

    _expected_dates_write(changes[0])
    _expected_dates_write_postgres(changes[1])

    dates = [
        list(
            OrderLine.objects.filter(pk__in=[line.pk for line in twin])
            .order_by("pk")
            .values_list("expected_earliest_date", "expected_date")
        )
        for twin in lines
    ]
    assert dates[0] == dates[1] == [(span(n).earliest, span(n).confident) for n in (1, 2, 3)]
