"""webhook_events_record's two twins (the ORM, one PostgreSQL statement) write the same rows."""

import pytest
from django.db import transaction

from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.services import events as recording
from webhooks.services.events import Event

from .events_helpers import subscribe

pytestmark = pytest.mark.django_db


def _rows():
    events = list(
        WebhookEvent.objects.order_by("pk").values_list(
            "type", "resource_type", "resource_id", "data", "created_at"
        )
    )
    deliveries = sorted(
        WebhookDelivery.objects.values_list(
            "event__resource_id", "endpoint_id", "status", "attempts", "last_error", "last_status_code"
        )
    )
    ids = list(WebhookEvent.objects.order_by("pk").values_list("event_id", flat=True))
    return events, deliveries, ids


def _write(twin, kept, subscribers):
    with transaction.atomic():
        twin(kept, subscribers)
    written = _rows()
    WebhookEvent.objects.all().delete()
    return written


@pytest.mark.postgres
def test_both_twins_write_the_same_rows(clock):
    first, second = subscribe("order.shipped", "stock.changed"), subscribe("order.shipped")
    subscribers = {"order.shipped": [first.pk, second.pk], "stock.changed": [first.pk]}
    kept = [
        Event("order.shipped", "order", "7", {"lines": [{"line_id": 1, "units": 2}], "note": "é"}),
        Event("stock.changed", "stock", "levels", {"variants": []}),
        *(Event("order.shipped", "order", str(n), {"n": n}) for n in range(8, 40)),
    ]

    orm = _write(recording._record_orm, kept, subscribers)
    postgres = _write(recording._record_postgres, kept, subscribers)

    assert orm[:2] == postgres[:2]
    assert len(postgres[1]) == 2 + 1 + 2 * 32
    # In the order written (the events of a resource are delivered in id order); ids unique, evt_ + 32 hex
    assert [row[2] for row in postgres[0]] == ["7", "levels", *map(str, range(8, 40))]
    assert len(set(postgres[2])) == len(kept)
    assert all(i.startswith("evt_") and len(i) == 36 for i in postgres[2])
