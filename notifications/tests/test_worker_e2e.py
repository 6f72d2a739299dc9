"""A real Celery worker on Redis sends outbox emails to a real SMTP server."""

import re
import time

import pytest
from django.db import transaction

from inventory.services import stock_adjust
from inventory.tests.factories import WarehouseFactory
from notifications.models import Notification, NotificationKind
from notifications.services import back_in_stock_process, notification_create
from notifications.tests.factories import SubscriptionFactory
from shop.tests.factories import VariantFactory

# exclusive: "a duplicate would arrive" within a wait of two seconds, not stretched by other tests' load.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.exclusive,
]


def test_worker_sends_outbox_email_through_smtp(celery_via_broker, smtp_server):
    celery_via_broker(extra_env={"EMAIL_URL": smtp_server.url})
    variant = VariantFactory(sku="LAMP-01")

    with transaction.atomic():
        notification_create(
            kind=NotificationKind.LOW_STOCK_ALERT,
            recipient="staff@example.com",
            dedupe_key="low-stock:e2e",
            context={"variant_id": variant.pk, "threshold": 5},
        )

    messages = smtp_server.wait_for(1)
    assert len(messages) == 1
    assert messages[0]["Subject"] == "Low stock: LAMP-01 has 0 left"
    assert messages[0]["To"] == "staff@example.com"
    # The worker marks the row sent just after the server took the message: give it that moment.
    deadline = time.monotonic() + 10
    while Notification.objects.get().status != "sent" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Notification.objects.get().status == "sent"


def test_back_in_stock_wave_reaches_smtp_once_per_recipient_with_unsubscribe_headers(
    celery_via_broker, smtp_server
):
    variant = VariantFactory(sku="KETTLE-RED", product__name="Enamel kettle")
    stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=4)
    celery_via_broker(extra_env={"EMAIL_URL": smtp_server.url, "NOTIFICATIONS_SEND_BATCH_SIZE": "5"})
    emails = [f"fan{n}@example.com" for n in range(12)]
    for email in emails:
        SubscriptionFactory(variant=variant, email=email)

    assert back_in_stock_process(variant_ids=[variant.pk]) == {variant.pk: 12}  # limit 3 x 4 = 12

    messages = smtp_server.wait_for(12)
    time.sleep(2)  # a duplicate would arrive in this time
    messages = list(smtp_server.messages)
    assert sorted(m["To"] for m in messages) == sorted(emails)
    assert all(m["Subject"] == "Back in stock: Enamel kettle" for m in messages)
    # Long header values are folded onto a second line, which RFC 5322 allows.
    unsubscribe = [" ".join(m["List-Unsubscribe"].split()) for m in messages]
    assert all(re.fullmatch(r"<http://\S+/notifications/unsubscribe/\S+/>", value) for value in unsubscribe)
    assert all(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in messages)
    assert Notification.objects.filter(kind="back_in_stock", status="sent").count() == 12
