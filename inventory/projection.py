"""The backorder queue projection: when will the N-th waiting unit ship?

Pure functions, no database: the availability selector feeds them the numbers,
the shipping calendar (`inventory.calendar`) and each supplier's lateness, so
every date the shop shows comes from this one place. docs/dates.md says the
rules in words.

The queue is served in order. Units already waiting on backorder are ahead of
any new backorder; free stock serves the queue first, then open purchase
orders in order of the day they are counted on. A new backorder's date is the
first shipping day on or after the arrival of the purchase order that covers
its *last* unit after everyone ahead of it. When no purchase order covers it,
the date is today + the variant's lead time (never earlier than the last
purchase order already counted on).

Every date comes as a range: the *earliest* date counts each purchase order
late by its supplier's median lateness (p50) and a lead time as it is; the
*confident* date ("we are 90% sure by") counts each purchase order late by its
supplier's 90th percentile (p90) and a lead time late by the shop's default
p90. The confident end is the promise recorded on an order line.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from .calendar import ShippingCalendar

Confidence = Literal["earliest", "confident"]


@dataclass(frozen=True)
class Incoming:
    """Units still to arrive on one open purchase-order line, and how late its supplier usually is."""

    purchase_order_id: int
    expected_date: date | None
    quantity: int
    late_p50_days: int = 0  # the supplier's median days late (calendar days, 0 or more)
    late_p90_days: int = 0  # days late 9 in 10 of its deliveries stay within

    def late_days(self, confidence: Confidence) -> int:
        return self.late_p90_days if confidence == "confident" else self.late_p50_days


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
    late_days: int = 0,
) -> date | None:
    """The shipping day we may honestly count on for a delivery expected on `expected`.

    The delivery is counted `late_days` late (its supplier's habit), and goods
    arriving on a day ship on the next shipping day on or after it. An overdue
    purchase order (its date has passed, the goods have not come) is still
    coming, but its date is no longer a promise: we count at least
    `overdue_grace_days` shipping days from today (later if its supplier's
    lateness, counted from the recorded date, says so). No date, no promise.
    The result never gets earlier as `late_days` grows.
    """
    if expected is None:
        return None
    padded = calendar.next_shipping_day(expected + timedelta(days=late_days))
    if expected < today:
        return max(calendar.add_shipping_days(today, overdue_grace_days), padded)
    return padded


def ordered_incoming(
    incoming: Sequence[Incoming],
    *,
    today: date,
    overdue_grace_days: int,
    calendar: ShippingCalendar,
    confidence: Confidence = "confident",
) -> list[tuple[date, int]]:
    """(shipping day counted on, quantity) pairs in the order the queue will be served from them."""
    dated = []
    for inc in incoming:
        when = effective_arrival(
            expected=inc.expected_date,
            today=today,
            overdue_grace_days=overdue_grace_days,
            calendar=calendar,
            late_days=inc.late_days(confidence),
        )
        if when is not None and inc.quantity > 0:
            dated.append((when, inc.purchase_order_id, inc.quantity))
    dated.sort()
    return [(when, qty) for when, _, qty in dated]


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
    lead_time_padding_days: int = 0,
) -> date:
    """The shipping day by which all `quantity` units, queued behind `units_ahead` units, can ship.

    `lead_time_padding_days` is added to a lead-time date for the confident end only.
    """
    needed = units_ahead + quantity
    supply = free_now
    if supply >= needed:
        return calendar.next_shipping_day(today)
    last = today
    for when, qty in ordered_incoming(
        incoming, today=today, overdue_grace_days=overdue_grace_days, calendar=calendar, confidence=confidence
    ):
        supply += qty
        last = when
        if supply >= needed:
            return when
    padding = lead_time_padding_days if confidence == "confident" else 0
    return calendar.next_shipping_day(max(today + timedelta(days=lead_time_days + padding), last))


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
    lead_time_padding_days: int,
) -> DateRange:
    """`project_ready_date` at both ends: with the suppliers' median lateness and with their p90.

    Each purchase order's confident day is never before its earliest (a p90 is
    never below its p50), so neither is the confident end; `max` states it.
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
            lead_time_padding_days=lead_time_padding_days,
        )
        for confidence in ("earliest", "confident")
    }
    return DateRange(earliest=ends["earliest"], confident=max(ends["earliest"], ends["confident"]))
