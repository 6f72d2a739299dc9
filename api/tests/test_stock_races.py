"""Stock writes at the same moment, on PostgreSQL: two copies of one adjustment (same Idempotency-Key)
change stock once and both get the first answer; two removals that cannot both fit leave stock exact."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from api.tests.conftest import idempotency_headers
from inventory.models import StockItem, StockMovement
from inventory.tests.factories import WarehouseFactory
from shop.tests.factories import VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(clients: list[APIClient], bodies: list[dict], keys: list[str]) -> list:
    """POST each body to the adjustments endpoint from its own thread, all released together."""
    barrier = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)

    def post(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            answers[n] = clients[n].post(
                "/api/v1/stock/adjustments/", bodies[n], format="json", **idempotency_headers(keys[n])
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def same_key_clients(client: APIClient, count: int) -> list[APIClient]:
    """`count` clients sending `client`'s key: one integration retrying from several workers."""
    clients = []
    for _ in range(count):
        twin = APIClient()
        twin.credentials(HTTP_AUTHORIZATION=f"Bearer {client.raw_key}")
        clients.append(twin)
    return clients


def test_two_copies_of_an_adjustment_at_once_change_stock_once(api_client_with):
    kettle, main = VariantFactory(sku="KET-1"), WarehouseFactory(code="MAIN")
    body = {"variant": kettle.pk, "warehouse": main.pk, "quantity_change": 7, "note": "Delivery without PO"}
    clients = same_key_clients(api_client_with("stock:write"), 2)

    answers = at_once(clients, [body, body], ["race-adjust-1", "race-adjust-1"])

    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert sorted(answer.get("Idempotent-Replayed", "") for answer in answers) == ["", "true"]
    assert list(StockMovement.objects.values_list("on_hand_delta", flat=True)) == [7]
    assert StockItem.objects.get(variant=kettle, warehouse=main).on_hand == 7


def test_two_removals_that_cannot_both_fit_leave_stock_exact(api_client_with):
    kettle, main = VariantFactory(sku="KET-1"), WarehouseFactory(code="MAIN")
    StockItem.objects.create(variant=kettle, warehouse=main, on_hand=5, allocated=1)  # 4 free
    body = {"variant": kettle.pk, "warehouse": main.pk, "quantity_change": -3, "note": "Damaged"}
    clients = same_key_clients(api_client_with("stock:write"), 2)

    answers = at_once(clients, [body, body], ["race-remove-1", "race-remove-2"])

    assert sorted(answer.status_code for answer in answers) == [201, 409]
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert refused.json()["detail"] == (
        "Cannot remove 3 of KET-1 at MAIN: 2 on hand, 1 set aside for orders, so at most 1 can be removed."
    )
    assert list(StockMovement.objects.values_list("on_hand_delta", flat=True)) == [-3]
    item = StockItem.objects.get(variant=kettle, warehouse=main)
    assert (item.on_hand, item.allocated) == (2, 1)
