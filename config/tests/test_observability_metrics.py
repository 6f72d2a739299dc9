"""/metrics (config/observability/metrics.py): the token, and each figure exact, read in three queries."""

import re
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app
from config.observability import readings
from inventory.models import AllocationRequest
from notifications.models import Notification
from shop.models import WorkerHeartbeat
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-metrics-token"


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(token: str | None = TOKEN, **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return Client().get("/metrics", headers=headers)


def samples(response) -> dict[str, float]:
    """'name{labels}' -> value, for every sample line of the text format."""
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    values = {}
    for line in response.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


# --- the token --------------------------------------------------------------------------------


def test_without_a_token_configured_the_endpoint_does_not_exist(settings):
    settings.METRICS_TOKEN = ""

    assert scrape().status_code == 404
    assert scrape(token=None).status_code == 404


def test_a_missing_or_wrong_token_is_refused(metrics_on):
    missing = scrape(token=None)
    wrong = scrape(token="s3cret-metrics-tokem")
    basic = Client().get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    right = scrape()

    assert (missing.status_code, missing["WWW-Authenticate"]) == (401, 'Bearer realm="metrics"')
    assert (wrong.status_code, basic.status_code, right.status_code) == (403, 401, 200)
    assert b"shop_" not in wrong.content
    assert right["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"


# --- the figures ------------------------------------------------------------------------------


def outbox_row(status: str, created: timezone.datetime, next_attempt=None) -> Notification:
    row = Notification.objects.create(
        kind="order_confirmed",
        recipient="a@example.com",
        dedupe_key=uuid.uuid4().hex,
        status=status,
        next_attempt_at=next_attempt,
    )
    Notification.objects.filter(pk=row.pk).update(created_at=created)
    return row


def test_each_figure_exact_in_three_queries(metrics_on, settings):
    now = timezone.now().replace(microsecond=0)
    settings.CELERY_TASK_DEFAULT_QUEUE = f"test-{uuid.uuid4().hex}"  # a queue of this test only
    with time_machine.travel(now, tick=False):
        outbox_row("pending", now - timedelta(seconds=300))  # due for 300 s
        outbox_row("pending", now - timedelta(hours=2), next_attempt=now - timedelta(seconds=90))  # retry due
        outbox_row("pending", now - timedelta(hours=3), next_attempt=now + timedelta(minutes=5))  # not yet
        outbox_row("sending", now - timedelta(seconds=20))
        outbox_row("failed", now - timedelta(days=1))
        outbox_row("failed", now - timedelta(days=2))
        outbox_row("sent", now - timedelta(days=3))
        outbox_row("cancelled", now - timedelta(days=3))
        for age in (45, 5):
            request = AllocationRequest.objects.create(variant=VariantFactory())
            AllocationRequest.objects.filter(pk=request.pk).update(requested_at=now - timedelta(seconds=age))
        WorkerHeartbeat.objects.create(worker="w1@a", seen_at=now - timedelta(seconds=200))
        WorkerHeartbeat.objects.create(worker="w2@b", seen_at=now - timedelta(seconds=70))
        readings.webhook_failure_count(status_code=400)
        readings.webhook_failure_count(status_code=400)
        readings.webhook_failure_count(status_code=503)
        for _ in range(2):
            app.send_task("shop.tasks.worker_heartbeat", queue=settings.CELERY_TASK_DEFAULT_QUEUE)

        try:
            with CaptureQueriesContext(connection) as queries:
                response = scrape()
        finally:
            _purge(settings.CELERY_TASK_DEFAULT_QUEUE)

    assert response.status_code == 200
    assert len(queries.captured_queries) == 3
    got = samples(response)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    lengths = {name: value for name, value in got.items() if name.startswith("shop_celery_queue_length")}
    assert {name: value for name, value in got.items() if name not in lengths} == {
        'shop_outbox_rows{status="pending"}': 3.0,
        'shop_outbox_rows{status="sending"}': 1.0,
        'shop_outbox_rows{status="failed"}': 2.0,
        "shop_outbox_oldest_pending_seconds": 300.0,
        "shop_allocation_requests_pending": 2.0,
        "shop_allocation_request_oldest_seconds": 45.0,
        "shop_worker_heartbeat_age_seconds": 70.0,
        'shop_stripe_webhook_failures_total{class="4xx"}': 2.0,
        'shop_stripe_webhook_failures_total{class="5xx"}': 1.0,
        "shop_celery_broker_up": 1.0,
    }
    # Every queue workers consume has a line; the other queues are shared with whatever else runs
    # on this broker, so only this test's own queue has a known length.
    assert sorted(lengths) == sorted(
        f'shop_celery_queue_length{{queue="{name}"}}' for name in readings.celery_queue_names()
    )
    assert lengths[f'shop_celery_queue_length{{queue="{queue}"}}'] == 2.0


def test_the_queues_are_the_default_celery_and_those_of_the_routes_and_queues(settings):
    from kombu import Queue

    settings.CELERY_TASK_DEFAULT_QUEUE = "default"
    settings.CELERY_TASK_QUEUES = [Queue("default"), Queue("mail"), Queue("stock")]
    settings.CELERY_TASK_ROUTES = {
        "a.task": {"queue": "mail"},
        "b.task": {"queue": "reports"},
        "c.task": "bulk",
    }

    assert readings.celery_queue_names() == ["bulk", "celery", "default", "mail", "reports", "stock"]


def _purge(queue: str) -> None:
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)


def test_an_empty_shop_reads_zero_and_a_heartbeat_never_seen_reads_infinity(metrics_on):
    got = samples(scrape())

    assert got["shop_outbox_oldest_pending_seconds"] == 0.0
    assert got['shop_outbox_rows{status="pending"}'] == 0.0
    assert got["shop_allocation_requests_pending"] == 0.0
    assert got["shop_allocation_request_oldest_seconds"] == 0.0
    assert got["shop_worker_heartbeat_age_seconds"] == float("inf")
    assert got['shop_stripe_webhook_failures_total{class="4xx"}'] == 0.0


def test_failed_stripe_webhooks_are_counted_by_class(metrics_on, settings, monkeypatch):
    """A refused signature (400) and an error (500) are counted; other pages' errors are not."""
    from orders.views import stripe_webhook as webhook_view

    settings.STRIPE_ENABLED = True
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    client = Client(raise_request_exception=False)

    unsigned = client.post("/payments/stripe/webhook/", b"{}", content_type="application/json")
    client.get("/no-such-page/")

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(webhook_view, "stripe_webhook_receive", broken)
    crashed = client.post(
        "/payments/stripe/webhook/", b"{}", content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=x"
    )

    assert (unsigned.status_code, crashed.status_code) == (400, 500)
    got = samples(scrape())
    assert got['shop_stripe_webhook_failures_total{class="4xx"}'] == 1.0
    assert got['shop_stripe_webhook_failures_total{class="5xx"}'] == 1.0


# --- docs/operations.md, "Metrics for Prometheus" -------------------------------------------------


def metrics_section() -> str:
    text = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    start = text.index("### Metrics for Prometheus")
    return " ".join(text[start : text.index("\n#", start + 10)].split())


def test_the_docs_table_has_every_metric_and_the_schedules_its_thresholds_rest_on(metrics_on, settings):
    emitted = {
        line.split()[2] for line in scrape().content.decode().splitlines() if line.startswith("# TYPE")
    }
    docs = metrics_section()
    documented = set(re.findall(r"\| `(shop_[a-z_]+)[`{]", docs))  # the table's first column
    beat = settings.CELERY_BEAT_SCHEDULE

    assert documented == emitted
    assert f"beat schedules the heartbeat every {beat['worker-heartbeat']['schedule']:g} s" in docs
    grace, sweep = settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS, beat["sweep-notifications"]["schedule"]
    assert (
        f"the sweep (every {sweep:g} s) enqueues a due email again once it is `NOTIFICATIONS_SWEEP_GRACE_SECONDS` ({grace}) old"
        in docs
    )
    families = settings.TASK_FAMILIES  # the production routes (the suite turns routing off)
    assert "shop.tasks.worker_heartbeat" not in sum(families.values(), [])  # heartbeat: `default`
    assert "notifications.tasks.send_notifications" in families["mail"]  # the sweep's batches
    assert "inventory.tasks.sweep_allocation_requests" in families["stock"]
    assert f"the sweep retries every {beat['sweep-allocation-requests']['schedule']:g} s" in docs


def test_an_unreachable_broker_reads_down_and_the_scrape_still_answers(metrics_on, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port

    started = time.monotonic()
    response = scrape()
    took = time.monotonic() - started

    got = samples(response)
    assert response.status_code == 200
    assert got["shop_celery_broker_up"] == 0.0
    assert [name for name in got if name.startswith("shop_celery_queue_length")] == []
    assert got['shop_outbox_rows{status="pending"}'] == 0.0  # the database figures are there
    assert took < 5
