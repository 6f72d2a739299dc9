"""Exactly-once on real PostgreSQL: concurrent transactions and workers."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.db import connection, transaction

from notifications.models import Notification, NotificationKind
from notifications.services import notification_create, notification_send
from notifications.tests.factories import NotificationFactory
from shop.tests.factories import VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(functions):
    barrier = threading.Barrier(len(functions))

    def call(fn):
        try:
            barrier.wait()
            return fn()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(functions)) as pool:
        return list(pool.map(call, functions))


def test_same_dedupe_key_in_concurrent_transactions_gives_one_row(monkeypatch):
    monkeypatch.setattr("notifications.tasks.send_notification.delay_on_commit", lambda **kw: None)
    variant = VariantFactory()

    def create():
        with transaction.atomic():
            return notification_create(
                kind=NotificationKind.LOW_STOCK_ALERT,
                recipient="staff@example.com",
                dedupe_key=f"low-stock:{variant.pk}:1",
                context={"variant_id": variant.pk},
            )

    results = run_together([create] * 12)

    assert sum(1 for r in results if r is not None) == 1
    assert Notification.objects.count() == 1


def test_two_workers_sending_one_row_send_one_email():
    notification = NotificationFactory(context={"variant_id": VariantFactory().pk})

    results = run_together([lambda: notification_send(notification_id=notification.pk)] * 8)

    assert sorted(r.status for r in results) == ["sent"] + ["skipped"] * 7
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 1)
