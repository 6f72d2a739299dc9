"""The VAT in an order as placed (docs/tax.md), for its page and its confirmation email.

From the lines' stored rates and totals and the order's shipping, with no query (the caller's
lines): per rate, the goods and their share of the shipping (`tax.rules.vat_breakdown`), or why
there is none (reverse charge, export). The legal split is the invoice's, per shipment at its tax
point (invoices/); this is what the customer was told at checkout.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from tax.rules import VatGroup, is_eu, vat_breakdown

from ..models import Order, OrderLine


@dataclass(frozen=True)
class OrderVat:
    groups: list[VatGroup] = field(default_factory=list)  # rates above 0, highest first
    reverse_charge: bool = False
    export: bool = False


def order_vat(*, order: Order, lines: list[OrderLine]) -> OrderVat:
    """The VAT included in what the order costs: one group per rate above 0.

    Cancelled units are left out (a cancellation takes a line's last units: `OrderLine.price_of_units`),
    and so is the shipping once every unit is cancelled (it was released with the last ones), so the
    VAT shown is the VAT in the amount the page says is to pay, as in orders.selectors.amounts."""
    goods_by_rate: dict[Decimal, Decimal] = {}
    for line in lines:
        kept = line.quantity - line.quantity_cancelled
        if kept:
            price = line.price_of_units(0, kept)
            goods_by_rate[line.tax_rate] = goods_by_rate.get(line.tax_rate, Decimal("0")) + price
    groups = vat_breakdown(goods_by_rate=goods_by_rate, shipping_gross=order.shipping_cost)
    return OrderVat(
        groups=[group for group in groups if group.rate],
        reverse_charge=order.reverse_charge,
        export=not order.reverse_charge and bool(order.country) and not is_eu(order.country),
    )
