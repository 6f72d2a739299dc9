"""Shared by the event tests: an endpoint subscribed to some types, the events written, the receivers."""

from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import events as stock_events
from orders import events as order_events
from webhooks import receivers
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

# An address nothing listens on: these tests look at the rows written, not at delivery.
NOWHERE = "http://127.0.0.1:9/hooks"

# (hook, receiver) of every event receiver webhooks.apps connects.
CONNECTED = [
    (stock_events.stock_changed, receivers.stock_changed),
    (stock_events.availability_changed, receivers.availability_changed),
    (stock_events.purchase_order_received, receivers.purchase_order_received),
    (stock_events.purchase_order_date_moved, receivers.purchase_order_date_moved),
    (order_events.order_placed, receivers.order_placed),
    (order_events.backorders_served, receivers.backorders_served),
    (order_events.order_shipped, receivers.order_shipped),
    (order_events.order_units_cancelled, receivers.order_units_cancelled),
    (order_events.backorder_dates_told, receivers.backorder_dates_told),
]


def subscribe(*types: str, url: str = NOWHERE) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        url=url, secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", event_types=list(types)
    )


def events(event_type: str) -> list[dict]:
    """The data of the events of this type, oldest first."""
    return list(WebhookEvent.objects.filter(type=event_type).order_by("pk").values_list("data", flat=True))


def written() -> list[tuple[str, str, str]]:
    """(type, resource type, resource id) of every event, oldest first."""
    return list(WebhookEvent.objects.order_by("pk").values_list("type", "resource_type", "resource_id"))


def deliveries() -> int:
    return WebhookDelivery.objects.count()


@contextmanager
def receivers_disconnected():
    """The shop as it is without webhooks: none of the event receivers connected."""
    for hook, receiver in CONNECTED:
        hook.disconnect(receiver)
    try:
        yield
    finally:
        for hook, receiver in CONNECTED:
            hook.connect(receiver)


def record_queries() -> int:
    """Statements `webhook_events_record` writes with: one on PostgreSQL, two (events, deliveries) else."""
    return 1 if connection.vendor == "postgresql" else 2


def queries_of(call) -> int:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx.captured_queries)
