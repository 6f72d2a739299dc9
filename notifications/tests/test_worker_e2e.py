"""A real Celery worker on Redis sends an outbox email to a real SMTP server."""

import pytest
from django.db import transaction

from notifications.models import Notification, NotificationKind
from notifications.services import notification_create
from shop.tests.factories import VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


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
    assert Notification.objects.get().status == "sent"
