"""One item over the coming weeks (chart 3): incoming purchase orders, on hand and backorders still
waiting, and which item to show when none is asked for."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Sum

from inventory.models import StockItem
from inventory.projection import ordered_incoming
from inventory.selectors import availability_for_variants
from orders.models import OrderLine
from shop.models import Variant

from .base import zero_if_null


@dataclass(frozen=True)
class ProjectionWeek:
    week_start: date
    week_end: date
    incoming: int  # units of open purchase orders counted on arriving this week
    on_hand: int  # at the end of the week: on hand now + everything arrived so far
    waiting: int  # backordered units still waiting at the end of the week
    free: int  # on hand not promised to anyone, once the queue is served


@dataclass(frozen=True)
class VariantProjection:
    variant: Variant
    on_hand: int
    free: int
    waiting: int
    lead_time_days: int
    weeks: list[ProjectionWeek]
    beyond: int  # incoming units counted on after the last week shown
    undated: int  # incoming units of open purchase orders without a date (promise nothing)


def projection_variant_default() -> int | None:
    """The variant with the most units waiting (ties: lowest id); None when nobody waits. One query."""
    row = (
        OrderLine.objects.waiting()
        .values("variant_id")
        .annotate(units=Sum("quantity_backordered"))
        .order_by("-units", "variant_id")
        .values_list("variant_id", flat=True)
        .first()
    )
    return row


def variant_projection(*, variant_id: int, today: date, weeks: int = 8) -> VariantProjection | None:
    """On hand, incoming purchase orders and waiting backorders of one variant over the coming weeks.

    Uses the availability answer (free stock, waiting units, open purchase
    orders) and the projection's effective arrival dates (an overdue purchase
    order is counted on today + the grace days). Arriving units serve the queue
    first; new orders are not forecast here. Four queries.
    """
    variant = Variant.objects.select_related("product").filter(pk=variant_id).first()
    if variant is None:
        return None
    a = availability_for_variants(variant_ids=[variant_id], today=today)[variant_id]
    on_hand = zero_if_null(Sum("on_hand"))
    on_hand_now = StockItem.objects.filter(variant_id=variant_id, warehouse__is_active=True).aggregate(
        n=on_hand
    )["n"]
    arrivals = ordered_incoming(
        a.incoming, today=today, overdue_grace_days=a.overdue_grace_days, calendar=a.calendar
    )
    undated = sum(inc.quantity for inc in a.incoming if inc.expected_date is None)
    monday = today - timedelta(days=today.weekday())
    rows, arrived = [], 0
    for k in range(weeks):
        start = monday + timedelta(weeks=k)
        end = start + timedelta(days=6)
        incoming = sum(q for when, q in arrivals if start <= when <= end)
        arrived += incoming
        supply = a.free_stock + arrived
        rows.append(
            ProjectionWeek(
                week_start=start,
                week_end=end,
                incoming=incoming,
                on_hand=on_hand_now + arrived,
                waiting=max(a.waiting_backorders - supply, 0),
                free=max(supply - a.waiting_backorders, 0),
            )
        )
    last = rows[-1].week_end if rows else today
    return VariantProjection(
        variant=variant,
        on_hand=on_hand_now,
        free=a.free_stock,
        waiting=a.waiting_backorders,
        lead_time_days=a.lead_time_days,
        weeks=rows,
        beyond=sum(q for when, q in arrivals if when > last),
        undated=undated,
    )
