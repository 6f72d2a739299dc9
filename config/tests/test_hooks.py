"""config.hooks: receivers run in connection order; the project's receivers defer to commit."""

from pathlib import Path

import pytest
from django.db import transaction

from config.hooks import Hook
from inventory import events as inventory_events
from invoices import events as invoices_events
from orders import events as orders_events
from shop import events as shop_events
from shop.events import password_reset_requested
from webhooks import hooks as webhooks_hooks


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


def _every_hook() -> dict[str, Hook]:
    """Every Hook the apps declare, found in their events modules, so a new hook cannot be missed."""
    hooks = {}
    for module in (inventory_events, orders_events, shop_events, webhooks_hooks, invoices_events):
        for value in vars(module).values():
            if isinstance(value, Hook):
                hooks[value.name] = value
    return hooks


def test_every_hook_has_the_receivers_the_apps_connect():
    """The wiring in the apps' ready() (docs/architecture.md's table of hooks)."""
    names = {
        name: [f"{r.__module__}.{r.__qualname__}" for r in hook.receivers]
        for name, hook in _every_hook().items()
    }
    assert names == {
        "inventory.stock_grew": ["inventory.tasks.stock_arrived_enqueue"],
        "inventory.stock_fell": ["notifications.tasks.check_low_stock_enqueue"],
        "inventory.supply_changed": ["orders.tasks.check_delays_enqueue"],
        "inventory.availability_changed": [
            "shop.cache.availability_changed",
            "webhooks.receivers.availability_changed",
        ],
        "inventory.stock_changed": ["webhooks.receivers.stock_changed"],
        "inventory.purchase_order_received": ["webhooks.receivers.purchase_order_received"],
        "inventory.purchase_order_date_moved": ["webhooks.receivers.purchase_order_date_moved"],
        "orders.queue_served": [
            "notifications.services.waves.back_in_stock_process",
            "notifications.services.alerts.low_stock_check",
        ],
        "orders.queue_reordered": ["orders.tasks.check_delays_enqueue"],
        "orders.card_charges_created": ["orders.tasks.card_charges_enqueue"],
        "orders.order_placed": ["webhooks.receivers.order_placed"],
        "orders.backorders_served": ["webhooks.receivers.backorders_served"],
        "orders.order_shipped": ["invoices.receivers.order_shipped", "webhooks.receivers.order_shipped"],
        "orders.payment_captured": ["invoices.receivers.payment_captured"],
        "orders.payment_refunded": ["invoices.receivers.payment_refunded"],
        "orders.order_units_cancelled": ["webhooks.receivers.order_units_cancelled"],
        "orders.backorder_dates_told": ["webhooks.receivers.backorder_dates_told"],
        "shop.password_reset_requested": ["shop.tasks.send_password_reset_enqueue"],
        "shop.catalog_import_queued": ["shop.tasks.catalog_import_enqueue"],
        "webhooks.deliveries_queued": ["webhooks.tasks.webhooks_deliver_enqueue"],
        "invoices.document_issued": [
            "invoices.tasks.document_pdf_enqueue",
            "invoices.emails.document_email_create",
        ],
    }


def test_the_architecture_page_lists_every_hook():
    """docs/architecture.md's table has a row for each hook, so the table cannot fall behind the code."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    rows = {line.split("`")[1] for line in page.splitlines() if line.startswith("  | `")}
    assert rows == {name.split(".", 1)[1] for name in _every_hook()}


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
