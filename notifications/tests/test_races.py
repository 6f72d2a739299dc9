"""Exactly-once on real PostgreSQL: concurrent transactions and workers."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from config.testing import run_together
from inventory.services import stock_adjust
from inventory.tests.factories import WarehouseFactory
from notifications.models import (
    BackInStockSubscription,
    LowStockState,
    Notification,
    NotificationKind,
    RestockWave,
    SubscriptionStatus,
)
from notifications.services import (
    back_in_stock_close_for_buyer,
    back_in_stock_process,
    back_in_stock_send_due_waves,
    low_stock_check,
    notification_create,
    notification_send,
    notification_send_many,
)
from notifications.tests.factories import NotificationFactory, SubscriptionFactory
from shop.tests.factories import VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


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


# --- back-in-stock waves and low-stock alerts -------------------------------------------------


def subscribers(variant, count):
    start = timezone.now() - timedelta(days=1)
    return [
        SubscriptionFactory(variant=variant, confirmed_at=start + timedelta(seconds=i)) for i in range(count)
    ]


def test_concurrent_wave_passes_on_one_variant_notify_each_subscriber_exactly_once():
    variant = VariantFactory()
    stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=10)
    subs = subscribers(variant, 100)
    assert back_in_stock_process(variant_ids=[variant.pk]) == {variant.pk: 30}

    # After the wait, the beat and fresh "stock arrived" passes all race for the next wave.
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        results = run_together(
            [back_in_stock_send_due_waves] * 4 + [lambda: back_in_stock_process(variant_ids=[variant.pk])] * 4
        )

    assert sum(sum(r.values()) for r in results) == 30
    notified = BackInStockSubscription.objects.filter(status=SubscriptionStatus.NOTIFIED)
    assert set(notified.values_list("pk", flat=True)) == {s.pk for s in subs[:60]}
    assert dict(Counter(notified.values_list("wave", flat=True))) == {1: 30, 2: 30}
    keys = list(Notification.objects.filter(kind="back_in_stock").values_list("dedupe_key", flat=True))
    assert len(keys) == 60
    assert len({key.split(":")[1] for key in keys}) == 60  # one notification per subscription
    assert RestockWave.objects.get(variant=variant).number == 2


def test_a_wave_skips_a_subscription_a_checkout_is_closing_without_waiting_for_it():
    variant = VariantFactory()
    stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=10)
    subs = subscribers(variant, 40)
    buyer = subs[0]
    locked, wave_done = threading.Event(), threading.Event()

    def checkout():
        with transaction.atomic():
            back_in_stock_close_for_buyer(variant_ids=[variant.pk], email=buyer.email)
            locked.set()
            assert wave_done.wait(timeout=30), "the wave waited for the checkout's lock"
        return "bought"

    def wave():
        assert locked.wait(timeout=30)
        try:
            return back_in_stock_process(variant_ids=[variant.pk])
        finally:
            wave_done.set()

    assert run_together([checkout, wave]) == ["bought", {variant.pk: 30}]

    buyer.refresh_from_db()
    assert buyer.status == SubscriptionStatus.PURCHASED
    notified = set(
        BackInStockSubscription.objects.filter(status=SubscriptionStatus.NOTIFIED).values_list(
            "pk", flat=True
        )
    )
    assert notified == {s.pk for s in subs[1:31]}


def test_concurrent_low_stock_checks_send_one_email_per_crossing(settings, monkeypatch):
    settings.STAFF_ALERT_EMAILS = ["stock@shop.example"]
    # The receipt's own "stock arrived" task would run the check first; here only the racers run it.
    monkeypatch.setattr("inventory.tasks.stock_arrived.delay_on_commit", lambda **kw: None)
    variant = VariantFactory()
    stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=3)

    results = run_together([lambda: low_stock_check(variant_ids=[variant.pk])] * 10)

    assert sorted(len(r) for r in results) == [0] * 9 + [1]
    assert list(Notification.objects.values_list("dedupe_key", flat=True)) == [
        f"low-stock:{variant.pk}:1:stock@shop.example"
    ]
    assert LowStockState.objects.get(variant=variant).crossings == 1


def test_two_workers_sending_one_batch_send_each_email_once():
    variant = VariantFactory()
    rows = NotificationFactory.create_batch(
        30, kind=NotificationKind.BACK_IN_STOCK, context={"variant_id": variant.pk}
    )
    ids = [row.pk for row in rows]

    results = run_together([lambda: notification_send_many(notification_ids=ids)] * 4)

    sent = Counter(pk for outcomes in results for pk, outcome in outcomes.items() if outcome.status == "sent")
    assert sent == Counter(ids)  # every row sent by exactly one of the four
    assert sorted(m.to[0] for m in mail.outbox) == sorted(row.recipient for row in rows)
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}
