"""The shop's shipping calendar for today and the years ahead: weekdays, public holidays, closures.

`shipping_calendar` costs one query (the closures that have not ended) and is built once per request
or pass; callers hand it to `inventory.projection` and to whatever else turns a day count into a date.
"""

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import holidays
from django.conf import settings
from django.utils import timezone

from ..calendar import ShippingCalendar, weekdays_from_names
from ..models import ShopClosure
from .scope import scope_memo

# Public holidays are known for this many years after today's; a promise further out than that counts
# weekdays and closures only (no lead time in this shop comes near it).
HOLIDAY_YEARS_AHEAD = 3


@lru_cache(maxsize=8)
def public_holidays(country: str, first_year: int) -> frozenset[date]:
    """The public holidays of `country` ("GB", or with a subdivision, "GB-ENG") from `first_year` to
    `HOLIDAY_YEARS_AHEAD` years after it. Computed by the `holidays` package once per process and year."""
    if not country:
        return frozenset()
    code, _, subdivision = country.partition("-")
    years = range(first_year, first_year + HOLIDAY_YEARS_AHEAD + 1)
    return frozenset(holidays.country_holidays(code, subdiv=subdivision or None, years=years))


def shipping_calendar(*, today: date | None = None) -> ShippingCalendar:
    """The calendar every promised date is computed with, from `today` on. One query; none when a read
    scope (`scope.read_scope`, one per web request) already read it for the same day."""
    today = today or timezone.localdate()
    memo = scope_memo()
    if memo is not None and ("calendar", today) in memo:
        return memo["calendar", today]
    calendar = _shipping_calendar(today)
    if memo is not None:
        memo["calendar", today] = calendar
    return calendar


def shipping_calendar_remembered(*, today: date) -> ShippingCalendar | None:
    """The calendar a read scope already read for `today`; None outside one or before it is read."""
    memo = scope_memo()
    return memo.get(("calendar", today)) if memo is not None else None


def shipping_calendar_from_closures(
    *, closures: Iterable[tuple[date, date]], today: date
) -> ShippingCalendar:
    """`shipping_calendar` from the closures not ended by `today`, read by the caller along with other
    rows (`inventory.selectors.availability`: one statement for a page); a read scope keeps it."""
    calendar = _calendar(tuple(sorted(closures)), today)
    memo = scope_memo()
    if memo is not None:
        memo["calendar", today] = calendar
    return calendar


def _shipping_calendar(today: date) -> ShippingCalendar:
    closures = tuple(
        ShopClosure.objects.filter(ends_on__gte=today)
        .order_by("starts_on")
        .values_list("starts_on", "ends_on")
    )
    return _calendar(closures, today)


def _calendar(closures: tuple[tuple[date, date], ...], today: date) -> ShippingCalendar:
    return ShippingCalendar(
        weekdays=weekdays_from_names(
            getattr(settings, "SHOP_SHIPPING_WEEKDAYS", ["mon", "tue", "wed", "thu", "fri"])
        ),
        holidays=public_holidays(getattr(settings, "SHOP_COUNTRY", ""), today.year - 1),
        closures=closures,
    )
