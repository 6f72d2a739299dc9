"""config.hooks: receivers run in connection order; the project's receivers defer to commit."""

import pytest
from django.db import transaction

from config.hooks import Hook
from inventory.events import availability_changed, stock_fell, stock_grew, supply_changed
from orders.events import queue_reordered, queue_served
from shop.events import password_reset_requested


def test_receivers_run_in_connection_order_with_the_keyword_arguments():
    calls = []
    hook = Hook("test.hook")
    hook.connect(lambda **kw: calls.append(("first", kw)))
    hook.connect(lambda **kw: calls.append(("second", kw)))

    hook.send(variant_ids=[3, 1])

    assert calls == [("first", {"variant_ids": [3, 1]}), ("second", {"variant_ids": [3, 1]})]


def test_connecting_twice_keeps_one_receiver_and_disconnect_removes_it():
    calls = []
    hook = Hook("test.hook")

    def receiver(**kw):
        calls.append(kw)

    hook.connect(receiver)
    hook.connect(receiver)
    assert hook.receivers == (receiver,)
    hook.send(x=1)
    hook.disconnect(receiver)
    hook.send(x=2)

    assert calls == [{"x": 1}]


def test_a_failing_receiver_propagates():
    hook = Hook("test.hook")

    def broken(**kw):
        raise ConnectionError("broker down")

    hook.connect(broken)
    with pytest.raises(ConnectionError):
        hook.send(x=1)


def test_every_hook_has_the_receivers_the_apps_connect():
    """The wiring in the apps' ready() (docs/architecture.md's table of hooks)."""
    names = {
        hook.name: [f"{r.__module__}.{r.__qualname__}" for r in hook.receivers]
        for hook in (
            stock_grew,
            stock_fell,
            supply_changed,
            availability_changed,
            queue_served,
            queue_reordered,
            password_reset_requested,
        )
    }
    assert names == {
        "inventory.stock_grew": ["inventory.tasks.stock_arrived_enqueue"],
        "inventory.stock_fell": ["notifications.tasks.check_low_stock_enqueue"],
        "inventory.supply_changed": ["orders.tasks.check_delays_enqueue"],
        "inventory.availability_changed": ["shop.cache.availability_changed"],
        "orders.queue_served": [
            "notifications.services.waves.back_in_stock_process",
            "notifications.services.alerts.low_stock_check",
        ],
        "orders.queue_reordered": ["orders.tasks.check_delays_enqueue"],
        "shop.password_reset_requested": ["shop.tasks.send_password_reset_enqueue"],
    }


@pytest.mark.django_db(transaction=True)
def test_a_hook_sent_in_a_transaction_that_rolls_back_publishes_nothing(monkeypatch):
    published = []
    monkeypatch.setattr("shop.tasks.send_password_reset.delay", lambda **kw: published.append(kw))

    with pytest.raises(RuntimeError), transaction.atomic():
        password_reset_requested.send(email="a@example.com")
        raise RuntimeError("rolled back")
    assert published == []

    with transaction.atomic():
        password_reset_requested.send(email="a@example.com")
        assert published == []  # not before commit
    assert published == [{"email": "a@example.com"}]
