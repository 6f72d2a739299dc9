"""End to end through the API, as orders/tests/test_delays_e2e.py does it through the admin: an ERP creates
and orders a purchase order for a backordered item, moves its date (a real Celery worker on Redis finds
the slip and each waiting customer gets exactly one delay email at a real SMTP server), then receives it
(the worker allocates the units to the waiting lines, in their order)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from api.scopes import PURCHASING
from api.tests.conftest import idempotency_headers
from inventory.models import PurchaseOrder, StockMovement
from inventory.tests.factories import SupplierFactory, WarehouseFactory
from orders.choices import LineStatus
from orders.models import LineDelay, OrderLine
from orders.tests.delays_helpers import DELAY_SUBJECT, backorderable, purchase_order, waiting_order

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

LIST = "/api/v1/purchase-orders/"


def post(client, path: str, body: dict, key: str | None = None):
    response = client.post(path, body, format="json", **idempotency_headers(key))
    assert response.status_code in (200, 201), response.content
    return response


def line_numbers(order) -> tuple[str, int, int]:
    line = OrderLine.objects.get(order=order)
    return line.status, line.quantity_allocated, line.quantity_backordered


def test_an_erp_orders_moves_and_receives_a_purchase_order_and_the_waiting_customers_are_served(
    api_client_with, celery_via_broker, smtp_server, mailoutbox
):
    erp = api_client_with(PURCHASING)
    today = timezone.localdate()
    tent, stove = backorderable(), backorderable(name="Camp Stove")
    supplier = SupplierFactory(name="Alpine Goods", contact_email="sales@alpine.example")

    # Given the ERP creates a purchase order of 5 tents due in 5 days and marks it ordered: the supplier
    # is emailed (before the worker starts: this test's own eager Celery sends it)
    created = post(
        erp,
        LIST,
        {
            "supplier": supplier.pk,
            "warehouse": WarehouseFactory().pk,
            "reference": "ERP-PO-1",
            "expected_date": (today + timedelta(days=5)).isoformat(),
            "lines": [{"variant": tent.pk, "quantity": 5}],
        },
    )
    po = PurchaseOrder.objects.get(pk=created.json()["id"])
    post(erp, f"{LIST}{po.pk}/mark-ordered/", {})
    assert [m.to for m in mailoutbox] == [["sales@alpine.example"]]
    # … Ada and Bob wait for tents on it, Cy for a stove on another order nobody touches
    purchase_order(stove, 5, today + timedelta(days=5))
    ada = waiting_order(tent, 2, email="ada@example.com")
    bob = waiting_order(tent, 1, email="bob@example.com")
    cy = waiting_order(stove, 1, email="cy@example.com")
    assert [line_numbers(o) for o in (ada, bob, cy)] == [
        (LineStatus.BACKORDERED, 0, 2),
        (LineStatus.BACKORDERED, 0, 1),
        (LineStatus.BACKORDERED, 0, 1),
    ]
    celery_via_broker(extra_env={"EMAIL_URL": smtp_server.url, "DELAY_NOTIFY_QUIET_MINUTES": "0"})

    # When the ERP moves the tents' date 15 days later
    moved = post(
        erp,
        f"{LIST}{po.pk}/expected-date/",
        {"expected_date": (today + timedelta(days=20)).isoformat(), "reason": "Supplier delay"},
    )

    # Then each tent customer gets exactly one delay email, as when staff move it in the admin
    assert [(h["new_date"], h["reason"]) for h in moved.json()["date_history"]] == [
        ((today + timedelta(days=20)).isoformat(), "Supplier delay")
    ]
    messages = smtp_server.wait_for(2, timeout=60)
    assert sorted(m["To"] for m in messages) == ["ada@example.com", "bob@example.com"]
    assert all(DELAY_SUBJECT in m["Subject"] for m in messages)
    time.sleep(2)  # nothing more arrives: one email per affected order, none for Cy
    assert len(smtp_server.messages) == 2
    assert LineDelay.objects.count() == 2

    # When the ERP receives everything, and retries the request (same Idempotency-Key)
    first = post(erp, f"{LIST}{po.pk}/receive/", {}, key="erp-receipt-1")
    again = post(erp, f"{LIST}{po.pk}/receive/", {}, key="erp-receipt-1")

    # Then it was received once: one ledger row, 5 units
    assert first.json()["status"] == again.json()["status"] == "received"
    assert again["Idempotent-Replayed"] == "true"
    assert list(
        StockMovement.objects.filter(po_line__purchase_order=po).values_list("on_hand_delta", flat=True)
    ) == [5]
    # … and the worker allocates the tents to Ada and Bob; Cy still waits
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and line_numbers(bob)[1] != 1:
        time.sleep(0.2)
    assert [line_numbers(o) for o in (ada, bob, cy)] == [
        (LineStatus.ALLOCATED, 2, 0),
        (LineStatus.ALLOCATED, 1, 0),
        (LineStatus.BACKORDERED, 0, 1),
    ]
    messages = smtp_server.wait_for(4, timeout=60)
    assert sorted(m["To"] for m in messages[2:]) == ["ada@example.com", "bob@example.com"]
    assert all("in stock" in m["Subject"] for m in messages[2:])
    time.sleep(1)
    assert len(smtp_server.messages) == 4
