"""Context builders for order emails (registered with the outbox in OrdersConfig.ready)."""

from decimal import Decimal

from notifications.emails import PermanentEmailError, absolute_url, register_builder
from notifications.models import NotificationKind

from .models import Order, Shipment
from .tokens import order_access_path


def _order(context: dict) -> Order:
    order = Order.objects.filter(pk=context.get("order_id")).prefetch_related("lines").first()
    if order is None:
        raise PermanentEmailError(f"order {context.get('order_id')} no longer exists")
    return order


def _common(order: Order) -> dict:
    lines = list(order.lines.all())
    return {
        "order": order,
        "lines": lines,
        "waiting_lines": [line for line in lines if line.quantity_backordered],
        "order_url": absolute_url(order_access_path(order.number)),
    }


def order_confirmed_context(context: dict) -> dict:
    return _common(_order(context))


def order_shipped_context(context: dict) -> dict:
    order = _order(context)
    shipment = (
        Shipment.objects.filter(pk=context.get("shipment_id"), order=order)
        .prefetch_related("lines__order_line")
        .first()
    )
    if shipment is None:
        raise PermanentEmailError(f"shipment {context.get('shipment_id')} no longer exists")
    common = _common(order)
    shipped_lines = list(shipment.lines.all())
    return {
        **common,
        "shipment": shipment,
        "shipped_lines": shipped_lines,
        "had_backorders": any(sl.order_line.first_promised_date for sl in shipped_lines),
    }


def order_cancelled_context(context: dict) -> dict:
    order = _order(context)
    common = _common(order)
    by_id = {line.pk: line for line in common["lines"]}
    cancelled = [(by_id[int(pk)], qty) for pk, qty in context.get("lines", {}).items() if int(pk) in by_id]
    return {**common, "cancelled": cancelled, "amount": Decimal(context.get("amount", "0"))}


def backorder_allocated_context(context: dict) -> dict:
    order = _order(context)
    common = _common(order)
    return {
        **common,
        "allocated_lines": [line for line in common["lines"] if line.quantity_allocated],
        "ships_together": order.ship_policy == "together",
        "ready": order.status == "ready",
    }


def register() -> None:
    register_builder(NotificationKind.ORDER_CONFIRMED, order_confirmed_context)
    register_builder(NotificationKind.ORDER_SHIPPED, order_shipped_context)
    register_builder(NotificationKind.ORDER_CANCELLED, order_cancelled_context)
    register_builder(NotificationKind.BACKORDER_ALLOCATED, backorder_allocated_context)
