"""The shop's shipping days: pure date arithmetic, no database.

A day is a shipping day when it is one of the shop's shipping weekdays
(`SHOP_SHIPPING_WEEKDAYS`), not a public holiday of `SHOP_COUNTRY` and not
inside a staff closure (`ShopClosure`). `inventory.selectors.calendar.shipping_calendar`
builds one `ShippingCalendar` per request or pass (one query for the closures);
the projection and every promised date take it as an argument.
"""

from collections.abc import Collection, Container
from dataclasses import dataclass, field
from datetime import date, timedelta

# Every date the shop promises is searched at most this far ahead; a calendar with no shipping day in
# a year is a configuration error, not a date.
_SEARCH_LIMIT_DAYS = 366


class NoShippingDay(ValueError):
    """The calendar has no shipping day within a year: every weekday closed, or one long closure."""


@dataclass(frozen=True)
class ShippingCalendar:
    weekdays: frozenset[int] = frozenset(range(5))  # date.weekday(): 0 = Monday
    holidays: Container[date] = field(default=frozenset(), repr=False)
    closures: tuple[tuple[date, date], ...] = ()  # (first closed day, last closed day), inclusive

    def is_shipping_day(self, day: date) -> bool:
        if day.weekday() not in self.weekdays or day in self.holidays:
            return False
        return not any(start <= day <= end for start, end in self.closures)

    def next_shipping_day(self, day: date) -> date:
        """`day` itself when the shop ships that day, else the first shipping day after it."""
        for n in range(_SEARCH_LIMIT_DAYS + 1):
            candidate = day + timedelta(days=n)
            if self.is_shipping_day(candidate):
                return candidate
        raise NoShippingDay(f"no shipping day within a year of {day.isoformat()}")

    def add_shipping_days(self, day: date, n: int) -> date:
        """The n-th shipping day after `day` (n = 0: `next_shipping_day(day)`).

        Counting starts from the day after `day`: Friday + 1 shipping day is
        Monday when the shop ships Monday to Friday.
        """
        current = self.next_shipping_day(day) if n == 0 else day
        for _ in range(n):
            current = self.next_shipping_day(current + timedelta(days=1))
        return current

    def closed_days(self, start: date, end: date) -> list[date]:
        """The days from `start` to `end` (inclusive) on which the shop does not ship."""
        return [
            start + timedelta(days=n)
            for n in range((end - start).days + 1)
            if not self.is_shipping_day(start + timedelta(days=n))
        ]


ALWAYS_OPEN = ShippingCalendar(weekdays=frozenset(range(7)))


def weekdays_from_names(names: Collection[str]) -> frozenset[int]:
    """{"mon", "tue", ...} (any case, first three letters) as date.weekday() numbers."""
    order = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    days = frozenset(order.index(name.strip().lower()[:3]) for name in names if name.strip())
    if not days:
        raise ValueError("SHOP_SHIPPING_WEEKDAYS names no day")
    return days
