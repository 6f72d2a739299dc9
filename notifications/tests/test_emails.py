"""The back-in-stock and confirmation emails, and sending a wave's emails in batches."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import resolve

from inventory.services import stock_adjust
from inventory.tests.factories import WarehouseFactory
from notifications.models import BackInStockSubscription, EmailPreference, Notification, NotificationKind
from notifications.services import back_in_stock_process, notification_create
from notifications.tasks import send_notifications
from notifications.tests.backends import CountingBackend, FlakyBackend
from notifications.tests.factories import NotificationFactory, SubscriptionFactory
from notifications.tokens import read_confirm_token
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kettle():
    return VariantFactory(
        sku="KETTLE-RED",
        price="34.50",
        option_values={"colour": "Red"},
        product__name="Enamel kettle",
        product__slug="enamel-kettle",
    )


def test_back_in_stock_email_names_the_item_price_and_link_and_has_one_click_unsubscribe(
    kettle, django_capture_on_commit_callbacks
):
    SubscriptionFactory(variant=kettle, email="ada@example.com")
    stock_adjust(variant_id=kettle.pk, warehouse_id=WarehouseFactory().pk, quantity_change=1)

    with django_capture_on_commit_callbacks(execute=True):
        back_in_stock_process(variant_ids=[kettle.pk])

    [message] = mail.outbox
    assert message.subject == "Back in stock: Enamel kettle (Red)"
    assert message.to == ["ada@example.com"]
    product_link = "http://127.0.0.1:8000/p/enamel-kettle/?variant=KETTLE-RED"
    for body in (message.body, message.alternatives[0].content):
        assert "Enamel kettle" in body and "Red" in body and "€34.50" in body and product_link in body
    assert "{%" not in message.body and "<" not in message.body.replace("<http", "")  # readable plain text
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(http://127\.0\.0\.1:8000(/notifications/unsubscribe/[^>]+/))>", unsubscribe)
    assert url.group(1) in message.body  # the footer link is the same URL
    assert resolve(url.group(2)).view_name == "notifications:unsubscribe"

    response = Client(enforce_csrf_checks=True).post(
        url.group(2), data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert EmailPreference.objects.get(email="ada@example.com").marketing_opt_out is True


def test_confirmation_email_links_to_a_token_for_its_subscription(kettle, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(f"/notifications/notify-me/{kettle.pk}/", {"email": "grace@example.com"})

    [message] = mail.outbox
    token = re.search(r"/notifications/confirm/([^/\s]+)/", message.body).group(1)
    assert read_confirm_token(token) == BackInStockSubscription.objects.get().pk
    assert "Enamel kettle (Red)" in message.body
    assert f"/notifications/confirm/{token}/" in message.alternatives[0].content


def test_a_batch_is_sent_over_one_connection(settings, kettle):
    settings.EMAIL_BACKEND = "notifications.tests.backends.CountingBackend"
    CountingBackend.instances = 0
    rows = NotificationFactory.create_batch(
        3, kind=NotificationKind.BACK_IN_STOCK, context={"variant_id": kettle.pk}
    )

    assert send_notifications.apply(kwargs={"notification_ids": [r.pk for r in rows]}).get() == 3

    assert CountingBackend.instances == 1
    assert len(mail.outbox) == 3
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_in_a_batch_a_failed_send_is_retried_alone_and_a_sent_row_is_skipped(settings, kettle):
    settings.EMAIL_BACKEND = "notifications.tests.backends.FlakyBackend"
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 600  # a long retry waits in the database
    FlakyBackend.failures_left = 1
    rows = NotificationFactory.create_batch(
        3, kind=NotificationKind.BACK_IN_STOCK, context={"variant_id": kettle.pk}
    )
    Notification.objects.filter(pk=rows[2].pk).update(status="sent")

    assert send_notifications.apply(kwargs={"notification_ids": [r.pk for r in rows]}).get() == 1

    statuses = dict(Notification.objects.values_list("pk", "status"))
    assert statuses == {rows[0].pk: "pending", rows[1].pk: "sent", rows[2].pk: "sent"}
    assert len(mail.outbox) == 1


def test_a_wave_publishes_one_message_and_the_worker_fans_it_out_in_batches(
    settings, kettle, django_capture_on_commit_callbacks, monkeypatch
):
    settings.NOTIFICATIONS_SEND_BATCH_SIZE = 4
    SubscriptionFactory.create_batch(10, variant=kettle)
    stock_adjust(variant_id=kettle.pk, warehouse_id=WarehouseFactory().pk, quantity_change=5)
    batches = []
    original = send_notifications.delay
    monkeypatch.setattr(
        send_notifications, "delay", lambda **kw: batches.append(kw["notification_ids"]) or original(**kw)
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        back_in_stock_process(variant_ids=[kettle.pk])

    assert len(callbacks) == 1  # one dispatch message, whatever the size of the wave
    assert [len(batch) for batch in batches] == [4, 4, 2]  # published by the dispatch task
    assert sorted(pk for batch in batches for pk in batch) == sorted(
        Notification.objects.values_list("pk", flat=True)
    )
    assert len(mail.outbox) == 10
    assert len({m.to[0] for m in mail.outbox}) == 10


def test_a_confirmation_email_for_a_deleted_variant_fails_without_retrying(kettle):
    subscription = SubscriptionFactory(variant=kettle, status="unconfirmed")
    notification = notification_create(
        kind=NotificationKind.SUBSCRIPTION_CONFIRM,
        recipient=subscription.email,
        dedupe_key="subscription-confirm:test",
        context={"subscription_id": subscription.pk, "variant_id": 999_999},
    )

    send_notifications.apply(kwargs={"notification_ids": [notification.pk]})

    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("failed", 1)
    assert "variant 999999 no longer exists" in notification.last_error
