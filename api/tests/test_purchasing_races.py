"""Two receipts of one purchase order at the same moment, through the API, on PostgreSQL (real threads
started together): a retry racing its first request receives once, and two ERPs receiving everything
at once receive it once, the second told why."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from api.scopes import PURCHASING
from api.tests.conftest import idempotency_headers
from inventory.models import StockItem, StockMovement
from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(raw_keys: list[str], path: str, idempotency_keys: list[str]) -> list:
    barrier, answers = threading.Barrier(len(raw_keys)), []

    def send(raw: str, key: str):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        barrier.wait()
        try:
            answers.append(client.post(path, {}, format="json", **idempotency_headers(key)))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=send, args=pair) for pair in zip(raw_keys, idempotency_keys, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def ordered_po():
    po = PurchaseOrderFactory()
    PurchaseOrderLineFactory(purchase_order=po, quantity_ordered=10)
    return po


@pytest.mark.parametrize("attempt", range(2))
def test_a_retry_racing_its_first_receipt_receives_once(api_client_with, attempt):
    if connection.vendor != "postgresql":
        pytest.skip("a race test: PostgreSQL only")
    erp = api_client_with(PURCHASING)
    po = ordered_po()

    answers = race([erp.raw_key] * 2, f"/api/v1/purchase-orders/{po.pk}/receive/", [f"receipt-{attempt}"] * 2)

    assert sorted(a.status_code for a in answers) == [200, 200]
    assert sorted(a.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert answers[0].json() == answers[1].json()
    assert list(StockMovement.objects.values_list("on_hand_delta", flat=True)) == [10]
    assert StockItem.objects.get().on_hand == 10


@pytest.mark.parametrize("attempt", range(2))
def test_two_integrations_receiving_everything_at_once_receive_it_once(api_client_with, attempt):
    if connection.vendor != "postgresql":
        pytest.skip("a race test: PostgreSQL only")
    erp, wms = api_client_with(PURCHASING), api_client_with(PURCHASING)
    po = ordered_po()

    answers = race(
        [erp.raw_key, wms.raw_key],
        f"/api/v1/purchase-orders/{po.pk}/receive/",
        [f"erp-{attempt}", f"wms-{attempt}"],
    )

    assert sorted(a.status_code for a in answers) == [200, 409]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json()["detail"] == f"{po.reference} has already been received in full."
    assert list(StockMovement.objects.values_list("on_hand_delta", flat=True)) == [10]
    assert StockItem.objects.get().on_hand == 10
