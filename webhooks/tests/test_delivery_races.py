"""Two workers running one endpoint on real PostgreSQL: each delivery sent once, in order per resource."""

from collections import Counter

import pytest

from config.testing import run_together
from webhooks.models import WebhookAttempt
from webhooks.services.delivery import webhook_deliveries_send

from .delivery_helpers import SECRET, endpoint, record, statuses
from .http_receiver import HttpReceiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RESOURCES = [1, 2, 3, 4, 5, 6] * 5  # six variants, five events each, interleaved


@pytest.fixture(autouse=True)
def no_run_at_commit(monkeypatch):
    """The events' own run after commit would send them all before the racers start; batches of 3
    (of 50), so that with six variants each worker finds deliveries the other has not locked."""
    monkeypatch.setattr("webhooks.tasks.webhooks_deliver.delay_on_commit", lambda **kwargs: None)
    monkeypatch.setattr("webhooks.services.delivery.CLAIM_BATCH", 3)


@pytest.fixture
def receiver():
    server = HttpReceiver(SECRET, delay=0.02).up()  # each answer takes 20 ms: the workers overlap
    yield server
    server.down()


def test_two_workers_on_one_endpoint_send_each_delivery_once_in_order_per_resource(receiver):
    hook = endpoint(receiver.url)
    ids = record(*RESOURCES)

    runs = run_together([lambda: webhook_deliveries_send(endpoint_id=hook.pk)] * 2)

    assert not [r for r in runs if isinstance(r, Exception)], runs
    assert all(run.tried > 0 for run in runs), runs  # both took a share
    assert sum(run.delivered for run in runs) == len(ids)
    counts = Counter(r.webhook_id for r in receiver.requests)
    assert set(counts) == set(ids) and set(counts.values()) == {1}  # each webhook-id once
    arrived = receiver.ids()
    for variant in set(RESOURCES):
        mine = [ids[i] for i, rid in enumerate(RESOURCES) if rid == variant]
        assert [i for i in arrived if i in mine] == mine
    assert statuses() == ["delivered"] * len(ids)
    assert WebhookAttempt.objects.count() == len(ids)


def test_many_workers_racing_for_few_deliveries_still_send_each_once(receiver):
    hook = endpoint(receiver.url)
    ids = record(1, 2, 3)

    runs = run_together([lambda: webhook_deliveries_send(endpoint_id=hook.pk)] * 6)

    assert not [r for r in runs if isinstance(r, Exception)], runs
    assert sorted(receiver.ids()) == sorted(ids)
    assert sum(run.tried for run in runs) == 3
