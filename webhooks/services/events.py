"""Events are written in the same transaction as the change they describe (the outbox pattern).

A service's hook receiver (webhooks.receivers) builds `Event`s and calls `webhook_events_record`
inside the change's transaction: the event and one delivery row per subscribed endpoint commit or
roll back with the change. The delivery task is asked for after commit; a lost message is found
again by the sweep, since the pending delivery rows are the truth.

Two twins write the rows: the ORM (`_record_orm`, SQLite) and one statement on PostgreSQL
(`_record_postgres`): an allocation batch writes thousands of events at once, and building a model
instance per row and per delivery cost the pass more than the pass itself (bench_allocation with
an endpoint subscribed: 10,000 lines in ~8 s instead of ~1 s). Parity:
webhooks/tests/test_events_record.py::test_both_twins_write_the_same_rows.
"""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

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
    if connection.vendor == "postgresql":
        _record_postgres(kept, subscribers)
    else:
        _record_orm(kept, subscribers)
    deliveries_queued.send(endpoint_ids=sorted({pk for e in kept for pk in subscribers[e.type]}))
    return len(kept)


def _record_orm(kept: list[Event], subscribers: dict[str, list[int]]) -> None:
    """The events and their deliveries, with the ORM (two inserts). PostgreSQL twin: `_record_postgres`."""
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


# The events come in as one JSON array (one string: no per-row parameter to adapt), in the order
# written, so that their ids, which order the events of a resource, follow it; each gets a
# delivery per endpoint subscribed to its type.
_RECORD_SQL = f"""
WITH written AS (
    INSERT INTO {WebhookEvent._meta.db_table} (event_id, type, resource_type, resource_id, data, created_at)
    SELECT e.event_id, e.type, e.resource_type, e.resource_id, e.data, %(now)s
    FROM jsonb_to_recordset(%(events)s::jsonb)
         AS e(n int, event_id text, type text, resource_type text, resource_id text, data jsonb)
    ORDER BY e.n
    RETURNING id, type
)
INSERT INTO {WebhookDelivery._meta.db_table} (event_id, endpoint_id, status, attempts, next_attempt_at, last_error)
SELECT written.id, s.endpoint_id, %(pending)s, 0, %(now)s, ''
FROM written JOIN jsonb_to_recordset(%(subscribers)s::jsonb) AS s(type text, endpoint_id bigint)
  ON s.type = written.type
"""


def _record_postgres(kept: list[Event], subscribers: dict[str, list[int]]) -> None:
    """`_record_orm` in one statement whatever the number of events (PostgreSQL)."""
    events = [
        {
            "n": n,
            "event_id": f"evt_{uuid.uuid4().hex}",
            "type": e.type,
            "resource_type": e.resource_type,
            "resource_id": str(e.resource_id),
            "data": e.data,
        }
        for n, e in enumerate(kept)
    ]
    types = {e.type for e in kept}
    pairs = [{"type": t, "endpoint_id": pk} for t in sorted(types) for pk in subscribers[t]]
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_SQL,
            {
                "events": json.dumps(events, cls=DjangoJSONEncoder, separators=(",", ":")),
                "subscribers": json.dumps(pairs),
                "now": timezone.now(),
                "pending": WebhookDelivery.Status.PENDING.value,
            },
        )
