"""The shop's hooks that become webhook events, written in the change's own transaction.

Each receiver is connected to one hook of inventory.events or orders.events in webhooks.apps
(`grep "\\.connect(receivers\\."` lists them). A hook is sent by a service inside the
transaction of its change, after its writes; the receiver reads the payload there (webhooks.payloads,
a fixed number of queries per call) and writes the events with `webhook_events_record`, so an
event commits or rolls back with its change (the outbox pattern).

What it costs: nothing is read unless an active endpoint subscribed to the event's type. Which
types have subscribers is kept in the cache (`subscribed_types`: one query when the cache does not
know, none otherwise) and in each process for a second; saving or deleting an endpoint forgets it at
once, and again when its transaction commits. With no endpoint subscribed, a change pays a cache
look-up at most once a second per process, and no query. With one, each receiver adds its payload's
queries and the two inserts (events, deliveries) plus the endpoints' query of `webhook_events_record`.

Which hook gives which event (docs/api.md, "Event types"):

| event | hook |
|---|---|
| `stock.changed` | `inventory.events.stock_changed`: one event per service call or allocation batch |
| `variant.availability_changed` | `inventory.events.availability_changed`, `orders.events.order_placed` and `orders.events.backorders_served`; written only when the answer differs from the variant's last event |
| `backorder.created` | `orders.events.order_placed`, when units wait |
| `backorder.allocated` | `orders.events.backorders_served`: one event per line served |
| `backorder.date_changed` | `orders.events.backorder_dates_told` (the delay email's new dates) |
| `order.shipped` | `orders.events.order_shipped` |
| `order.cancelled` | `orders.events.order_units_cancelled` |
| `purchase_order.received` | `inventory.events.purchase_order_received` |
| `purchase_order.date_changed` | `inventory.events.purchase_order_date_moved` |

Checkout sends `availability_changed` before its lines exist (inventory.services.reservation locks
and announces first): for a variant that never had an event, that first answer (the one before the
order) is written too, then `order_placed` writes the new one; afterwards the earlier answer equals
the variant's last event and only the new one is written.

A hook sent outside any transaction (the allocation pass's closing `availability_changed`,
`orders.events.queue_served`) writes nothing here: its change committed earlier, in a transaction
whose own hooks wrote the events (each batch's `backorders_served` and `stock_changed`).
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from . import payloads
from .services.events import Event, subscribed_endpoints, webhook_events_record

# How long the cache keeps the subscribed types (an endpoint's save or delete forgets them at once).
SUBSCRIBED_CACHE_SECONDS = 300
# How long a process trusts what it read from the cache, saving a round trip per hook.
SUBSCRIBED_LOCAL_SECONDS = 1.0

_local: dict[str, tuple[float, frozenset[str]]] = {}


def _cache_key() -> str:
    return f"webhooks:{settings.SHOP_CACHE_NAMESPACE}:subscribed-types"


def subscribed_types() -> frozenset[str]:
    """The event types at least one active endpoint subscribed to (no query while the cache knows)."""
    key = _cache_key()
    now = time.monotonic()
    known = _local.get(key)
    if known is not None and known[0] > now:
        return known[1]
    types = cache.get(key)
    if types is None:
        types = sorted(subscribed_endpoints())
        cache.set(key, types, SUBSCRIBED_CACHE_SECONDS)
    value = frozenset(types)
    _local[key] = (now + SUBSCRIBED_LOCAL_SECONDS, value)
    return value


def subscribed_types_forget(**_kwargs) -> None:
    """Receiver of WebhookEndpoint's post_save and post_delete: the subscribed types are read again,
    now and once the endpoint's transaction commits (a reader in between could cache the old rows)."""

    def forget() -> None:
        key = _cache_key()
        _local.pop(key, None)
        cache.delete(key)

    forget()
    transaction.on_commit(forget)


def _wanted(*types: str) -> set[str]:
    """Those of `types` an endpoint subscribed to; none outside a transaction (see the module's doc)."""
    if not transaction.get_connection().in_atomic_block:
        return set()
    subscribed = subscribed_types()
    return {t for t in types if t in subscribed}


def _availability_events(variant_ids) -> list[Event]:
    """`variant.availability_changed` for the variants whose answer differs from their last event."""
    now = payloads.availabilities(variant_ids)
    last = payloads.availabilities_last_sent(now)
    return [
        Event("variant.availability_changed", "variant", str(variant_id), data)
        for variant_id, data in now.items()
        if last.get(variant_id) != data
    ]


# --- receivers -------------------------------------------------------------------------------------


def availability_changed(*, variant_ids, **_kwargs) -> None:
    """inventory.events.availability_changed: what the product page says may have changed."""
    if _wanted("variant.availability_changed"):
        webhook_events_record(events=_availability_events(variant_ids))


def stock_changed(*, variant_ids, **_kwargs) -> None:
    """inventory.events.stock_changed: one `stock.changed` listing each variant's new levels.

    Its resource is the shop's stock as a whole: the levels are absolute, so an endpoint gets these
    events one after the other, in the order they were written."""
    if not variant_ids or not _wanted("stock.changed"):
        return
    levels = payloads.stock_levels(variant_ids)
    if levels:
        webhook_events_record(events=[Event("stock.changed", "stock", "levels", {"variants": levels})])


def order_placed(*, order_id: int, **_kwargs) -> None:
    """orders.events.order_placed: `backorder.created` when units wait, and the variants' availability."""
    wanted = _wanted("backorder.created", "variant.availability_changed")
    if not wanted:
        return
    events = []
    if "backorder.created" in wanted and (data := payloads.backorder_created(order_id)) is not None:
        events.append(Event("backorder.created", "order", str(order_id), data))
    if "variant.availability_changed" in wanted:
        events += _availability_events(payloads.order_variant_ids(order_id))
    webhook_events_record(events=events)


def backorders_served(*, takes: dict[int, int], **_kwargs) -> None:
    """orders.events.backorders_served: a `backorder.allocated` per line the batch served, and the
    availability of the batch's variants (their waiting units fell)."""
    wanted = _wanted("backorder.allocated", "variant.availability_changed")
    if not wanted or not takes:
        return
    events = []
    served = payloads.backorders_allocated(takes)
    if "backorder.allocated" in wanted:
        events += [Event("backorder.allocated", "order", str(order_id), data) for order_id, data in served]
    if "variant.availability_changed" in wanted:
        events += _availability_events({data["line"]["variant_id"] for _, data in served})
    webhook_events_record(events=events)


def order_shipped(*, order_id: int, shipment_id: int, **_kwargs) -> None:
    """orders.events.order_shipped: `order.shipped` with the shipment's lines."""
    if _wanted("order.shipped"):
        data = payloads.order_shipped(shipment_id)
        webhook_events_record(events=[Event("order.shipped", "order", str(order_id), data)])


def order_units_cancelled(*, order_id: int, order_event_id: int, **_kwargs) -> None:
    """orders.events.order_units_cancelled: `order.cancelled` with the units cancelled per line."""
    if _wanted("order.cancelled"):
        data = payloads.order_cancelled(order_event_id)
        webhook_events_record(events=[Event("order.cancelled", "order", str(order_id), data)])


def backorder_dates_told(*, order_id: int, order_event_id: int, **_kwargs) -> None:
    """orders.events.backorder_dates_told: `backorder.date_changed`, old and new date per line."""
    if _wanted("backorder.date_changed"):
        data = payloads.backorder_date_changed(order_event_id)
        webhook_events_record(events=[Event("backorder.date_changed", "order", str(order_id), data)])


def purchase_order_received(*, purchase_order_id: int, movement_ids, **_kwargs) -> None:
    """inventory.events.purchase_order_received: `purchase_order.received`, what arrived per line."""
    if _wanted("purchase_order.received"):
        data = payloads.purchase_order_received(purchase_order_id, list(movement_ids))
        webhook_events_record(
            events=[Event("purchase_order.received", "purchase_order", str(purchase_order_id), data)]
        )


def purchase_order_date_moved(*, purchase_order_id: int, date_change_id: int, **_kwargs) -> None:
    """inventory.events.purchase_order_date_moved: `purchase_order.date_changed`, old and new date, why."""
    if _wanted("purchase_order.date_changed"):
        data = payloads.purchase_order_date_changed(date_change_id)
        webhook_events_record(
            events=[Event("purchase_order.date_changed", "purchase_order", str(purchase_order_id), data)]
        )
