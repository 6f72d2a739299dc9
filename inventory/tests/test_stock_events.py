"""What follows a stock change: backorders first, then back-in-stock subscribers; staff low-stock alerts."""

import pytest
from django.core import mail
from django.utils import timezone

from inventory.services import stock_adjust
from inventory.tests.factories import WarehouseFactory
from notifications.models import BackInStockSubscription, Notification
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


def subscribe(variant, email):
    return BackInStockSubscription.objects.create(
        variant=variant, email=email, status="active", confirmed_at=timezone.now()
    )


def test_free_units_after_the_queue_go_to_subscribers(django_capture_on_commit_callbacks):
    variant = VariantFactory()
    allow_backorders(variant, backorder_limit=2)
    place([(variant, 2)], email="waiting@example.com")  # limit reached: the variant is out of stock
    subscriber = subscribe(variant, "fan@example.com")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=3)

    subscriber.refresh_from_db()
    assert subscriber.status == "notified"
    assert sorted(m.to[0] for m in mail.outbox) == ["fan@example.com", "waiting@example.com"]


def test_no_back_in_stock_mail_when_the_queue_takes_every_unit(django_capture_on_commit_callbacks):
    variant = VariantFactory()
    allow_backorders(variant, backorder_limit=2)
    place([(variant, 2)], email="waiting@example.com")
    subscriber = subscribe(variant, "fan@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=2)

    subscriber.refresh_from_db()
    assert subscriber.status == "active"
    assert Notification.objects.filter(kind="back_in_stock").count() == 0


def test_a_buyer_is_not_told_again(django_capture_on_commit_callbacks):
    variant = VariantFactory()
    give_stock(variant, 5)
    subscriber = subscribe(variant, "Fan@Example.com")

    place([(variant, 1)], email="fan@example.com")

    subscriber.refresh_from_db()
    assert subscriber.status == "purchased"


def test_checkout_that_crosses_the_threshold_alerts_staff_once(settings, django_capture_on_commit_callbacks):
    settings.STAFF_ALERT_EMAILS = ["stock@example.com"]
    settings.INVENTORY_LOW_STOCK_THRESHOLD = 3
    variant = VariantFactory(sku="LAMP-9")
    give_stock(variant, 6)

    for email, quantity in [("a@example.com", 2), ("b@example.com", 1), ("c@example.com", 1)]:
        # 4 left: above the threshold; then 3 left: crosses; then 2 left: still low, no second alert
        with django_capture_on_commit_callbacks(execute=True):
            place([(variant, quantity)], email=email)

    alerts = [m for m in mail.outbox if m.to == ["stock@example.com"]]
    assert [m.subject for m in alerts] == ["Low stock: LAMP-9 has 3 left"]
