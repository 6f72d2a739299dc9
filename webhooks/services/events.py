"""Events are written in the same transaction as the change they describe (the outbox pattern).

A service's hook receiver (webhooks.receivers) builds `Event`s and calls `webhook_events_record`
inside the change's transaction: the event and one delivery row per subscribed endpoint commit or
roll back with the change. The delivery task is asked for after commit; a lost message is found
again by the sweep, since the pending delivery rows are the truth.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from ..hooks import deliveries_queued
from ..models import WebhookDelivery, WebhookEndpoint, WebhookEvent


@dataclass(frozen=True)
class Event:
    type: str
    resource_type: str
    resource_id: str
    data: dict


def subscribed_endpoints() -> dict[str, list[int]]:
    """Event type → ids of the active endpoints that subscribed to it (one query on a small table)."""
    by_type: dict[str, list[int]] = {}
    for pk, types in WebhookEndpoint.objects.filter(is_active=True).values_list("pk", "event_types"):
        for event_type in types or ():
            by_type.setdefault(event_type, []).append(pk)
    return by_type


def webhook_events_record(*, events: Iterable[Event], subscribers: dict[str, list[int]] | None = None) -> int:
    """Write `events` and their deliveries in the caller's transaction; return how many events were kept.

    An event no active endpoint subscribed to is not written. `subscribers` (from
    `subscribed_endpoints`) saves the query when the caller already looked.
    """
    assert transaction.get_connection().in_atomic_block, "webhook events are written with the change"
    events = list(events)
    if not events:
        return 0
    if subscribers is None:
        subscribers = subscribed_endpoints()
    kept = [e for e in events if subscribers.get(e.type)]
    if not kept:
        return 0
    rows = WebhookEvent.objects.bulk_create(
        [
            WebhookEvent(
                event_id=f"evt_{uuid.uuid4().hex}",
                type=e.type,
                resource_type=e.resource_type,
                resource_id=str(e.resource_id),
                data=e.data,
            )
            for e in kept
        ]
    )
    deliveries = [
        WebhookDelivery(event_id=row.pk, endpoint_id=endpoint_id)
        for row, e in zip(rows, kept, strict=True)
        for endpoint_id in subscribers[e.type]
    ]
    WebhookDelivery.objects.bulk_create(deliveries)
    deliveries_queued.send(endpoint_ids=sorted({d.endpoint_id for d in deliveries}))
    return len(rows)
