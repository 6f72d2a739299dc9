from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import (
    notification_create,
    notification_retry_failed,
    notification_send,
    notification_sweep,
)
from notifications.tasks import send_notification, sweep_notifications
from notifications.tests.backends import FlakyBackend
from notifications.tests.factories import NotificationFactory
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_retries():
    """Let an eager task's self.retry() re-run it in place, as a worker would re-deliver it."""
    from config.celery import app

    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = previous


def low_stock(variant, key="low-stock:1"):
    return notification_create(
        kind=NotificationKind.LOW_STOCK_ALERT,
        recipient="staff@example.com",
        dedupe_key=key,
        context={"variant_id": variant.pk, "threshold": 5},
    )


def test_create_enqueues_send_after_commit_and_sends(django_capture_on_commit_callbacks):
    variant = VariantFactory(sku="TENT-GRN")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = low_stock(variant)

    assert len(callbacks) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 1)
    assert notification.sent_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Low stock: TENT-GRN has 0 left"
    assert message.to == ["staff@example.com"]
    assert "TENT-GRN" in message.body
    assert message.alternatives[0].mimetype == "text/html"
    assert "List-Unsubscribe" not in message.extra_headers  # staff alert, not marketing


def test_same_dedupe_key_twice_is_a_no_op(django_capture_on_commit_callbacks):
    variant = VariantFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = low_stock(variant)
        second = low_stock(variant)

    assert first is not None and second is None
    assert Notification.objects.count() == 1
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1


def test_nothing_is_sent_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    from django.db import transaction

    variant = VariantFactory()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        low_stock(variant)
        raise RuntimeError("the change failed")

    assert (Notification.objects.count(), len(callbacks), len(mail.outbox)) == (0, 0, 0)


def test_smtp_failing_twice_then_succeeding_sends_once_after_three_attempts(settings, eager_retries):
    settings.EMAIL_BACKEND = "notifications.tests.backends.FlakyBackend"
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0  # due again at once; the task retries on the broker
    FlakyBackend.failures_left = 2
    notification = NotificationFactory(context={"variant_id": VariantFactory().pk})

    send_notification.apply(kwargs={"notification_id": notification.pk})

    notification.refresh_from_db()
    assert (notification.status, notification.attempts, len(mail.outbox)) == ("sent", 3, 1)
    assert notification.last_error == ""


def test_long_backoff_waits_in_the_database_for_the_sweep(settings):
    settings.EMAIL_BACKEND = "notifications.tests.backends.FlakyBackend"
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 600
    FlakyBackend.failures_left = 1
    notification = NotificationFactory(context={"variant_id": VariantFactory().pk})

    send_notification.apply(kwargs={"notification_id": notification.pk})

    notification.refresh_from_db()
    assert (notification.status, notification.attempts, len(mail.outbox)) == ("pending", 1, 0)
    assert "SMTP server unavailable" in notification.last_error
    assert notification.next_attempt_at > timezone.now() + timedelta(seconds=299)
    assert notification_sweep() == []  # not due yet

    with time_machine.travel(timezone.now() + timedelta(seconds=601)):
        assert sweep_notifications.apply().get() == 1

    notification.refresh_from_db()
    assert (notification.status, notification.attempts, len(mail.outbox)) == ("sent", 2, 1)


def test_gives_up_after_max_attempts_and_staff_can_retry(settings, eager_retries):
    settings.EMAIL_BACKEND = "notifications.tests.backends.FlakyBackend"
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 0
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    FlakyBackend.failures_left = 5
    notification = NotificationFactory(context={"variant_id": VariantFactory().pk})

    send_notification.apply(kwargs={"notification_id": notification.pk})

    notification.refresh_from_db()
    assert (notification.status, notification.attempts, len(mail.outbox)) == ("failed", 3, 0)
    assert "gave up after 3 attempts" in notification.last_error

    FlakyBackend.failures_left = 0
    assert notification_retry_failed(notification_ids=[notification.pk]) == 1
    send_notification.apply(kwargs={"notification_id": notification.pk})
    notification.refresh_from_db()
    assert (notification.status, len(mail.outbox)) == ("sent", 1)


def test_unknown_kind_fails_permanently_without_retrying():
    notification = NotificationFactory(kind="no_such_kind")

    outcome = notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert (outcome.status, notification.status, notification.attempts) == ("failed", "failed", 1)
    assert "no email builder" in notification.last_error


def test_a_sent_notification_is_never_sent_again():
    notification = NotificationFactory(context={"variant_id": VariantFactory().pk})

    first = notification_send(notification_id=notification.pk)
    second = notification_send(notification_id=notification.pk)

    assert (first.status, second.status, len(mail.outbox)) == ("sent", "skipped", 1)


def test_sweep_resends_a_notification_whose_message_was_lost():
    """The row committed but the broker never delivered its message."""
    variant = VariantFactory()
    with time_machine.travel(timezone.now() - timedelta(minutes=5)):
        notification = low_stock(variant)  # on-commit hook never runs here: the message is "lost"

    assert sweep_notifications.apply().get() == 1

    notification.refresh_from_db()
    assert (notification.status, len(mail.outbox)) == ("sent", 1)
    assert sweep_notifications.apply().get() == 0


def test_sweep_recovers_a_row_stuck_in_sending_after_a_worker_died():
    notification = NotificationFactory(
        context={"variant_id": VariantFactory().pk},
        status=NotificationStatus.SENDING,
        claimed_at=timezone.now() - timedelta(minutes=30),
        attempts=1,
    )

    assert sweep_notifications.apply().get() == 1

    notification.refresh_from_db()
    assert (notification.status, notification.attempts, len(mail.outbox)) == ("sent", 2, 1)


def test_sweep_leaves_fresh_and_recently_claimed_rows_alone():
    NotificationFactory(context={"variant_id": VariantFactory().pk})  # its own message is on the way
    NotificationFactory(status=NotificationStatus.SENDING, claimed_at=timezone.now())

    assert notification_sweep() == []


def test_every_attempt_of_one_notification_carries_the_same_message_id(settings):
    settings.SHOP_BASE_URL = "https://shop.example.com"
    notification = NotificationFactory(context={"variant_id": VariantFactory().pk})

    from notifications.emails import build_message

    first, second = build_message(notification), build_message(notification)

    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    assert first.message()["Message-ID"] == f"<notification-{notification.pk}@shop.example.com>"
