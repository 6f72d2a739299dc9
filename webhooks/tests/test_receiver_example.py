"""The receiver example of docs/api.md, taken from the page and run as the receiver of real deliveries.

The code block under "## Receiving webhooks: a verifying receiver" is executed as it stands (only its
SECRET and `handle` are replaced), so the page and this test cannot drift apart.
"""

import re
import threading
import uuid
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import urllib3
from standardwebhooks import Webhook

from shop.submissions import AlreadySubmitted
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services.delivery import deliveries_replay, webhook_deliveries_send

from .delivery_helpers import SECRET, endpoint, record, statuses

pytestmark = pytest.mark.django_db

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def receiver_example() -> str:
    text = API_DOC.read_text()
    section = text.split("\n## Receiving webhooks: a verifying receiver\n", 1)[1].split("\n## ", 1)[0]
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return code


@pytest.fixture
def docs_receiver():
    namespace = {"__name__": "receiver_example"}  # not "__main__": the example's server is ours
    exec(compile(receiver_example(), str(API_DOC), "exec"), namespace)
    handled = []
    namespace["SECRET"] = SECRET
    namespace["handle"] = handled.append
    server = ThreadingHTTPServer(("127.0.0.1", 0), namespace["Receiver"])
    server.RequestHandlerClass.log_message = lambda *args: None
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks", handled, namespace["seen"]
    server.shutdown()
    server.server_close()


def test_the_example_is_about_a_dozen_lines_of_python_around_webhook_verify():
    code = receiver_example()
    assert "Webhook(SECRET).verify(body, dict(self.headers))" in code
    assert len([line for line in code.splitlines() if line.strip() and not line.startswith("#")]) <= 25


def test_the_docs_receiver_verifies_the_shops_deliveries_and_handles_each_id_once(docs_receiver):
    url, handled, seen = docs_receiver
    hook = endpoint(url)
    ids = record(1, 2)

    webhook_deliveries_send(endpoint_id=hook.pk)

    assert [event["id"] for event in handled] == ids  # verified (204), parsed, handled
    assert [event["data"] for event in handled] == [{"variant_id": 1, "n": 0}, {"variant_id": 2, "n": 1}]
    assert statuses() == ["delivered", "delivered"]
    assert seen == set(ids)

    # Sent again from the admin: the same webhook-id reaches the receiver, which answers and ignores it.
    key = uuid.uuid4().hex
    assert deliveries_replay(
        delivery_ids=list(WebhookDelivery.objects.values_list("pk", flat=True)[:1]),
        submission_key=key,
        user_id=None,
    ) == [WebhookDelivery.objects.order_by("pk").first().pk]
    webhook_deliveries_send(endpoint_id=hook.pk)

    assert statuses() == ["delivered", "delivered"]
    assert WebhookAttempt.objects.filter(status_code=204).count() == 3  # sent again: once
    assert len(handled) == 2  # handled once

    # The same form sent twice: nothing is re-queued a second time.
    with pytest.raises(AlreadySubmitted):
        deliveries_replay(
            delivery_ids=[WebhookDelivery.objects.order_by("pk").first().pk], submission_key=key, user_id=None
        )
    assert webhook_deliveries_send(endpoint_id=hook.pk).tried == 0


def test_the_docs_receiver_refuses_a_wrong_signature_and_an_altered_body(docs_receiver):
    url, handled, _seen = docs_receiver
    hook = endpoint(url)
    hook.secret = "whsec_" + "B" * 32  # not the receiver's
    hook.save()
    record(1)

    webhook_deliveries_send(endpoint_id=hook.pk)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code, delivery.last_error) == (
        "pending",
        400,
        "Answered 400",
    )
    assert handled == []

    body = b'{"id":"evt_x","type":"stock.changed","timestamp":"2026-03-02T09:00:00Z","data":{}}'
    headers = {
        "webhook-id": "evt_x",
        "webhook-timestamp": str(int(datetime.now(UTC).timestamp())),
        "webhook-signature": Webhook(SECRET).sign("evt_x", datetime.now(UTC), body),
    }
    http = urllib3.PoolManager()
    assert http.request("POST", url, body=body, headers=headers).status == 204
    assert http.request("POST", url, body=body.replace(b"{}", b'{"x":1}'), headers=headers).status == 400
    assert [event["id"] for event in handled] == ["evt_x"]
