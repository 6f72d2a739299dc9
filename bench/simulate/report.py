"""What the simulated shop promised and what happened: read back from the database, then measured.

`outcomes_read` and `emails_read` only read (a few queries); `figures_compute` is pure arithmetic on
what they return, so the same numbers come from the same run whatever the database.

Definitions (docs/dates.md, "Measuring the promises"):

- a *backordered line* had units waiting when its order was placed
  (`quantity_backordered_at_placement > 0`);
- the *first date shown* is the line's `first_promised_date`, recorded at checkout by `order_place`;
  the *naive date* is the placement day + the variant's lead time (the old rule);
- the line *shipped* on the day of the shipment that carried its last unit;
- *shipped by* a date: shipped on or before it; a line still waiting at the end counts as a miss
  when its date has passed, and is left out when it has not;
- the *error* is the number of shipping days (inventory.calendar) between the date and the day it
  shipped, whichever came first; lines still waiting at the end have none;
- a *delay email* is an outbox row of kind `order_delayed`; it *repeats* when every slip it names
  (a line and the date told before) was named by an earlier email of its order; a slip it names is a
  *false alarm* when the line then shipped by the date told before (the confident date held).
"""

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from bench.core import Figure

NAME = "simulate"


@dataclass(frozen=True)
class LineOutcome:
    order_id: int
    placed: date
    first_shown: date
    naive: date
    shipped: date | None
    habit: str


@dataclass(frozen=True)
class DelayEmail:
    order_id: int
    sent: date
    slips: tuple[tuple[int, date], ...]  # (line id, the date told before)


def outcomes_read(
    *, habit_of_variant: dict[int, str], ship_dates: dict[int, date | None]
) -> list[LineOutcome]:
    """Every backordered line: placed, the two dates, shipped (`ship_dates`: `ship_dates_read()`)."""
    from django.utils import timezone

    from orders.models import OrderLine

    lines = (
        OrderLine.objects.filter(quantity_backordered_at_placement__gt=0)
        .select_related("order", "variant__backorder_policy")
        .order_by("pk")
    )
    outcomes = []
    for line in lines:
        placed = timezone.localtime(line.order.placed_at).date()
        outcomes.append(
            LineOutcome(
                order_id=line.order_id,
                placed=placed,
                first_shown=line.first_promised_date,
                naive=placed + timedelta(days=line.variant.backorder_policy.lead_time_days),
                shipped=ship_dates.get(line.pk),
                habit=habit_of_variant.get(line.variant_id, ""),
            )
        )
    return outcomes


def emails_read() -> tuple[list[DelayEmail], int]:
    """The delay emails, in the order they were written, and how many name no sent notice."""
    from django.utils import timezone

    from notifications.models import Notification, NotificationKind
    from orders.models import DelayNotice, DelayNoticeStatus, LineDelay

    rows = list(
        Notification.objects.filter(kind=NotificationKind.ORDER_DELAYED)
        .order_by("created_at", "pk")
        .values_list("pk", "created_at")
    )
    notices = {
        n.notification_id: n
        for n in DelayNotice.objects.filter(status=DelayNoticeStatus.SENT, notification__isnull=False)
    }
    slips = defaultdict(list)
    for notice_id, line_id, old in (
        LineDelay.objects.filter(notice__status=DelayNoticeStatus.SENT, status=DelayNoticeStatus.SENT)
        .order_by("line_id")
        .values_list("notice_id", "line_id", "old_date")
    ):
        slips[notice_id].append((line_id, old))
    emails, orphans = [], 0
    for pk, created in rows:
        notice = notices.get(pk)
        if notice is None:
            orphans += 1
            continue
        emails.append(
            DelayEmail(notice.order_id, timezone.localtime(created).date(), tuple(slips[notice.pk]))
        )
    return emails, orphans


def working_days_between(is_shipping_day, a: date, b: date) -> int:
    """Shipping days after the earlier date up to and including the later one (0 when equal)."""
    lo, hi = min(a, b), max(a, b)
    return sum(1 for n in range(1, (hi - lo).days + 1) if is_shipping_day(lo + timedelta(days=n)))


def nearest_rank(values: list[int], p: int) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)), 1) - 1]


def _promise_figures(outcomes: list[LineOutcome], when, *, end: date, is_shipping_day) -> dict:
    decided = [o for o in outcomes if o.shipped is not None or when(o) < end]
    kept = [o for o in decided if o.shipped is not None and o.shipped <= when(o)]
    errors = [working_days_between(is_shipping_day, when(o), o.shipped) for o in outcomes if o.shipped]
    return {
        "lines": len(decided),
        "shipped_by_date_pct": round(100 * len(kept) / len(decided), 1) if decided else 0.0,
        "error_median_days": statistics.median(errors) if errors else 0,
        "error_p90_days": nearest_rank(errors, 90) or 0,
        "late_lines": sum(1 for o in outcomes if o.shipped and o.shipped > when(o)),
        "early_lines": sum(1 for o in outcomes if o.shipped and o.shipped < when(o)),
    }


def _ratio(shop: float, naive: float) -> float:
    """shop ÷ naive, 0 when both are 0; a shop figure against a perfect naive one counts as 99."""
    if naive == 0:
        return 0.0 if shop == 0 else 99.0
    return round(shop / naive, 2)


def figures_compute(
    outcomes: list[LineOutcome], emails: list[DelayEmail], orphans: int, *, end: date, is_shipping_day
) -> dict:
    """Every figure of the run, as plain numbers (JSON-ready)."""
    shown = _promise_figures(outcomes, lambda o: o.first_shown, end=end, is_shipping_day=is_shipping_day)
    naive = _promise_figures(outcomes, lambda o: o.naive, end=end, is_shipping_day=is_shipping_day)
    told = defaultdict(set)
    repeats = 0
    per_order = defaultdict(int)
    for email in emails:
        per_order[email.order_id] += 1
        new = {s for s in email.slips if s not in told[email.order_id]}
        if not new:
            repeats += 1
        told[email.order_id] |= set(email.slips)
    backordered_orders = {o.order_id for o in outcomes}
    by_habit = {}
    for habit in sorted({o.habit for o in outcomes}):
        group = [o for o in outcomes if o.habit == habit]
        by_habit[habit] = {
            "first_date": _promise_figures(
                group, lambda o: o.first_shown, end=end, is_shipping_day=is_shipping_day
            ),
            "naive": _promise_figures(group, lambda o: o.naive, end=end, is_shipping_day=is_shipping_day),
        }
    return {
        "backordered_lines": len(outcomes),
        "backordered_orders": len(backordered_orders),
        "still_waiting_at_end": sum(1 for o in outcomes if o.shipped is None),
        "first_date": shown,
        "naive": naive,
        "miss_ratio_vs_naive": _ratio(100 - shown["shipped_by_date_pct"], 100 - naive["shipped_by_date_pct"]),
        "median_error_ratio_vs_naive": _ratio(shown["error_median_days"], naive["error_median_days"]),
        "delay_emails": len(emails) + orphans,
        "delay_emails_per_backordered_order": round((len(emails) + orphans) / len(backordered_orders), 3)
        if backordered_orders
        else 0.0,
        "delay_emails_max_per_order": max(per_order.values(), default=0),
        "delay_emails_repeating_a_slip": repeats,
        "delay_emails_without_a_slip": orphans + sum(1 for e in emails if not e.slips),
        "by_supplier_habit": by_habit,
    }


def false_alarms(emails: list[DelayEmail], ship_dates: dict[int, date | None], *, end: date) -> int:
    """Slips named in delay emails whose line shipped by the date told before (the date held)."""
    count = 0
    for email in emails:
        for line_id, old in email.slips:
            shipped = ship_dates.get(line_id)
            if shipped is not None and shipped <= old:
                count += 1
    return count


def ship_dates_read() -> dict[int, date | None]:
    """Every order line's ship day (its last unit's shipment), None while units are not shipped."""
    from django.db.models import Max
    from django.utils import timezone

    from orders.models import OrderLine, ShipmentLine

    last = dict(
        ShipmentLine.objects.values("order_line_id")
        .annotate(last=Max("shipment__created_at"))
        .values_list("order_line_id", "last")
    )
    return {
        pk: (timezone.localtime(last[pk]).date() if shipped == quantity and pk in last else None)
        for pk, shipped, quantity in OrderLine.objects.values_list("pk", "quantity_shipped", "quantity")
    }


def figure_rows(figures: dict) -> list[Figure]:
    """The table's rows: each target of issue 18 with ok/MISSED, and the figures beside them."""
    shown, naive = figures["first_date"], figures["naive"]
    return [
        Figure(NAME, "backordered lines", figures["backordered_lines"], "lines"),
        Figure(NAME, "still waiting at the end", figures["still_waiting_at_end"], "lines"),
        Figure.check(NAME, "shipped by the first date shown", shown["shipped_by_date_pct"], "%", at_least=90),
        Figure(NAME, "shipped by the naive date", naive["shipped_by_date_pct"], "%"),
        Figure.check(NAME, "first date: median error", shown["error_median_days"], "working days", at_most=2),
        Figure(NAME, "first date: 90th percentile error", shown["error_p90_days"], "working days"),
        Figure(NAME, "naive date: median error", naive["error_median_days"], "working days"),
        Figure(NAME, "naive date: 90th percentile error", naive["error_p90_days"], "working days"),
        Figure.check(
            NAME, "misses, first date ÷ naive", figures["miss_ratio_vs_naive"], "ratio", at_most=0.5
        ),
        Figure.check(
            NAME,
            "median error, first date ÷ naive",
            figures["median_error_ratio_vs_naive"],
            "ratio",
            at_most=0.5,
        ),
        Figure(
            NAME,
            "delay emails per backordered order",
            figures["delay_emails_per_backordered_order"],
            "emails",
        ),
        Figure(NAME, "delay emails, most for one order", figures["delay_emails_max_per_order"], "emails"),
        Figure.check(
            NAME,
            "delay emails repeating a slip",
            figures["delay_emails_repeating_a_slip"],
            "emails",
            at_most=0,
        ),
        Figure.check(
            NAME, "delay emails with no slip", figures["delay_emails_without_a_slip"], "emails", at_most=0
        ),
        Figure.check(NAME, "slips emailed whose date held", figures["false_alarms"], "slips", at_most=0),
    ]
