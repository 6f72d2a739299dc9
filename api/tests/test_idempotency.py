"""Idempotency-Key on POSTs: a retry replays the first answer and changes nothing twice; another client's
key is 409, the same key with another body 422, no key 400; kept answers are pruned after
API_IDEMPOTENCY_KEEP_DAYS days by the daily task."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from api.models import IdempotentRequest
from api.tasks import prune_idempotent_requests
from api.tests.conftest import idempotency_headers
from inventory.models import StockMovement
from shop.models import SubmissionKey

pytestmark = [pytest.mark.urls("api.tests.probe")]

PROBE = "/api/v1/stock-probe/"


@pytest.mark.django_db
def test_a_retry_gets_the_first_answer_and_changes_nothing(api_client_with, stocked):
    client = api_client_with("stock:write")
    headers = idempotency_headers("retry-1")
    first = client.post(PROBE, stocked.adjust(4), format="json", **headers)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    movements = StockMovement.objects.count()
    again = client.post(PROBE, stocked.adjust(4), format="json", **headers)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert stocked.on_hand() == 14
    assert StockMovement.objects.count() == movements
    assert IdempotentRequest.objects.filter(key="retry-1").count() == 1


@pytest.mark.django_db
def test_the_body_is_compared_as_json_not_as_bytes(api_client_with, stocked):
    client = api_client_with("stock:write")
    body = stocked.adjust(2)
    first = client.post(PROBE, json.dumps(body), content_type="application/json", **idempotency_headers("k"))
    reordered = json.dumps(dict(reversed(body.items())), indent=2)
    again = client.post(PROBE, reordered, content_type="application/json", **idempotency_headers("k"))
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert stocked.on_hand() == 12


@pytest.mark.django_db
def test_another_clients_key_is_409(api_client_with, stocked):
    mine, theirs = api_client_with("stock:write"), api_client_with("stock:write")
    assert (
        mine.post(PROBE, stocked.adjust(1), format="json", **idempotency_headers("shared")).status_code == 201
    )
    response = theirs.post(PROBE, stocked.adjust(1), format="json", **idempotency_headers("shared"))
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "idempotency_key_taken"
    assert stocked.on_hand() == 11


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_422(api_client_with, stocked):
    client = api_client_with("stock:write")
    assert client.post(PROBE, stocked.adjust(1), format="json", **idempotency_headers("k")).status_code == 201
    response = client.post(PROBE, stocked.adjust(2), format="json", **idempotency_headers("k"))
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert stocked.on_hand() == 11


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers,code",
    [
        ({}, "idempotency_key_missing"),
        ({"HTTP_IDEMPOTENCY_KEY": "x" * 256}, "idempotency_key_invalid"),
        ({"HTTP_IDEMPOTENCY_KEY": "   "}, "idempotency_key_missing"),
    ],
)
def test_a_post_without_a_usable_key_is_400_and_changes_nothing(api_client_with, stocked, headers, code):
    response = api_client_with("stock:write").post(PROBE, stocked.adjust(1), format="json", **headers)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert stocked.on_hand() == 10


@pytest.mark.django_db
def test_a_refusal_is_409_not_kept_and_a_retry_may_succeed_later(api_client_with, stocked):
    client = api_client_with("stock:write")
    refused = client.post(PROBE, stocked.adjust(-11), format="json", **idempotency_headers("take"))
    assert refused.status_code == 409
    assert refused.json()["code"] == "refused"
    assert refused.json()["detail"].startswith("Cannot remove 11 of ")
    assert not IdempotentRequest.objects.filter(key="take").exists()
    assert not SubmissionKey.objects.exists()  # rolled back with the refused change
    client.post(PROBE, stocked.adjust(5), format="json", **idempotency_headers())
    retried = client.post(PROBE, stocked.adjust(-11), format="json", **idempotency_headers("take"))
    assert retried.status_code == 201
    assert stocked.on_hand() == 4


@pytest.mark.django_db
def test_a_bad_body_is_400_kept_and_replayed(api_client_with, stocked):
    client = api_client_with("stock:write")
    body = {**stocked.adjust(1), "quantity_change": 5000}
    first = client.post(PROBE, body, format="json", **idempotency_headers("bad"))
    assert first.status_code == 400
    assert first.json()["errors"] == {"quantity_change": ["Ensure this value is less than or equal to 1000."]}
    again = client.post(PROBE, body, format="json", **idempotency_headers("bad"))
    assert (again.status_code, again["Idempotent-Replayed"]) == (400, "true")
    assert again["Content-Type"] == "application/problem+json"
    assert again.json() == first.json()


@pytest.mark.django_db
def test_a_key_whose_answer_was_pruned_is_not_applied_again(api_client_with, stocked):
    client = api_client_with("stock:write")
    client.post(PROBE, stocked.adjust(2), format="json", **idempotency_headers("old"))
    SubmissionKey.objects.update(created_at=timezone.now() - timedelta(days=8))
    IdempotentRequest.objects.update(created_at=timezone.now() - timedelta(days=8))
    assert prune_idempotent_requests() == 1
    response = client.post(PROBE, stocked.adjust(2), format="json", **idempotency_headers("old"))
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_expired"
    assert stocked.on_hand() == 12


@pytest.mark.django_db
def test_the_daily_task_prunes_only_answers_older_than_the_setting(api_client_with, stocked, settings):
    settings.API_IDEMPOTENCY_KEEP_DAYS = 3
    client = api_client_with("stock:write")
    for key in ("a", "b", "c"):
        client.post(PROBE, stocked.adjust(1), format="json", **idempotency_headers(key))
    now = timezone.now()
    IdempotentRequest.objects.filter(key="a").update(created_at=now - timedelta(days=3, minutes=1))
    IdempotentRequest.objects.filter(key="b").update(created_at=now - timedelta(days=2, hours=23))
    assert prune_idempotent_requests() == 1
    assert sorted(IdempotentRequest.objects.values_list("key", flat=True)) == ["b", "c"]


def test_the_prune_runs_daily_from_beat():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["api-idempotent-requests-prune"]
    assert entry["task"] == "api.tasks.prune_idempotent_requests"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({3}, {45})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_racing_requests_with_one_key_change_stock_once(api_client_with, stocked):
    if connection.vendor != "postgresql":
        pytest.skip("a race test: PostgreSQL only")
    client = api_client_with("stock:write")
    barrier, answers = threading.Barrier(2), []

    def send():
        from rest_framework.test import APIClient

        twin = APIClient()
        twin.credentials(HTTP_AUTHORIZATION=f"Bearer {client.raw_key}")
        barrier.wait()
        answers.append(twin.post(PROBE, stocked.adjust(3), format="json", **idempotency_headers("race")))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [201, 201]
    assert sorted(a.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert answers[0].json() == answers[1].json()
    assert stocked.on_hand() == 13
    assert StockMovement.objects.filter(variant=stocked.variant).count() == 2  # the seed's and one
