"""Two copies of one ship request (same Idempotency-Key) at the same moment, on PostgreSQL: one shipment,
one capture, one email, and both callers get the first answer."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from api.tests.conftest import idempotency_headers
from notifications.models import Notification
from orders.models import PaymentTransaction, Shipment
from orders.tests.helpers import give_stock, place
from shop.tests.factories import VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_copies_of_a_ship_request_at_once_ship_once(api_client_with):
    lantern = VariantFactory(sku="LAMP-1", price=Decimal("11.35"))
    give_stock(lantern, 10)
    order = place([(lantern, 2)]).order
    clients = [api_client_with("orders")]
    clients.append(clients[0])  # the same integration retrying: one key, one client
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def ship(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            answers[n] = clients[n].post(
                f"/api/v1/orders/{order.number}/ship/", {}, format="json", **idempotency_headers("race-1")
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=ship, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(answer.status_code for answer in answers) == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert sorted(answer.get("Idempotent-Replayed", "") for answer in answers) == ["", "true"]
    assert Shipment.objects.count() == 1
    assert list(PaymentTransaction.objects.filter(kind="capture").values_list("amount", flat=True)) == [
        Decimal("27.60")
    ]
    assert Notification.objects.filter(kind="order_shipped").count() == 1
