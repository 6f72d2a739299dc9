"""What each event says: the payloads, read through the apps' selectors and models.

Every function answers for any number of lines, variants or orders in a fixed number of queries
(written next to it), so the allocation pass's thousands of lines per batch cost what one line
costs. They run in the change's transaction (webhooks.receivers), after its writes, so they read
what the change wrote. Only ids come in; dates are ISO 8601 strings, money a decimal string.

The field names of a variant's availability are those of the API's `availability` object
(docs/api.md): an integrator reads one vocabulary.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.models import Max
from django.db.models.expressions import RawSQL

from inventory.models import PurchaseOrder, PurchaseOrderDateChange, StockItem, StockMovement
from inventory.selectors import availability_for_variants
from orders.models import OrderEvent, OrderLine, ShipmentLine
from shop.models import Variant

from .models import WebhookEvent


def _day(value) -> str | None:
    return value.isoformat() if value else None


def _range(earliest, confident) -> dict | None:
    if confident is None:
        return None
    return {"earliest": _day(earliest or confident), "confident": _day(confident)}


# --- stock and availability ----------------------------------------------------------------------


def stock_levels(variant_ids: Iterable[int]) -> list[dict]:
    """Each variant's stock after the change, in variant id order, per warehouse and in all (one query).

    `free_units` counts active warehouses only, as the availability does.
    """
    ids = sorted(set(variant_ids))
    rows = (
        StockItem.objects.filter(variant_id__in=ids)
        .order_by("variant_id", "warehouse__priority", "warehouse_id")
        .values_list(
            "variant_id", "variant__sku", "warehouse__code", "warehouse__is_active", "on_hand", "allocated"
        )
    )
    levels: dict[int, dict] = {}
    for variant_id, sku, code, active, on_hand, allocated in rows:
        level = levels.setdefault(
            variant_id,
            {
                "variant_id": variant_id,
                "sku": sku,
                "on_hand": 0,
                "allocated": 0,
                "free_units": 0,
                "warehouses": [],
            },
        )
        level["on_hand"] += on_hand
        level["allocated"] += allocated
        if active:
            level["free_units"] += max(on_hand - allocated, 0)
        level["warehouses"].append({"warehouse": code, "on_hand": on_hand, "allocated": allocated})
    return [levels[v] for v in ids if v in levels]


def availabilities(variant_ids: Iterable[int]) -> dict[int, dict]:
    """{variant id: what the product page says now}: the availability selector's answer, the one the
    product page, the cart and the API give (at most four queries), plus the SKUs (one query)."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    found = availability_for_variants(variant_ids=ids)
    skus = dict(Variant.objects.filter(pk__in=ids).values_list("pk", "sku"))
    answers = {}
    for variant_id in ids:
        a = found.get(variant_id)
        if a is None:
            continue
        rng = a.expected_range
        answers[variant_id] = {
            "variant_id": variant_id,
            "sku": skus.get(variant_id, ""),
            "status": a.status,
            "sellable_units": a.sellable_now,
            "free_units": a.free_stock,
            "waiting_units": a.waiting_backorders,
            "backorderable_units": a.backorderable,
            "expected_date": _day(a.expected_date),
            "expected_range": _range(rng.earliest, rng.confident) if rng else None,
        }
    return answers


def availabilities_last_sent(variant_ids: Iterable[int]) -> dict[int, dict]:
    """{variant id: the data of its latest `variant.availability_changed` event} (one query), so that an
    event is written only when the answer changed."""
    keys = [str(v) for v in sorted(set(variant_ids))]
    if not keys:
        return {}
    own = WebhookEvent.objects.filter(
        type="variant.availability_changed", resource_type="variant", resource_id__in=keys
    )
    latest = own.values("resource_id").annotate(last=Max("pk")).values("last")
    return {
        int(resource_id): data
        for resource_id, data in WebhookEvent.objects.filter(pk__in=latest).values_list("resource_id", "data")
    }


# --- orders ----------------------------------------------------------------------------------


def _order(order_id: int, number: str) -> dict:
    return {"id": order_id, "number": number}


def order_variant_ids(order_id: int) -> list[int]:
    """The variants of an order's lines (one query)."""
    return sorted(set(OrderLine.objects.filter(order_id=order_id).values_list("variant_id", flat=True)))


def backorder_created(order_id: int) -> dict | None:
    """The order's lines that wait for stock, with the dates told at checkout (one query); None when
    every unit came from stock."""
    rows = list(
        OrderLine.objects.filter(order_id=order_id, quantity_backordered__gt=0)
        .order_by("pk")
        .values_list(
            "pk",
            "variant_id",
            "sku",
            "quantity",
            "quantity_backordered",
            "expected_earliest_date",
            "expected_date",
            "order__number",
        )
    )
    if not rows:
        return None
    return {
        "order": _order(order_id, rows[0][7]),
        "lines": [
            {
                "line_id": pk,
                "variant_id": variant_id,
                "sku": sku,
                "quantity": quantity,
                "units_waiting": waiting,
                "expected_date": _day(confident),
                "expected_range": _range(earliest, confident),
            }
            for pk, variant_id, sku, quantity, waiting, earliest, confident, _ in rows
        ],
    }


def backorders_allocated(takes: dict[int, int]) -> list[tuple[int, dict]]:
    """(order id, payload) of each line a batch of the allocation pass served, in service order:
    {line id: units} as the batch returned it (one query whatever the number of lines)."""
    lines = OrderLine.objects.all()
    if connection.vendor == "postgresql":
        # The ids as one array literal: thousands of IN parameters cost the client 3-4x more.
        ids = "{" + ",".join(map(str, map(int, takes))) + "}"
        lines = lines.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", [ids]))
    else:
        lines = lines.filter(pk__in=list(takes))
    rows = {
        row[0]: row
        for row in lines.values_list(
            "pk",
            "order_id",
            "order__number",
            "variant_id",
            "sku",
            "quantity",
            "quantity_allocated",
            "quantity_backordered",
        )
    }
    result = []
    for line_id, units in takes.items():
        _, order_id, number, variant_id, sku, quantity, allocated, waiting = rows[line_id]
        result.append(
            (
                order_id,
                {
                    "order": _order(order_id, number),
                    "line": {"line_id": line_id, "variant_id": variant_id, "sku": sku, "quantity": quantity},
                    "units": units,
                    "line_units_allocated": allocated,
                    "line_units_waiting": waiting,
                },
            )
        )
    return result


def order_shipped(shipment_id: int) -> dict:
    """The shipment's lines and value (one query)."""
    rows = list(
        ShipmentLine.objects.filter(shipment_id=shipment_id)
        .order_by("order_line_id")
        .values_list(
            "order_line_id",
            "order_line__variant_id",
            "order_line__sku",
            "quantity",
            "order_line__quantity_backordered",
            "shipment__order_id",
            "shipment__order__number",
            "shipment__order__currency",
            "shipment__amount",
            "shipment__created_at",
        )
    )
    first = rows[0]
    return {
        "order": _order(first[5], first[6]),
        "shipment": {
            "id": shipment_id,
            "amount": {"amount": str(first[8]), "currency": first[7]},
            "shipped_at": first[9].isoformat(),
        },
        "lines": [
            {
                "line_id": line_id,
                "variant_id": variant_id,
                "sku": sku,
                "units": units,
                "units_waiting": waiting,
            }
            for line_id, variant_id, sku, units, waiting, *_ in rows
        ],
    }


def _event_lines(order_event_id: int) -> tuple[OrderEvent, dict[int, tuple]]:
    """A timeline event and its lines, {line id: (variant id, sku, units waiting)} (two queries)."""
    event = (
        OrderEvent.objects.select_related("order")
        .only("data", "created_at", "order__number")
        .get(pk=order_event_id)
    )
    ids = [int(pk) for pk in event.data.get("lines", {})]
    lines = {
        pk: (variant_id, sku, waiting)
        for pk, variant_id, sku, waiting in OrderLine.objects.filter(pk__in=ids).values_list(
            "pk", "variant_id", "sku", "quantity_backordered"
        )
    }
    return event, lines


def order_cancelled(order_event_id: int) -> dict:
    """The waiting units a cancellation took off the order, from its "cancelled" timeline event (two
    queries)."""
    event, lines = _event_lines(order_event_id)
    return {
        "order": _order(event.order_id, event.order.number),
        "cancelled_at": event.created_at.isoformat(),
        "lines": [
            {
                "line_id": int(pk),
                "variant_id": lines[int(pk)][0],
                "sku": lines[int(pk)][1],
                "units_cancelled": units,
                "units_waiting": lines[int(pk)][2],
            }
            for pk, units in sorted(event.data["lines"].items(), key=lambda item: int(item[0]))
        ],
    }


def backorder_date_changed(order_event_id: int) -> dict:
    """The dates a delay email told, old and new per line, from its "delayed" timeline event (two
    queries)."""
    event, lines = _event_lines(order_event_id)
    return {
        "order": _order(event.order_id, event.order.number),
        "told_at": event.created_at.isoformat(),
        "lines": [
            {
                "line_id": int(pk),
                "variant_id": lines[int(pk)][0],
                "sku": lines[int(pk)][1],
                "units_waiting": lines[int(pk)][2],
                "old_date": told["old"],
                "new_date": told["new"],
                "new_range": {"earliest": told["new_earliest"] or told["new"], "confident": told["new"]},
                "estimated": told["estimated"],
                "cause": told["cause"],
            }
            for pk, told in sorted(event.data["lines"].items(), key=lambda item: int(item[0]))
        ],
    }


# --- purchase orders -------------------------------------------------------------------------


def _purchase_order(po: PurchaseOrder) -> dict:
    return {
        "id": po.pk,
        "reference": po.reference,
        "status": po.status,
        "supplier_id": po.supplier_id,
        "warehouse": po.warehouse.code,
        "expected_date": _day(po.expected_date),
    }


def purchase_order_received(purchase_order_id: int, movement_ids: list[int]) -> dict:
    """What a receipt brought, per line, and the order's state after it (two queries)."""
    po = PurchaseOrder.objects.select_related("warehouse").get(pk=purchase_order_id)
    rows = (
        StockMovement.objects.filter(pk__in=movement_ids)
        .order_by("po_line_id")
        .values_list(
            "po_line_id",
            "variant_id",
            "variant__sku",
            "on_hand_delta",
            "po_line__quantity_received",
            "po_line__quantity_ordered",
        )
    )
    return {
        "purchase_order": _purchase_order(po),
        "lines": [
            {
                "line_id": line_id,
                "variant_id": variant_id,
                "sku": sku,
                "units_received": units,
                "quantity_received": received,
                "quantity_ordered": ordered,
            }
            for line_id, variant_id, sku, units, received, ordered in rows
        ],
    }


def purchase_order_date_changed(date_change_id: int) -> dict:
    """The move of a purchase order's expected date: old, new, who and why (one query)."""
    change = PurchaseOrderDateChange.objects.select_related("purchase_order__warehouse").get(
        pk=date_change_id
    )
    return {
        "purchase_order": _purchase_order(change.purchase_order),
        "old_date": _day(change.old_date),
        "new_date": _day(change.new_date),
        "reason": change.reason,
        "source": change.source,
        "changed_at": change.changed_at.isoformat(),
    }
