"""Backorders waiting: the dashboard's figures and age buckets (now), and the units waiting at the end
of each of the last weeks (chart 2)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from inventory.models import MovementReason, StockMovement
from orders.models import OrderEvent, OrderEventKind, OrderLine

from .base import local_midnight, zero_if_null

# (label, lowest age in whole days, highest age or None): ages are days since the order was placed.
AGE_BUCKETS = [
    ("Under 1 week", 0, 6),
    ("1–2 weeks", 7, 13),
    ("2–4 weeks", 14, 27),
    ("4–8 weeks", 28, 55),
    ("8 weeks or more", 56, None),
]


@dataclass(frozen=True)
class AgeBucket:
    label: str
    lines: int
    units: int


@dataclass(frozen=True)
class BackorderFigures:
    lines: int
    units: int
    customers: int
    oldest_placed_at: datetime | None
    oldest_wait_days: int | None
    overdue_lines: int
    age_buckets: list[AgeBucket]


def backorder_figures(*, today: date) -> BackorderFigures:
    """Open backorder lines (units still waiting), their customers, ages and overdue count: one query."""
    aggregates = {
        "lines": Count("pk"),
        "units": zero_if_null(Sum("quantity_backordered")),
        "customers": Count("order__email", distinct=True),
        "oldest": Min("order__placed_at"),
        "overdue": Count("pk", filter=Q(expected_date__lt=today)),
    }
    for n, (_, low, high) in enumerate(AGE_BUCKETS):
        # Age d days <=> placed on local day today - d: placed before the end of day (today - low)
        # and, when the bucket has an upper end, from the start of day (today - high).
        placed = Q(order__placed_at__lt=local_midnight(today - timedelta(days=low - 1)))
        if high is not None:
            placed &= Q(order__placed_at__gte=local_midnight(today - timedelta(days=high)))
        aggregates[f"lines_{n}"] = Count("pk", filter=placed)
        aggregates[f"units_{n}"] = zero_if_null(Sum("quantity_backordered", filter=placed))
    row = OrderLine.objects.waiting().aggregate(**aggregates)
    oldest = row["oldest"]
    return BackorderFigures(
        lines=row["lines"],
        units=row["units"],
        customers=row["customers"],
        oldest_placed_at=oldest,
        oldest_wait_days=(today - timezone.localdate(oldest)).days if oldest else None,
        overdue_lines=row["overdue"],
        age_buckets=[
            AgeBucket(label=label, lines=row[f"lines_{n}"], units=row[f"units_{n}"])
            for n, (label, _, _) in enumerate(AGE_BUCKETS)
        ],
    )


@dataclass(frozen=True)
class WeekPoint:
    week_start: date  # Monday
    at: datetime  # the instant measured: the end of the week, or now for the current week
    units: int


def units_waiting_by_week(*, now: datetime, units_now: int, weeks: int = 12) -> list[WeekPoint]:
    """Units waiting on backorder at the end of each of the last `weeks` weeks (the current one: now).

    Walks back from the units waiting now (`units_now`, as the dashboard counted
    them): units waiting at instant t = units waiting now − units ordered after t
    + units allocated to order lines after t (ledger movements "allocated" minus
    "deallocated") + units cancelled after t (the "Items cancelled" events).
    Units allocated at checkout cancel out with the units ordered, so only units
    that really waited are counted. Three queries.
    """
    today = timezone.localdate(now)
    monday = today - timedelta(days=today.weekday())
    starts = [monday - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    # The instants measured: the end of each past week (next Monday 00:00), and now.
    instants = [local_midnight(s + timedelta(days=7)) for s in starts[:-1]] + [now]
    past = instants[:-1]
    if not past:
        return [WeekPoint(week_start=starts[0], at=now, units=units_now)]
    earliest = past[0]

    ordered = OrderLine.objects.filter(order__placed_at__gt=earliest, order__placed_at__lte=now).aggregate(
        **{
            f"t{k}": zero_if_null(Sum("quantity", filter=Q(order__placed_at__gt=t)))
            for k, t in enumerate(past)
        }
    )
    # Units allocated to (or released from) order lines. Auto-allocation writes one movement per
    # stock item and batch, without a line, so the reason alone says what these are.
    allocated = StockMovement.objects.filter(
        reason__in=[MovementReason.ALLOCATED, MovementReason.DEALLOCATED],
        created_at__gt=earliest,
        created_at__lte=now,
    ).aggregate(
        **{
            f"t{k}": zero_if_null(Sum("allocated_delta", filter=Q(created_at__gt=t)))
            for k, t in enumerate(past)
        }
    )
    cancelled = [0] * len(past)
    events = OrderEvent.objects.filter(
        kind=OrderEventKind.CANCELLED, created_at__gt=earliest, created_at__lte=now
    ).values_list("created_at", "data")
    for created_at, data in events.iterator(chunk_size=2000):
        n = sum(int(q) for q in (data or {}).get("lines", {}).values())
        for k, t in enumerate(past):
            if created_at > t:
                cancelled[k] += n

    points = []
    for k, (start, at) in enumerate(zip(starts, instants, strict=True)):
        if k == len(past):
            units = units_now
        else:
            units = units_now - ordered[f"t{k}"] + allocated[f"t{k}"] + cancelled[k]
        points.append(WeekPoint(week_start=start, at=at, units=units))
    return points
