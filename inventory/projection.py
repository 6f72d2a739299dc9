"""The backorder queue projection: when will the N-th waiting unit ship?

Pure functions, no database: the availability selector feeds them the numbers,
the shipping calendar (`inventory.calendar`) and each supplier's habits, so
every date the shop shows comes from this one place. docs/dates.md says the
rules in words.

The queue is served in order. Units already waiting on backorder are ahead of
any new backorder; free stock serves the queue first, then open purchase
orders in order of the day they are counted on. A new backorder's date is the
first shipping day on or after the arrival of the purchase order that covers
its *last* unit after everyone ahead of it. When no purchase order covers it,
the date is today + the variant's lead time + its supplier's lateness (never
earlier than the last purchase order counted on; units a short delivery is
expected to leave out are ordered again when it arrives, so theirs counts
from that day).

Every date comes as a range: the *earliest* date counts each delivery late by
its supplier's median lateness (p50) and as full as its median delivery; the
*confident* date ("we are 90% sure by") by its 90th percentile lateness (p90)
and as full as 9 in 10 of its deliveries. A delivery already overdue counts on
what the supplier's history says of deliveries at least that late. The
confident end is the promise recorded on an order line.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from .calendar import ShippingCalendar

# "stated": the suppliers' own dates (an overdue delivery: today), no lateness, every unit: the facts
# alone, which the delay check holds a promise to.
Confidence = Literal["earliest", "confident", "stated"]
PERCENT = {"earliest": 50, "confident": 90}


def nearest_rank(values: Sequence[int | float], percent: int):
    """The nearest-rank percentile of a non-empty list: the value at position ceil(p/100 × n), sorted."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent * len(ordered) / 100)) - 1]


@dataclass(frozen=True)
class Incoming:
    """Units still to arrive on one open purchase-order line, and what its supplier's history says.

    Lateness, in calendar days after `expected_date`: the supplier's observed
    samples (`late_samples`, each 0 or more) once it has enough of them, else the
    fixed `late_p50_days` and `late_p90_days` (the shop's defaults). Fill: the
    units counted on at each end (None: all of `quantity`).
    """

    purchase_order_id: int
    expected_date: date | None
    quantity: int
    late_p50_days: int = 0  # used when there are no samples
    late_p90_days: int = 0
    late_samples: tuple[int, ...] = ()
    counted_earliest: int | None = None  # units its median delivery brings
    counted_confident: int | None = None  # units 9 in 10 of its deliveries bring at least

    def late_days(self, confidence: Confidence, *, overdue_by: int = 0) -> int | None:
        """Days late to count on, among deliveries at least `overdue_by` days late (the date passed
        that many days ago and nothing came). None: the history says nothing of deliveries that late.
        "stated": the supplier's own date, or today once it has passed (it may come any moment)."""
        if confidence == "stated":
            return overdue_by
        if self.late_samples:
            later = [d for d in self.late_samples if d >= overdue_by]
            return nearest_rank(later, PERCENT[confidence]) if later else None
        days = self.late_p90_days if confidence == "confident" else self.late_p50_days
        days = max(days, self.late_p50_days)  # a p90 is never below the p50
        return days if days >= overdue_by else None

    def counted(self, confidence: Confidence) -> int:
        """Units of `quantity` counted on at this end of the range."""
        if confidence == "stated":
            return self.quantity
        counted = self.counted_confident if confidence == "confident" else self.counted_earliest
        return self.quantity if counted is None else max(0, min(counted, self.quantity))


@dataclass(frozen=True)
class DateRange:
    """When something ships: the earliest date and the date we are 90% sure of (both shipping days)."""

    earliest: date
    confident: date


def effective_arrival(
    *,
    expected: date | None,
    today: date,
    overdue_grace_days: int,
    calendar: ShippingCalendar,
    late_days: int | None = 0,
) -> date | None:
    """The shipping day we may honestly count on for a delivery expected on `expected`.

    The delivery is counted `late_days` late (its supplier's habit), and goods
    arriving on a day ship on the next shipping day on or after it. An overdue
    purchase order (its date has passed, the goods have not come) is still
    coming: `late_days` is then what the supplier's deliveries at least that
    late took, or None when its history says nothing of them, and the shop
    counts on `overdue_grace_days` shipping days from today. No date, no promise.
    """
    if expected is None:
        return None
    if expected < today and late_days is None:
        return calendar.add_shipping_days(today, overdue_grace_days)
    return calendar.next_shipping_day(max(expected + timedelta(days=late_days or 0), today))


def arrival_counted_on(
    inc: Incoming, *, today: date, overdue_grace_days: int, calendar: ShippingCalendar, confidence: Confidence
) -> date | None:
    """The shipping day one purchase-order line is counted on at one end of the range."""
    overdue_by = (today - inc.expected_date).days if inc.expected_date is not None else 0
    return effective_arrival(
        expected=inc.expected_date,
        today=today,
        overdue_grace_days=overdue_grace_days,
        calendar=calendar,
        late_days=inc.late_days(confidence, overdue_by=max(overdue_by, 0)),
    )


def ordered_incoming(
    incoming: Sequence[Incoming],
    *,
    today: date,
    overdue_grace_days: int,
    calendar: ShippingCalendar,
    confidence: Confidence = "confident",
) -> list[tuple[date, int]]:
    """(shipping day counted on, units counted on) pairs in the order the queue will be served from them."""
    return [
        (when, counted)
        for when, _po, counted, _qty in _dated(incoming, today, overdue_grace_days, calendar, confidence)
    ]


def _dated(
    incoming: Sequence[Incoming],
    today: date,
    overdue_grace_days: int,
    calendar: ShippingCalendar,
    confidence: Confidence,
) -> list[tuple[date, int, int, int]]:
    """(day counted on, purchase order, units counted on, units outstanding), in serving order."""
    dated = []
    for inc in incoming:
        when = arrival_counted_on(
            inc, today=today, overdue_grace_days=overdue_grace_days, calendar=calendar, confidence=confidence
        )
        if when is not None and inc.quantity > 0:
            dated.append((when, inc.purchase_order_id, inc.counted(confidence), inc.quantity))
    dated.sort()
    return dated


def project_ready_date(
    *,
    units_ahead: int,
    quantity: int,
    free_now: int,
    incoming: Sequence[Incoming],
    today: date,
    lead_time_days: int,
    overdue_grace_days: int,
    calendar: ShippingCalendar,
    confidence: Confidence = "confident",
    lead_time_late_days: tuple[int, int] = (0, 0),
) -> date:
    """The shipping day by which all `quantity` units, queued behind `units_ahead` units, can ship.

    `lead_time_late_days` is (p50, p90) of the variant's supplier: a lead-time
    date is counted that late at the earliest and at the confident end.
    """
    needed = units_ahead + quantity
    supply = free_now
    if supply >= needed:
        return calendar.next_shipping_day(today)
    last = reorder_from = today
    for when, _po, counted, outstanding in _dated(incoming, today, overdue_grace_days, calendar, confidence):
        supply += counted
        last = when
        if supply >= needed:
            return when
        if counted < outstanding:  # a short delivery: what it leaves out is ordered again when it comes
            reorder_from = max(reorder_from, when)
    p50, p90 = lead_time_late_days
    late = {"confident": max(p50, p90), "earliest": p50}.get(confidence, 0)
    return calendar.next_shipping_day(max(reorder_from + timedelta(days=lead_time_days + late), last))


def project_ready_range(
    *,
    units_ahead: int,
    quantity: int,
    free_now: int,
    incoming: Sequence[Incoming],
    today: date,
    lead_time_days: int,
    overdue_grace_days: int,
    calendar: ShippingCalendar,
    lead_time_late_days: tuple[int, int],
) -> DateRange:
    """`project_ready_date` at both ends: with the suppliers' median lateness and with their p90.

    A confident day is not always later than an earliest one (an overdue
    delivery's conditional lateness, a short delivery's units), so the confident
    end is never allowed before the earliest: `max` states it.
    """
    ends = {
        confidence: project_ready_date(
            units_ahead=units_ahead,
            quantity=quantity,
            free_now=free_now,
            incoming=incoming,
            today=today,
            lead_time_days=lead_time_days,
            overdue_grace_days=overdue_grace_days,
            calendar=calendar,
            confidence=confidence,
            lead_time_late_days=lead_time_late_days,
        )
        for confidence in ("earliest", "confident")
    }
    return DateRange(earliest=ends["earliest"], confident=max(ends["earliest"], ends["confident"]))
