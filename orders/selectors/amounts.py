"""An order's money as staff must count it: what was ordered, cancelled, captured and is still to come.

`Order.total` is the total at placement and never changes: after a cancellation it over-counts. These
amounts come from the lines' frozen prices and the payment's gateway calls, as SQL annotations, so a
list of orders answers in the one query that lists them:

- ordered: `Order.total` (the goods at their prices when ordered, discounts and shipping included);
- cancelled: the price of the cancelled units (a cancellation takes the last units of a line, those sold
  at the backorder price: `orders.services.cancellation`), plus the shipping charge of an order cancelled
  before anything shipped (it was released with the last units);
- captured: the successful captures (each shipment captures its goods; the first also the shipping);
- outstanding: ordered − cancelled − captured, what is still to be charged when the rest ships.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least, Round

from ..models import Order, OrderLine, OrderStatus, PaymentTransaction, Shipment, TransactionKind

MONEY = DecimalField(max_digits=12, decimal_places=2)
ZERO = Value(Decimal("0.00"), output_field=MONEY)


def _sum_per_order(queryset: QuerySet, expression, *, fk: str) -> Coalesce:
    """A correlated subquery summing `expression` over the rows of `queryset` of each order (0 if none)."""
    rows = (
        queryset.filter(**{fk: OuterRef("pk")})
        .order_by()
        .values(fk)
        .annotate(total=Sum(expression, output_field=MONEY))
        .values("total")
    )
    return Coalesce(Subquery(rows, output_field=MONEY), ZERO, output_field=MONEY)


def _cancelled_goods():
    """Price of a line's cancelled units: its last units, of which those sold at the backorder price come
    first (quantity_at_backorder_price of them at most), the rest at the unit price."""
    discounted = Least(F("quantity_cancelled"), F("quantity_at_backorder_price"))
    return ExpressionWrapper(
        F("backorder_unit_price") * discounted + F("unit_price") * (F("quantity_cancelled") - discounted),
        output_field=MONEY,
    )


def orders_with_amounts(queryset: QuerySet[Order] | None = None) -> QuerySet[Order]:
    """Orders annotated with `amount_cancelled`, `amount_captured` and `amount_outstanding` (see the module).

    Subqueries, not sums over joins: the admin's search by SKU joins the lines as well."""
    queryset = Order.objects.all() if queryset is None else queryset
    cancelled_goods = _sum_per_order(
        OrderLine.objects.filter(quantity_cancelled__gt=0), _cancelled_goods(), fk="order"
    )
    shipping_released = Case(
        When(
            Exists(Shipment.objects.filter(order=OuterRef("pk"))),
            then=ZERO,
        ),
        When(status=OrderStatus.CANCELLED, then=F("shipping_cost")),
        default=ZERO,
        output_field=MONEY,
    )
    captured = _sum_per_order(
        PaymentTransaction.objects.filter(kind=TransactionKind.CAPTURE, success=True),
        F("amount"),
        fk="payment__order",
    )
    # Rounded to the cent in SQL: SQLite sums decimals as floats (0.1 + 0.2), PostgreSQL is exact anyway.
    return queryset.annotate(
        amount_cancelled=Round(cancelled_goods + shipping_released, 2, output_field=MONEY),
        amount_captured=Round(captured, 2, output_field=MONEY),
    ).annotate(
        amount_outstanding=Round(
            F("total") - F("amount_cancelled") - F("amount_captured"), 2, output_field=MONEY
        ),
    )


@dataclass(frozen=True)
class OrderAmounts:
    currency: str
    ordered: Decimal
    cancelled: Decimal
    captured: Decimal
    outstanding: Decimal


def order_amounts(order: Order) -> OrderAmounts:
    """The amounts of an order read through `orders_with_amounts` (one query unless it was read so)."""
    if not hasattr(order, "amount_outstanding"):
        order = orders_with_amounts(Order.objects.filter(pk=order.pk)).get()
    return OrderAmounts(
        currency=order.currency,
        ordered=order.total,
        cancelled=order.amount_cancelled,
        captured=order.amount_captured,
        outstanding=order.amount_outstanding,
    )
