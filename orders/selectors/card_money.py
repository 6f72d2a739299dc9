"""The card money rule's arithmetic (orders/services/cards.py; docs/payments.md): what a card
order's open units need held, and what each plan keeps for units still waiting. Reads only; the
services that move money and `payments_reconcile` both ask here, so the rule is written once."""

from decimal import ROUND_HALF_UP, Decimal

from ..models import Order, OrderLine, PaymentPlan, Shipment
from .quote import CENT

ZERO = Decimal("0")


def deposit_of(amount: Decimal, percent: int) -> Decimal:
    """A deposit's share of a price, to the cent (half up)."""
    return (amount * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def waiting_reserve(
    line: OrderLine, plan: str, deposit_percent: int = 0, *, waiting: int | None = None
) -> Decimal:
    """What the payment keeps for a line's waiting units: their price (pay now), their deposit
    (deposit), nothing (pay when it ships). `waiting`: that many waiting units instead of the
    line's own (the allocation pass asks how much a line kept before it served it)."""
    if waiting is None:
        waiting = line.quantity_backordered
    start = line.quantity - line.quantity_cancelled - waiting  # waiting units are the line's last open ones
    if plan == PaymentPlan.NOW:
        return line.price_of_units(start, waiting)
    if plan == PaymentPlan.DEPOSIT:
        return deposit_of(line.price_of_units(start, waiting), deposit_percent)
    return ZERO


def card_needed(order: Order, lines: list[OrderLine], plan: str, deposit_percent: int = 0) -> Decimal:
    """What the order's open units need held now (the module's money rule)."""
    needed = ZERO
    for line in lines:
        needed += line.price_of_units(line.quantity_shipped, line.quantity_allocated)
        needed += waiting_reserve(line, plan, deposit_percent)
    open_units = any(line.quantity_allocated or line.quantity_backordered for line in lines)
    if open_units and not Shipment.objects.filter(order_id=order.pk).exists():
        needed += order.shipping_cost
    return needed
