"""inventory/calendar.py and inventory/selectors/calendar.py: the shop's shipping days."""

from datetime import date

import pytest
from django.db import IntegrityError

from inventory.calendar import NoShippingDay, ShippingCalendar, weekdays_from_names
from inventory.models import ShopClosure
from inventory.selectors.calendar import public_holidays, shipping_calendar


def test_weekdays_from_names():
    assert weekdays_from_names(["Mon", "tue", "WEDNESDAY", " thu ", "fri"]) == frozenset({0, 1, 2, 3, 4})
    assert weekdays_from_names(["sat"]) == frozenset({5})
    with pytest.raises(ValueError):
        weekdays_from_names([])


def test_englands_bank_holidays_are_closed():
    days = public_holidays("GB-ENG", 2026)

    assert date(2026, 12, 25) in days  # Christmas Day
    assert date(2026, 12, 28) in days  # Boxing Day, observed on the Monday
    assert date(2026, 8, 31) in days  # Summer bank holiday (England, not Scotland)
    assert date(2026, 8, 3) not in days  # Scotland's summer bank holiday
    assert date(2029, 1, 1) in days  # three years ahead are known
    assert public_holidays("", 2026) == frozenset()


@pytest.mark.django_db
def test_shipping_calendar_reads_the_closures_that_have_not_ended_in_one_query(
    settings, django_assert_num_queries
):
    settings.SHOP_SHIPPING_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat"]
    settings.SHOP_COUNTRY = "GB-ENG"
    ShopClosure.objects.create(starts_on=date(2026, 11, 2), ends_on=date(2026, 11, 6), reason="Ended")
    ShopClosure.objects.create(starts_on=date(2026, 12, 7), ends_on=date(2026, 12, 8), reason="Stocktake")

    with django_assert_num_queries(1):
        calendar = shipping_calendar(today=date(2026, 12, 1))

    assert calendar.closures == ((date(2026, 12, 7), date(2026, 12, 8)),)
    assert calendar.is_shipping_day(date(2026, 12, 5))  # a Saturday: shipped on this setting
    assert not calendar.is_shipping_day(date(2026, 12, 6))  # Sunday
    assert not calendar.is_shipping_day(date(2026, 12, 7))  # the stocktake
    assert calendar.next_shipping_day(date(2026, 12, 6)) == date(2026, 12, 9)
    assert calendar.add_shipping_days(date(2026, 12, 24), 1) == date(2026, 12, 29)


@pytest.mark.django_db
def test_a_closure_cannot_end_before_it_starts():
    with pytest.raises(IntegrityError):
        ShopClosure.objects.create(starts_on=date(2026, 12, 8), ends_on=date(2026, 12, 7), reason="Backwards")


def test_a_calendar_with_no_shipping_day_says_so():
    never = ShippingCalendar(closures=((date(2026, 1, 1), date(2028, 1, 1)),))

    with pytest.raises(NoShippingDay):
        never.next_shipping_day(date(2026, 6, 1))
