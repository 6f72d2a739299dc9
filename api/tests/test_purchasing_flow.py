"""The purchase-order journey through the API on any database, with this process's eager Celery and the
delay check's own clock (orders/tests/test_delays.py): a date moved through the API emails each waiting
customer once, as the admin's date field does, a retried move emails nobody again, and a receipt
allocates the waiting lines. test_purchasing_e2e.py does the same with a real worker and SMTP server."""

from datetime import timedelta

import pytest

from api.scopes import PURCHASING
from api.tests.conftest import idempotency_headers
from inventory.tests.factories import SupplierFactory, WarehouseFactory
from orders.choices import LineStatus
from orders.models import DelayCause, LineDelay, OrderLine
from orders.tasks import send_due_delay_notices
from orders.tests.delays_helpers import T0, backorderable, day, delay_emails, purchase_order, waiting_order

pytestmark = pytest.mark.django_db

LIST = "/api/v1/purchase-orders/"


@pytest.fixture(autouse=True)
def punctual_suppliers(settings):
    """Suppliers are counted on for the date they give (no lateness padding), as in test_delays.py."""
    settings.SUPPLIER_DEFAULT_LATE_P50_DAYS = 0
    settings.SUPPLIER_DEFAULT_LATE_P90_DAYS = 0


def post(client, path: str, body: dict, key: str | None = None):
    response = client.post(path, body, format="json", **idempotency_headers(key))
    assert response.status_code in (200, 201), response.content
    return response.json()


def numbers(order) -> tuple[str, int, int]:
    line = OrderLine.objects.get(order=order)
    return line.status, line.quantity_allocated, line.quantity_backordered


def test_a_date_moved_through_the_api_emails_each_waiting_customer_once_and_a_receipt_serves_them(
    api_client_with, clock, commit, mailoutbox
):
    erp = api_client_with(PURCHASING)
    tent, stove = backorderable(), backorderable(name="Camp Stove")
    # Given a purchase order of 5 tents due Tuesday 10 March, created and ordered by the ERP
    with commit():
        po = post(
            erp,
            LIST,
            {
                "supplier": SupplierFactory(contact_email="").pk,
                "warehouse": WarehouseFactory().pk,
                "reference": "ERP-PO-1",
                "expected_date": day(8).isoformat(),
                "lines": [{"variant": tent.pk, "quantity": 5}],
            },
        )
        post(erp, f"{LIST}{po['id']}/mark-ordered/", {})
    # … with Ada and Bob waiting for 2 and 1 tents, Cy for a stove on another order
    purchase_order(stove, 5, day(8))
    ada = waiting_order(tent, 2, email="ada@example.com")
    bob = waiting_order(tent, 1, email="bob@example.com")
    cy = waiting_order(stove, 1, email="cy@example.com")
    assert OrderLine.objects.get(order=ada).promised_date == day(8)
    mailoutbox.clear()

    # When the ERP moves it to Friday 20 March, and retries that request
    with commit():
        post(
            erp,
            f"{LIST}{po['id']}/expected-date/",
            {"expected_date": day(18).isoformat(), "reason": "Late"},
            "m1",
        )
    with commit():
        post(
            erp,
            f"{LIST}{po['id']}/expected-date/",
            {"expected_date": day(18).isoformat(), "reason": "Late"},
            "m1",
        )

    # Then the slip of each tent line is recorded once, and after the quiet period each customer is
    # emailed once (the admin's date field does exactly this: orders/tests/test_delays_e2e.py)
    assert sorted(LineDelay.objects.values_list("line__order__email", "old_date", "new_date", "cause")) == [
        ("ada@example.com", day(8), day(18), DelayCause.PO_DATE_CHANGED),
        ("bob@example.com", day(8), day(18), DelayCause.PO_DATE_CHANGED),
    ]
    clock.move_to(T0 + timedelta(minutes=31))
    with commit():
        send_due_delay_notices()
    with commit():
        send_due_delay_notices()
    assert sorted(m.to[0] for m in delay_emails(mailoutbox)) == ["ada@example.com", "bob@example.com"]

    # When the ERP receives 4 of the 5 tents
    line_id = po["lines"][0]["id"]
    with commit():
        received = post(erp, f"{LIST}{po['id']}/receive/", {"lines": [{"line": line_id, "quantity": 4}]})

    # Then Ada and Bob are served in their order, Cy still waits
    assert received["status"] == "partially_received"
    assert [numbers(o) for o in (ada, bob, cy)] == [
        (LineStatus.ALLOCATED, 2, 0),
        (LineStatus.ALLOCATED, 1, 0),
        (LineStatus.BACKORDERED, 0, 1),
    ]
