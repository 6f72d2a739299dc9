"""Redis stops during checkout: orders are still taken, and every email goes out once it is back."""

import time

import pytest

from inventory.services import stock_adjust
from inventory.tests.factories import BackorderPolicyFactory, WarehouseFactory
from notifications.models import Notification, NotificationStatus
from orders.models import Order
from shop.tests.factories import VariantFactory

from .harness import Browser, add_to_cart, checkout_fields, wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

CUSTOMERS = ["ada@example.com", "bob@example.com"]


def test_checkout_while_redis_is_down_then_the_sweep_sends_every_email_exactly_once(
    private_redis, shop_processes, smtp_sink, broker
):
    # Given: one lamp in stock, one kettle sold on backorder, the shop up on its own Redis
    lamp = VariantFactory(product__name="Desk lamp")
    stock_adjust(variant_id=lamp.pk, warehouse_id=WarehouseFactory().pk, quantity_change=5)
    kettle = BackorderPolicyFactory(variant__product__name="Enamel kettle").variant
    base = shop_processes.gunicorn(extra_env={"EMAIL_URL": smtp_sink.url})

    # When: Redis stops, and two customers each order a lamp and a kettle
    private_redis.stop()
    pages = []
    for email in CUSTOMERS:
        browser = Browser(base)
        add_to_cart(browser, product_path=f"/p/{lamp.product.slug}/", variant_id=lamp.pk)
        add_to_cart(browser, product_path=f"/p/{kettle.product.slug}/", variant_id=kettle.pk)
        form = browser.get("/orders/checkout/")
        pages.append(browser.post("/orders/checkout/", checkout_fields(form, email_address=email)))

    # Then: each saw the normal confirmation, and nothing alarming
    for page in pages:
        assert page.status == 200, page.text[-3000:]
        assert "/orders/BO-" in page.url
        assert "Thank you for your order!" in page.text
        assert "alert-danger" not in page.text and "went wrong" not in page.text
        assert page.seconds < 10  # publishing gives up fast (CELERY_TASK_PUBLISH_RETRY_POLICY)
    orders = list(Order.objects.order_by("pk").prefetch_related("lines"))
    assert [o.email for o in orders] == CUSTOMERS
    for order in orders:
        by_variant = {line.variant_id: line for line in order.lines.all()}
        assert (by_variant[lamp.pk].quantity_allocated, by_variant[kettle.pk].quantity_backordered) == (1, 1)
    # ... the emails wait in the outbox, and the lost messages were logged, not raised
    outbox = list(Notification.objects.order_by("pk").values_list("kind", "recipient", "status", "attempts"))
    assert outbox == [("order_confirmed", email, NotificationStatus.PENDING, 0) for email in CUSTOMERS]
    assert (
        "notifications.tasks.send_notifications.delay_on_commit" in shop_processes.started[0].log.read_text()
    )
    assert smtp_sink.messages == []

    # When: Redis comes back (empty: it keeps nothing), a worker starts and beat's sweep runs, twice
    private_redis.start()
    shop_processes.worker(extra_env={"EMAIL_URL": smtp_sink.url})
    broker.send("notifications.tasks.sweep_notifications")
    wait_until(
        lambda: not Notification.objects.exclude(status=NotificationStatus.SENT).exists(),
        timeout=60,
        what="the outbox to be sent",
    )
    broker.send("notifications.tasks.sweep_notifications")
    time.sleep(2)  # a duplicate would arrive in this time

    # Then: every email went out exactly once
    assert sorted(smtp_sink.recipients()) == CUSTOMERS
    assert list(Notification.objects.order_by("pk").values_list("recipient", "status", "attempts")) == [
        (email, NotificationStatus.SENT, 1) for email in CUSTOMERS
    ]
