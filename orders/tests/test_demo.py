"""orders/demo.py (and the seeding as a whole): demo data never emails anyone, whatever the settings."""

import pytest
from django.core import mail
from django.core.management import call_command

from notifications.models import LowStockState, Notification, NotificationStatus
from orders.demo import DEMO_DOMAIN
from orders.models import Order

pytestmark = pytest.mark.django_db


def test_seeding_with_a_real_smtp_server_configured_sends_nothing(
    settings, smtp_server, django_capture_on_commit_callbacks
):
    # Given: a real SMTP server behind EMAIL_BACKEND, and staff addresses for the low-stock alerts
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.STAFF_ALERT_EMAILS = ["stock@shop.test"]

    # When: the demo is seeded and every task its commits queued runs (what the worker does next)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command("seed_demo", verbosity=0)

    # Then: the demo orders exist, their confirmations are in the outbox but will never be sent
    assert len(callbacks) > 0  # the seeding did queue its tasks: they ran and sent nothing
    orders = list(Order.objects.values_list("pk", "email"))
    assert len(orders) == 10
    assert all(email.endswith(f"@{DEMO_DOMAIN}") for _, email in orders)
    outbox = list(Notification.objects.values_list("kind", "recipient", "status", "attempts"))
    assert sorted(outbox) == sorted(
        ("order_confirmed", email, NotificationStatus.CANCELLED, 0) for _, email in orders
    )
    # ... no low-stock alert for staff: the demo's low variants count as already reported
    assert LowStockState.objects.filter(is_low=True).exists()
    assert smtp_server.messages == []
    assert mail.outbox == []
