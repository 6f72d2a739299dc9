"""The order-line state machine (diagram: docs/lifecycle.md).

A line's status is a pure function of its quantities, and every quantity
change goes through `line_apply`, which checks that the transition is allowed.
The order's status is derived from its lines and its ship policy. Nothing else
sets a status.

Quantity moves (n units each):

    allocate   backordered -> allocated    stock arrived or was free at checkout
    deallocate allocated   -> backordered  staff released the units
    ship       allocated   -> shipped      a shipment left the warehouse
    cancel     backordered -> cancelled    customer or staff cancelled waiting units
"""

from dataclasses import dataclass

from .models import LineStatus, OrderLine, OrderStatus, ShipPolicy


class TransitionError(ValueError):
    """A quantity move the line's current quantities do not allow."""


def line_status(*, quantity: int, allocated: int, backordered: int, shipped: int, cancelled: int) -> str:
    if cancelled == quantity:
        return LineStatus.CANCELLED
    if shipped and shipped == quantity - cancelled:
        return LineStatus.SHIPPED
    if shipped:
        return LineStatus.PARTIALLY_SHIPPED
    if allocated and not backordered:
        return LineStatus.ALLOCATED
    if allocated:
        return LineStatus.PARTIALLY_ALLOCATED
    return LineStatus.BACKORDERED


@dataclass(frozen=True)
class Move:
    allocate: int = 0
    deallocate: int = 0
    ship: int = 0
    cancel: int = 0


def line_apply(line: OrderLine, move: Move) -> str:
    """Apply a quantity move to `line` in memory and return its new status.

    Raises TransitionError, leaving the line unchanged, when the move would take
    more units than are in the state they move from.
    """
    allocated, backordered = line.quantity_allocated, line.quantity_backordered
    if min(move.allocate, move.deallocate, move.ship, move.cancel) < 0:
        raise TransitionError("quantities moved must not be negative")
    if move.allocate > backordered:
        raise TransitionError(f"{line.sku}: cannot allocate {move.allocate}, only {backordered} waiting")
    backordered -= move.allocate
    allocated += move.allocate
    if move.deallocate > allocated:
        raise TransitionError(f"{line.sku}: cannot release {move.deallocate}, only {allocated} allocated")
    allocated -= move.deallocate
    backordered += move.deallocate
    if move.ship > allocated:
        raise TransitionError(f"{line.sku}: cannot ship {move.ship}, only {allocated} allocated")
    allocated -= move.ship
    if move.cancel > backordered:
        raise TransitionError(
            f"{line.sku}: cannot cancel {move.cancel}, only {backordered} still waiting (allocated or shipped "
            "units cannot be cancelled here)"
        )
    backordered -= move.cancel
    line.quantity_allocated = allocated
    line.quantity_backordered = backordered
    line.quantity_shipped += move.ship
    line.quantity_cancelled += move.cancel
    line.status = line_status(
        quantity=line.quantity,
        allocated=line.quantity_allocated,
        backordered=line.quantity_backordered,
        shipped=line.quantity_shipped,
        cancelled=line.quantity_cancelled,
    )
    return line.status


def order_status(lines: list[OrderLine], *, ship_policy: str) -> str:
    """The order's status from its lines.

    "Ship everything together" orders are ready only when every open unit is
    allocated; until then they wait, whatever part is already allocated.
    """
    open_lines = [line for line in lines if line.status != LineStatus.CANCELLED]
    if not open_lines:
        return OrderStatus.CANCELLED
    allocated = sum(line.quantity_allocated for line in open_lines)
    backordered = sum(line.quantity_backordered for line in open_lines)
    shipped = sum(line.quantity_shipped for line in open_lines)
    if not allocated and not backordered:
        return OrderStatus.SHIPPED
    if shipped:
        return OrderStatus.PARTIALLY_SHIPPED
    if not backordered:
        return OrderStatus.READY
    if allocated and ship_policy == ShipPolicy.SPLIT:
        return OrderStatus.PARTIALLY_READY
    return OrderStatus.WAITING


def shippable_quantities(lines: list[OrderLine], *, ship_policy: str) -> dict[int, int]:
    """{line id: units to ship now} under the ship policy; empty when nothing may ship yet."""
    if ship_policy == ShipPolicy.TOGETHER and any(line.quantity_backordered for line in lines):
        return {}
    return {line.pk: line.quantity_allocated for line in lines if line.quantity_allocated}
