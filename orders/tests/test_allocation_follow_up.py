"""PostgreSQL: a served batch's orders are brought up to date on a second connection.

Outside a transaction (as in the worker), the pass commits each batch's stock work and hands
its orders (status, timeline event, email) to a follow-up transaction on another connection,
which runs while the next batch is served. These tests run the pass as the worker does
(`transaction=True`, autocommit) and check the outcome, and what happens when a follow-up
fails: the batch's AllocationFollowUp row stays and the sweep finishes it, exactly once.
"""

from collections import Counter
from unittest import mock

import pytest

from inventory.models import StockItem
from inventory.selectors import ledger_discrepancies
from inventory.tasks import sweep_allocation_requests
from notifications.models import Notification
from orders.models import AllocationFollowUp, Order, OrderEvent
from orders.services import allocation_follow_up as order_services
from orders.services import allocation_serve_queue, order_allocation_follow_ups_finish
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def no_task(monkeypatch):
    # The passes under test are started by hand; keep the on-commit task from running its own.
    monkeypatch.setattr("inventory.tasks.stock_arrived.delay_on_commit", lambda **kw: None)


def _waiting(variant, n, *, also=None):
    items = [(variant, 1)] + ([(also, 1)] if also else [])
    return [place(items, email=f"w{i}@example.com").order.pk for i in range(n)]


def test_the_pass_outside_a_transaction_updates_every_order_once(no_task):
    variant, other = VariantFactory(), VariantFactory()
    allow_backorders(variant)
    allow_backorders(other)
    give_stock(other, 12)
    orders = _waiting(variant, 12, also=other)  # each order: one waiting line, one allocated line
    give_stock(variant, 12)

    result = allocation_serve_queue(variant_ids=[variant.pk], run_id="piped", batch_size=5)

    assert (result.batches, result.lines_served) == (3, 12)
    assert not AllocationFollowUp.objects.exists()
    assert set(Order.objects.filter(pk__in=orders).values_list("status", flat=True)) == {"ready"}
    events = Counter(
        OrderEvent.objects.filter(kind="allocated", data__run="piped").values_list("order_id", flat=True)
    )
    assert events == Counter(orders)  # one event per order (each order's line was in one batch)
    emails = Notification.objects.filter(kind="backorder_allocated")
    assert sorted(emails.values_list("recipient", flat=True)) == sorted(
        f"w{i}@example.com" for i in range(12)
    )
    assert StockItem.objects.get(variant=variant).allocated == 12
    assert ledger_discrepancies() == []


def test_a_failed_follow_up_is_finished_by_the_sweep_exactly_once(no_task, caplog):
    variant = VariantFactory()
    allow_backorders(variant)
    orders = _waiting(variant, 6)
    give_stock(variant, 6)
    real = order_services.order_lines_allocated
    calls = {"n": 0}

    def fail_the_second(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("connection lost")
        return real(**kwargs)

    with mock.patch.object(order_services, "order_lines_allocated", fail_the_second):
        result = allocation_serve_queue(variant_ids=[variant.pk], run_id="lost", batch_size=2)

    # The stock work of all three batches is committed; the second batch's orders were not updated.
    assert result.lines_served == 6
    assert StockItem.objects.get(variant=variant).allocated == 6
    assert "the sweep will retry" in caplog.text
    left = AllocationFollowUp.objects.get()
    assert left.run_id == "lost" and len(left.lines["lines"]) == 2
    statuses = dict(Order.objects.filter(pk__in=orders).values_list("pk", "status"))
    assert sorted(Counter(statuses.values()).items()) == [("ready", 4), ("waiting", 2)]

    sweep_allocation_requests()  # the beat task: finishes what was left behind

    assert not AllocationFollowUp.objects.exists()
    assert set(Order.objects.filter(pk__in=orders).values_list("status", flat=True)) == {"ready"}
    events = Counter(OrderEvent.objects.filter(kind="allocated").values_list("order_id", flat=True))
    assert events == Counter(orders)
    assert Notification.objects.filter(kind="backorder_allocated").count() == 6
    assert order_allocation_follow_ups_finish() == 0  # nothing left: running it again changes nothing
    assert OrderEvent.objects.filter(kind="allocated").count() == 6


def test_customers_cancelling_while_the_pass_and_its_follow_ups_run(no_task):
    """Cancellations lock an order's lines, then the order; the pass's follow-up locks orders and
    only reads lines. Run together: no deadlock, no error but the customer's clear refusal, and
    every order's status is the one its committed lines imply."""
    from django.db.models import Sum

    from config.testing import run_together
    from orders.lifecycle import order_status
    from orders.services import OrderActionError, order_cancel_backordered

    variant, other = VariantFactory(), VariantFactory()
    allow_backorders(variant)
    allow_backorders(other)
    orders = [place([(variant, 2), (other, 1)], email=f"c{i}@example.com").order.pk for i in range(40)]
    give_stock(variant, 50)  # enough for the 25 oldest orders
    give_stock(other, 40)

    passes = [
        lambda: allocation_serve_queue(variant_ids=[variant.pk], run_id="cancel-race", batch_size=4),
        lambda: allocation_serve_queue(variant_ids=[other.pk], run_id="cancel-race-2", batch_size=6),
    ]
    cancels = [lambda pk=pk: order_cancel_backordered(order_id=pk) for pk in orders[5:35:2]]
    results = run_together(passes + cancels)

    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, OrderActionError)]
    assert unexpected == []
    assert not AllocationFollowUp.objects.exists()
    for order in Order.objects.filter(pk__in=orders).prefetch_related("lines"):
        lines = list(order.lines.all())
        assert order.status == order_status(lines, ship_policy=order.ship_policy), order.number
    for v in (variant, other):
        item = StockItem.objects.get(variant=v)
        lines = v.order_lines.aggregate(allocated=Sum("quantity_allocated"))
        assert item.allocated == lines["allocated"]
    assert ledger_discrepancies() == []
