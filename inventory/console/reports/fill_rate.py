"""The fill rate: units delivered on time ÷ units promised, over the promises due in the last 30 days."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import ExpressionWrapper, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Greatest, Least

from orders.models import OrderLine, ShipmentLine

from .base import local_midnight, zero_if_null

FILL_RATE_WINDOW_DAYS = 30


@dataclass(frozen=True)
class FillRate:
    start: date
    end: date
    units_promised: int
    units_on_time: int

    @property
    def percent(self) -> Decimal | None:
        if not self.units_promised:
            return None
        value = Decimal(100 * self.units_on_time) / Decimal(self.units_promised)
        return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def fill_rate(*, today: date, days: int = FILL_RATE_WINDOW_DAYS) -> FillRate:
    """Units delivered on time ÷ units promised, for promises that fell due in the last `days` days.

    A line's units in stock at checkout were promised "now" (due the day the order
    was placed) and count as on time: they were allocated at once. Its units
    backordered at checkout were promised for `first_promised_date`; they count as
    on time when they shipped on or before that day (shop time). Shipments take
    a line's units from its start, so the in-stock units are the first to ship:
    on-time backordered units = shipped by the due day − units in stock at
    checkout, between 0 and the units backordered. Cancelled units were promised
    and not delivered. One query.
    """
    start = today - timedelta(days=days - 1)
    shipped_by_due = zero_if_null(
        Subquery(
            ShipmentLine.objects.filter(
                order_line=OuterRef("pk"), shipment__created_at__date__lte=OuterRef("first_promised_date")
            )
            .order_by()
            .values("order_line")
            .annotate(total=Sum("quantity"))
            .values("total")
        )
    )
    in_stock_units = F("quantity") - F("quantity_backordered_at_placement")
    placed_in_window = Q(
        order__placed_at__gte=local_midnight(start),
        order__placed_at__lt=local_midnight(today + timedelta(days=1)),
    )
    due_in_window = Q(
        quantity_backordered_at_placement__gt=0,
        first_promised_date__gte=start,
        first_promised_date__lte=today,
    )
    row = (
        OrderLine.objects.filter(placed_in_window | due_in_window)
        .annotate(
            _in_stock=ExpressionWrapper(in_stock_units, output_field=IntegerField()),
            _on_time_bo=Greatest(
                Value(0),
                Least(F("quantity_backordered_at_placement"), shipped_by_due - in_stock_units),
                output_field=IntegerField(),
            ),
        )
        .aggregate(
            in_stock=zero_if_null(Sum("_in_stock", filter=placed_in_window)),
            backordered=zero_if_null(Sum("quantity_backordered_at_placement", filter=due_in_window)),
            on_time_bo=zero_if_null(Sum("_on_time_bo", filter=due_in_window)),
        )
    )
    return FillRate(
        start=start,
        end=today,
        units_promised=row["in_stock"] + row["backordered"],
        units_on_time=row["in_stock"] + row["on_time_bo"],
    )
