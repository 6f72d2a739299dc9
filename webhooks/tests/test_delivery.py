"""Delivering webhooks: signed requests, retries with backoff, order per resource, once per webhook-id."""

import json
from datetime import timedelta

import pytest
import time_machine
from standardwebhooks import Webhook

from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services.delivery import backoff, webhook_deliveries_send
from webhooks.tasks import sweep_webhook_deliveries, webhooks_deliver

from .delivery_helpers import SECRET, T0, endpoint, record, statuses
from .http_receiver import HttpReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    server = HttpReceiver(SECRET).up()
    yield server
    server.down()


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_a_delivery_is_a_signed_post_of_the_event(receiver):
    hook = endpoint(receiver.url)
    [event_id] = record(7)

    run = webhook_deliveries_send(endpoint_id=hook.pk)

    assert (run.tried, run.delivered, run.failed) == (1, 1, 0)
    [got] = receiver.requests
    assert got.webhook_id == event_id
    assert got.headers["content-type"] == "application/json"
    event = Webhook(SECRET).verify(got.body, got.headers)  # raises unless the signature is right
    assert set(event) == {"id", "type", "timestamp", "data"}
    assert (event["id"], event["type"], event["data"]) == (
        event_id,
        "stock.changed",
        {"variant_id": 7, "n": 0},
    )
    assert got.headers["webhook-signature"].startswith("v1,")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        "delivered",
        1,
        204,
        "",
    )
    assert delivery.delivered_at is not None
    [attempt] = WebhookAttempt.objects.all()
    assert (attempt.status_code, attempt.error) == (204, "")


def test_a_wrong_secret_fails_the_receivers_check(receiver):
    hook = endpoint(receiver.url)
    hook.secret = "whsec_" + "A" * 32
    hook.save()
    record(1)

    webhook_deliveries_send(endpoint_id=hook.pk)

    assert [r.verified for r in receiver.requests] == [False]


def test_backoff_schedule():
    assert [backoff(n).total_seconds() for n in range(1, 11)] == [
        5,
        30,
        120,
        600,
        1800,
        3600,
        3 * 3600,
        6 * 3600,
        6 * 3600,
        6 * 3600,
    ]


def test_receiver_down_then_up_gets_every_event_once_in_order_per_resource(receiver, clock):
    hook = endpoint(receiver.url)
    receiver.down()
    ids = record(1, 2, 1, 3, 2, 1)  # variants 1, 2, 3: three, two and one events

    for _ in range(3):  # three runs while it is down: each ends at its first refused connection
        webhook_deliveries_send(endpoint_id=hook.pk)
        clock.shift(timedelta(minutes=3))
    down_attempts = list(WebhookAttempt.objects.order_by("pk").values_list("status_code", "error"))
    assert len(down_attempts) == 3
    assert all(code is None and error.startswith("Could not connect") for code, error in down_attempts)
    assert receiver.requests == []

    receiver.up()
    for _ in range(4):  # the sweep, each minute: what is due goes out
        sweep_webhook_deliveries()
        clock.shift(timedelta(minutes=1))

    assert sorted(receiver.ids()) == sorted(ids)  # every event, each id once
    assert len(receiver.requests) == len(ids)
    arrived = receiver.ids()
    for variant in (1, 2, 3):
        of_variant = [ids[i] for i, rid in enumerate([1, 2, 1, 3, 2, 1]) if rid == variant]
        assert [i for i in arrived if i in of_variant] == of_variant
    assert statuses() == ["delivered"] * 6
    assert WebhookAttempt.objects.count() == 3 + 6
    assert receiver.all_verified()


def test_a_later_event_of_a_resource_waits_for_the_earlier_one(receiver, clock):
    hook = endpoint(receiver.url)
    first, second, other = record(1, 1, 2)
    receiver.status = lambda got: 409 if got.webhook_id == first and len(receiver.requests) == 0 else 204

    run = webhook_deliveries_send(endpoint_id=hook.pk)

    # A 4xx concerns that request: the run goes on with the other resource, not with variant 1's next.
    assert (run.tried, run.delivered, run.failed) == (2, 1, 1)
    assert [r.webhook_id for r in receiver.requests] == [first, other]
    assert statuses() == ["pending", "pending", "delivered"]
    assert run.retry_in == 5

    clock.shift(timedelta(seconds=4))
    assert webhook_deliveries_send(endpoint_id=hook.pk).tried == 0  # not due yet
    clock.shift(timedelta(seconds=1))
    webhook_deliveries_send(endpoint_id=hook.pk)

    assert [r.webhook_id for r in receiver.requests] == [first, other, first, second]
    assert statuses() == ["delivered"] * 3


def test_a_redirect_is_a_failure_and_is_not_followed(receiver, clock):
    hook = endpoint(receiver.url)
    receiver.status = 302
    record(1)

    run = webhook_deliveries_send(endpoint_id=hook.pk)

    assert len(receiver.requests) == 1  # the Location was not asked for
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 302)
    assert delivery.last_error == "Answered 302 (a redirect: not followed)"
    assert delivery.next_attempt_at == T0 + timedelta(seconds=5)
    assert WebhookAttempt.objects.get().response_excerpt == "not today"
    assert run.disabled is False


def test_a_delivery_gives_up_after_the_most_attempts(receiver, clock, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    hook = endpoint(receiver.url)
    receiver.status = 500
    record(1)

    for wait in (5, 30, 120):
        webhook_deliveries_send(endpoint_id=hook.pk)
        clock.shift(timedelta(seconds=wait))
    webhook_deliveries_send(endpoint_id=hook.pk)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 500)
    assert len(receiver.requests) == 3


def test_the_sweep_sends_what_a_lost_message_left(receiver):
    hook = endpoint(receiver.url)
    ids = record(1, 2)  # written; the run they asked for after commit never came (the tests run none)

    assert sweep_webhook_deliveries() == [hook.pk]

    assert receiver.ids() == ids
    assert sweep_webhook_deliveries() == []  # nothing due: nothing enqueued
    assert len(receiver.requests) == 2


def test_a_worker_killed_mid_send_leaves_the_delivery_to_the_sweep_same_webhook_id(receiver, monkeypatch):
    hook = endpoint(receiver.url)
    [event_id] = record(1)

    def killed(*args, **kwargs):
        raise SystemExit("worker killed after the request went out")

    monkeypatch.setattr("webhooks.services.delivery._record", killed)
    with pytest.raises(SystemExit):
        webhook_deliveries_send(endpoint_id=hook.pk)
    monkeypatch.undo()
    assert statuses() == ["pending"]  # its transaction rolled back
    assert WebhookAttempt.objects.count() == 0

    sweep_webhook_deliveries()

    # At least once over HTTP: the receiver got it twice, with the same webhook-id to drop the repeat.
    assert receiver.ids() == [event_id, event_id]
    assert statuses() == ["delivered"]


def test_a_turned_off_endpoint_is_not_sent_to(receiver):
    hook = endpoint(receiver.url)
    record(1)
    hook.is_active = False
    hook.save()

    assert webhook_deliveries_send(endpoint_id=hook.pk).tried == 0
    assert sweep_webhook_deliveries() == []
    assert receiver.requests == []


def test_body_keeps_the_event_data_as_json(receiver):
    hook = endpoint(receiver.url)
    record(5)

    webhook_deliveries_send(endpoint_id=hook.pk)

    body = receiver.requests[0].body
    assert json.loads(body)["timestamp"].endswith("Z")
    assert b" " not in body  # compact


def test_a_run_asks_the_same_queries_for_1_or_50_deliveries(receiver, django_assert_num_queries):
    hook = endpoint(receiver.url)
    record(1)
    # The endpoint; a batch: its transaction (a savepoint in the tests), the claim, the attempts (one
    # INSERT), the deliveries answered 204 (one UPDATE); then a batch that claims none.
    with django_assert_num_queries(1 + 5 + 3):
        webhook_deliveries_send(endpoint_id=hook.pk)
    record(*range(10, 60))
    with django_assert_num_queries(1 + 5 + 3):
        assert webhook_deliveries_send(endpoint_id=hook.pk).delivered == 50
    assert statuses() == ["delivered"] * 51
    assert WebhookAttempt.objects.count() == 51


def test_a_success_ends_the_run_of_failures(receiver, clock):
    hook = endpoint(receiver.url)
    receiver.status = 503
    record(1)
    webhook_deliveries_send(endpoint_id=hook.pk)
    hook.refresh_from_db()
    assert hook.failing_since == T0

    receiver.status = 200
    clock.shift(timedelta(seconds=5))
    webhook_deliveries_send(endpoint_id=hook.pk)

    hook.refresh_from_db()
    assert hook.failing_since is None
    assert statuses() == ["delivered"]


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.delay = 1.5
    hook = endpoint(receiver.url)
    record(1)

    run = webhook_deliveries_send(endpoint_id=hook.pk)

    delivery = WebhookDelivery.objects.get()
    assert (run.failed, delivery.status, delivery.last_status_code) == (1, "pending", None)
    assert delivery.last_error.startswith("No answer in time (1 s)")
    assert 1000 <= WebhookAttempt.objects.get().duration_ms < 1500


def test_the_task_asks_for_a_run_at_the_first_retry_and_another_when_its_time_is_up(receiver, monkeypatch):
    hook = endpoint(receiver.url)
    receiver.status = 500
    record(1)
    later, now = [], []
    monkeypatch.setattr(webhooks_deliver, "apply_async", lambda **kwargs: later.append(kwargs))
    monkeypatch.setattr(webhooks_deliver, "delay", lambda **kwargs: now.append(kwargs))

    assert webhooks_deliver(endpoint_id=hook.pk) == 1
    assert later == [{"kwargs": {"endpoint_id": hook.pk}, "countdown": 5.0}] and now == []

    receiver.status = 204
    record(2, 3)
    monkeypatch.setattr("webhooks.services.delivery.RUN_SECONDS", 0.0)  # time is up before the first
    assert webhooks_deliver(endpoint_id=hook.pk) == 0
    assert now == [{"endpoint_id": hook.pk}]


def test_the_sweep_runs_every_minute_and_runs_go_to_the_mail_queue(settings):
    assert settings.CELERY_BEAT_SCHEDULE["sweep-webhook-deliveries"] == {
        "task": "webhooks.tasks.sweep_webhook_deliveries",
        "schedule": 60.0,
    }
    assert "webhooks.tasks.webhooks_deliver" in settings.TASK_FAMILIES["mail"]  # the production routes
