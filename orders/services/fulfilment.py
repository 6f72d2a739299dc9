"""Shipping what is allocated: a shipment, the stock leaves, the money is captured."""

import logging
from collections.abc import Collection
from decimal import Decimal

from django.db import transaction

from inventory.services import (
    allocation_ship,
)
from notifications.models import NotificationKind
from notifications.services.outbox import notification_create
from shop.submissions import submission_claim

from ..event_words import event_words_build, event_words_items
from ..events import order_shipped
from ..lifecycle import Move, line_apply, order_status, shippable_quantities
from ..locks import order_lines_of_order_lock, payment_lock
from ..models import (
    Order,
    OrderEvent,
    OrderEventKind,
    OrderLine,
    Shipment,
    ShipmentLine,
    ShipPolicy,
    TransactionKind,
)
from ..payments import gateway_get
from .cards import CARD, card_shipment_pay
from .charges import _payment_status, _record_transaction
from .errors import OrderActionError

logger = logging.getLogger(__name__)


# --- shipping ------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def order_ship(
    *,
    order_id: int,
    user_id: int | None = None,
    submission_key: str | None = None,
    line_ids: Collection[int] | None = None,
) -> Shipment:
    """Ship every allocated unit the ship policy allows; capture exactly their price.

    With `submission_key` (a staff form's one-time key) a second submission of the
    same form raises AlreadySubmitted and ships nothing. With `line_ids` (the API's
    "ship these lines") only those lines' allocated units ship; an order that ships
    together ships all its lines at once or nothing.
    """
    if submission_key is not None:
        submission_claim(key=submission_key, action="order_ship", user_id=user_id)
    order = Order.objects.select_related("payment").get(pk=order_id)
    lines = list(order.lines.all())
    to_ship = shippable_quantities(lines, ship_policy=order.ship_policy)
    if not to_ship:
        if order.ship_policy == ShipPolicy.TOGETHER and any(line.quantity_backordered for line in lines):
            raise OrderActionError(f"{order.number} ships together and still waits for stock.")
        raise OrderActionError(f"{order.number} has nothing allocated to ship.")
    if line_ids is not None:
        to_ship = _only_lines(order, lines, to_ship, set(line_ids))
    allocation_ship(quantities=to_ship, user_id=user_id)  # locks stock items first
    locked = {line.pk: line for line in order_lines_of_order_lock(order.pk)}
    amount = Decimal("0")
    shipped = []
    for line_id, qty in to_ship.items():
        line = locked[line_id]
        amount += line.price_of_units(line.quantity_shipped, qty)
        line_apply(line, Move(ship=qty))
        shipped.append((line, qty))
    OrderLine.objects.bulk_update(
        [line for line, _ in shipped], ["quantity_allocated", "quantity_shipped", "status"], batch_size=500
    )
    shipment = Shipment.objects.create(order=order, created_by_id=user_id, amount=amount)
    ShipmentLine.objects.bulk_create(
        [ShipmentLine(shipment=shipment, order_line=line, quantity=qty) for line, qty in shipped]
    )
    if not order.shipments.exclude(pk=shipment.pk).exists():
        # The first shipment also carries the shipping charge.
        amount += order.shipping_cost
        shipment.amount = amount
        shipment.save(update_fields=["amount"])
    payment = payment_lock(order.payment.pk)
    if payment.gateway == CARD:
        capture = card_shipment_pay(
            order=order, payment=payment, shipment=shipment, amount=amount, user_id=user_id
        )
    else:
        capture = min(amount, payment.amount_open)
        result = gateway_get(payment.gateway).capture(reference=payment.reference, amount=capture)
        _record_transaction(
            payment, TransactionKind.CAPTURE, capture, result, shipment=shipment, user_id=user_id
        )
        if not result.success:
            raise OrderActionError(f"The payment capture failed: {result.message}")
        payment.amount_captured += capture
        payment.status = _payment_status(payment)
        payment.save()
    order.status = order_status(list(locked.values()), ship_policy=order.ship_policy)
    order.save(update_fields=["status"])
    OrderEvent.objects.create(
        order=order,
        kind=OrderEventKind.SHIPPED,
        message=("Shipped: " + ", ".join(f"{qty} × {line.product_name}" for line, qty in shipped))[:500],
        data={
            "shipment_id": shipment.pk,
            "captured": str(capture),
            "words": event_words_build(
                key="shipped", items=event_words_items((qty, line.product_name) for line, qty in shipped)
            ),
        },
        user_id=user_id,
    )
    notification_create(
        kind=NotificationKind.ORDER_SHIPPED,
        recipient=order.email,
        dedupe_key=f"order-shipped:{shipment.pk}",
        language=order.language,
        context={"order_id": order.pk, "shipment_id": shipment.pk},
    )
    order_shipped.send(order_id=order.pk, shipment_id=shipment.pk)
    return shipment


def _only_lines(
    order: Order, lines: list[OrderLine], to_ship: dict[int, int], wanted: set[int]
) -> dict[int, int]:
    """`to_ship` cut down to the `wanted` lines; refused if one is not the order's, has nothing
    allocated, or the order ships together and some of its ready lines were left out."""
    if not wanted:
        raise OrderActionError(f"{order.number}: name at least one line to ship.")
    if not wanted <= {line.pk for line in lines}:
        raise OrderActionError(f"{order.number}: that item is not part of this order.")
    empty = sorted(line.sku for line in lines if line.pk in wanted and line.pk not in to_ship)
    if empty:
        raise OrderActionError(f"{order.number}: nothing of {', '.join(empty)} is allocated to ship.")
    if order.ship_policy == ShipPolicy.TOGETHER and set(to_ship) - wanted:
        raise OrderActionError(f"{order.number} ships together: ship all its ready lines at once.")
    return {pk: qty for pk, qty in to_ship.items() if pk in wanted}
