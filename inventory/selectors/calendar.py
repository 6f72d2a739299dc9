"""The shop's shipping calendar for today and the years ahead: weekdays, public holidays, closures.

`shipping_calendar` costs one query (the closures that have not ended) and is built once per request
or pass; callers hand it to `inventory.projection` and to whatever else turns a day count into a date.
"""

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


def _shipping_calendar(today: date) -> ShippingCalendar:
    closures = tuple(
        ShopClosure.objects.filter(ends_on__gte=today)
        .order_by("starts_on")
        .values_list("starts_on", "ends_on")
    )
    return ShippingCalendar(
        weekdays=weekdays_from_names(
            getattr(settings, "SHOP_SHIPPING_WEEKDAYS", ["mon", "tue", "wed", "thu", "fri"])
        ),
        holidays=public_holidays(getattr(settings, "SHOP_COUNTRY", ""), today.year - 1),
        closures=closures,
    )
