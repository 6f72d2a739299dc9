"""PostgreSQL drops the web process's connection in the middle of a checkout."""

import threading
import uuid

import pytest
from django.db import connection, transaction

from conftest import database_url_for_subprocess
from inventory.models import StockItem, StockMovement
from inventory.selectors import ledger_discrepancies
from inventory.services import stock_adjust
from inventory.tests.factories import WarehouseFactory
from notifications.models import BackInStockSubscription, Notification
from notifications.tests.factories import SubscriptionFactory
from orders.models import Order, OrderEvent, OrderLine, Payment
from shop.tests.factories import VariantFactory

from .harness import Browser, add_to_cart, checkout_fields, wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]


def _state(variant) -> dict:
    item = StockItem.objects.get(variant=variant)
    return {
        "stock": (item.on_hand, item.allocated),
        "movements": StockMovement.objects.count(),
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "events": OrderEvent.objects.count(),
        "payments": Payment.objects.count(),
        "notifications": Notification.objects.count(),
        "subscriptions": list(BackInStockSubscription.objects.values_list("status", flat=True)),
    }


def _blocked_backend(application_name: str) -> int | None:
    """The shop's session waiting for a row lock (ours), in this test's database only."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction the view is cached
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s AND wait_event_type = 'Lock'",
            [application_name],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _has_inserted_an_order(pid: int) -> bool:
    """The session holds a transaction id and has written to the orders table (not yet committed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT a.backend_xid IS NOT NULL, EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c "
            "ON c.oid = l.relation WHERE l.pid = a.pid AND c.relname = %s AND l.mode = 'RowExclusiveLock') "
            "FROM pg_stat_activity a WHERE a.pid = %s",
            [Order._meta.db_table, pid],
        )
        return cursor.fetchone() == (True, True)


def test_connection_dropped_mid_checkout_shows_the_error_page_and_writes_nothing(shop_processes):
    # Given: a lamp in stock in a cart, and the customer's open back-in-stock alert for it, which
    # the checkout closes as the last write of its transaction
    lamp = VariantFactory(product__name="Desk lamp")
    stock_adjust(variant_id=lamp.pk, warehouse_id=WarehouseFactory().pk, quantity_change=5)
    alert = SubscriptionFactory(variant=lamp, email="ada@example.com")
    application_name = f"faults-web-{uuid.uuid4().hex[:8]}"
    base = shop_processes.gunicorn(
        extra_env={"DATABASE_URL": f"{database_url_for_subprocess()}?application_name={application_name}"}
    )
    browser = Browser(base)
    add_to_cart(browser, product_path=f"/p/{lamp.product.slug}/", variant_id=lamp.pk)
    fields = checkout_fields(browser.get("/orders/checkout/"), email_address="ada@example.com")
    before = _state(lamp)

    # When: the checkout waits on the alert's row (locked here) with the order written but not
    # committed, and its database session is terminated
    result = {}
    with transaction.atomic():
        BackInStockSubscription.objects.select_for_update().get(pk=alert.pk)
        post = threading.Thread(target=lambda: result.update(page=browser.post("/orders/checkout/", fields)))
        post.start()
        pid = wait_until(lambda: _blocked_backend(application_name), timeout=30, what="the checkout to block")
        assert _has_inserted_an_order(pid)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    post.join(timeout=60)
    page = result["page"]

    # Then: the customer sees the shop's error page, not a traceback ...
    assert page.status == 500
    assert "Sorry, something went wrong on our side" in page.text
    assert "Traceback" not in page.text and "OperationalError" not in page.text
    assert "terminating connection due to administrator command" in shop_processes.started[0].log.read_text()
    # ... and nothing of the checkout was written: no order, no stock change, no email, alert still open
    assert _state(lamp) == before
    assert ledger_discrepancies() == []

    # When: the customer submits the same page again (a new connection)
    again = browser.post("/orders/checkout/", fields)

    # Then: the order is placed once
    assert again.status == 200 and "Thank you for your order!" in again.text
    assert Order.objects.count() == 1
    item = StockItem.objects.get(variant=lamp)
    assert (item.on_hand, item.allocated) == (5, 1)
    assert ledger_discrepancies() == []
