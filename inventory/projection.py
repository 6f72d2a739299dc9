"""The backorder queue projection: when will the N-th waiting unit be in stock?

Pure functions, no database: the availability selector feeds them the numbers,
and so will auto-allocation and the delay checks, so every date the shop shows
comes from this one place.

The queue is served in order. Units already waiting on backorder are ahead of
any new backorder; free stock serves the queue first, then open purchase
orders in order of their expected date. A new backorder's date is the arrival
of the purchase order that covers its *last* unit after everyone ahead of it.
When no purchase order covers it, the date is today + the variant's lead time
(never earlier than the last purchase order already counted on).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Incoming:
    """Units still to arrive on one open purchase-order line."""

    purchase_order_id: int
    expected_date: date | None
    quantity: int


def effective_arrival(*, expected: date | None, today: date, overdue_grace_days: int) -> date | None:
    """The date we may honestly promise for a delivery.

    An overdue purchase order (its date has passed, the goods have not come) is
    still coming, but its old date is no longer a promise: we add a grace period
    from today instead. A purchase order with no date promises nothing.
    """
    if expected is None:
        return None
    if expected < today:
        return today + timedelta(days=overdue_grace_days)
    return expected


def ordered_incoming(
    incoming: Sequence[Incoming], *, today: date, overdue_grace_days: int
) -> list[tuple[date, int]]:
    """(effective date, quantity) pairs in the order the queue will be served from them."""
    dated = []
    for inc in incoming:
        when = effective_arrival(
            expected=inc.expected_date, today=today, overdue_grace_days=overdue_grace_days
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
) -> date:
    """The date by which all `quantity` units, queued behind `units_ahead` units, are in stock."""
    needed = units_ahead + quantity
    supply = free_now
    if supply >= needed:
        return today
    last = today
    for when, qty in ordered_incoming(incoming, today=today, overdue_grace_days=overdue_grace_days):
        supply += qty
        last = when
        if supply >= needed:
            return when
    return max(today + timedelta(days=lead_time_days), last)
