"""End to end through the API (issue 20): create a purchase order, move its date, receive it.

A real Celery worker on Redis does what follows each request: the waiting customers get exactly one
delay email each at a real SMTP server, as when staff move the date in the admin, and once the
order is received their lines are allocated and a `backorder.allocated` webhook per line reaches a
real HTTP receiver on a loopback port exactly once, its Standard Webhooks signature verified by the
receiver example of docs/api.md (its code taken from the page and run as it stands).
"""

import threading
import time
from datetime import timedelta
from http.server import ThreadingHTTPServer

import pytest
from django.utils import timezone

from api.scopes import PURCHASING
from api.tests.conftest import api_client_with, idempotency_headers  # noqa: F401 (a fixture)
from inventory.models import PurchaseOrder
from inventory.tests.factories import SupplierFactory, WarehouseFactory
from orders.tests.delays_helpers import DELAY_SUBJECT, backorderable, waiting_order
from webhooks.models import WebhookDelivery

from .events_helpers import subscribe
from .test_receiver_example import API_DOC, receiver_example

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

LIST = "/api/v1/purchase-orders/"


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


class DocsReceiver:
    """docs/api.md's receiver on a free loopback port: `handled` are the events it verified and handled,
    `requests` the webhook-id of every request it got (a repeat is answered but not handled)."""

    def __init__(self, secret: str):
        namespace = {"__name__": "receiver_example"}
        exec(compile(receiver_example(), str(API_DOC), "exec"), namespace)
        namespace["SECRET"] = secret
        self.handled: list[dict] = []
        self.requests: list[str] = []
        namespace["handle"] = self.handled.append
        requests = self.requests

        class Counted(namespace["Receiver"]):
            def do_POST(self):
                requests.append(self.headers["webhook-id"])
                super().do_POST()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Counted)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_purchase_order_created_moved_and_received_through_the_api(
    api_client_with,  # noqa: F811 (the fixture imported above)
    celery_via_broker,
    smtp_server,
):
    api = api_client_with(PURCHASING)

    def post(path, body):
        response = api.post(path, body, format="json", **idempotency_headers())
        assert response.status_code in (200, 201), response.content
        return response.json()

    today = timezone.localdate()
    tent = backorderable()
    supplier, warehouse = SupplierFactory(), WarehouseFactory()

    # Given a purchase order of 5 tents created and ordered through the API, due in 5 days
    created = post(
        LIST,
        {
            "supplier": supplier.pk,
            "warehouse": warehouse.pk,
            "reference": "ERP-2001",
            "expected_date": (today + timedelta(days=5)).isoformat(),
            "lines": [{"variant": tent.pk, "quantity": 5}],
        },
    )
    po = f"{LIST}{created['id']}/"
    assert post(f"{po}mark-ordered/", {})["status"] == "ordered"
    # and Ada and Bob waiting for 2 and 1 of them
    ada = waiting_order(tent, 2, email="ada@example.com")
    bob = waiting_order(tent, 1, email="bob@example.com")
    endpoint = subscribe("backorder.allocated")
    receiver = DocsReceiver(endpoint.secret)
    endpoint.url = receiver.url
    endpoint.save()
    try:
        celery_via_broker(extra_env={"EMAIL_URL": smtp_server.url, "DELAY_NOTIFY_QUIET_MINUTES": "0"})

        # When the ERP moves the delivery 15 days later
        moved = post(
            f"{po}expected-date/",
            {"expected_date": (today + timedelta(days=20)).isoformat(), "reason": "Supplier delay"},
        )
        assert moved["expected_date"] == (today + timedelta(days=20)).isoformat()

        # Then each waiting customer gets exactly one delay email, as when staff move it in the admin
        def delay_emails():
            return [m for m in smtp_server.messages if DELAY_SUBJECT in m["Subject"]]

        assert wait_until(lambda: len(delay_emails()) >= 2, timeout=60)
        time.sleep(2)  # nothing more arrives
        assert sorted(m["To"] for m in delay_emails()) == ["ada@example.com", "bob@example.com"]

        # When the ERP receives the whole order
        received = post(f"{po}receive/", {})
        assert received["status"] == "received"

        # Then both waiting lines are allocated and one backorder.allocated per line reaches the
        # receiver exactly once, verified by the docs' example with the endpoint's secret
        assert wait_until(lambda: len(receiver.handled) >= 2, timeout=60)
        time.sleep(2)  # no second delivery of either
        assert len(receiver.requests) == 2
        events = sorted(receiver.handled, key=lambda e: e["data"]["order"]["number"])
        assert [e["type"] for e in events] == ["backorder.allocated", "backorder.allocated"]
        got = {(e["data"]["order"]["number"], e["data"]["line"]["sku"], e["data"]["units"]) for e in events}
        assert got == {(ada.number, tent.sku, 2), (bob.number, tent.sku, 1)}
        assert sorted(receiver.requests) == sorted(e["id"] for e in events)
        assert [line.quantity_allocated for line in (ada.lines.get(), bob.lines.get())] == [2, 1]
        assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
        assert PurchaseOrder.objects.get(pk=created["id"]).status == "received"
    finally:
        receiver.stop()
