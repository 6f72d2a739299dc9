"""shop/formatting.py: the one way to write a date, a moment, an amount and a number of units."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shop.formatting import date_in_words, datetime_in_words, money, units
from shop.templatetags import shop_tags


def test_date_in_words_without_and_with_the_weekday():
    day = date(2026, 12, 1)

    assert date_in_words(day) == "1 December 2026"  # staff pages and admin columns
    assert date_in_words(day, weekday=True) == "Tuesday 1 December 2026"  # what customers read


@pytest.mark.parametrize("weekday", [False, True])
def test_no_date_is_a_dash(weekday):
    assert date_in_words(None, weekday=weekday) == "—"


def test_datetime_in_words_is_in_the_shop_time_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    moment = datetime(2026, 11, 21, 13, 5, tzinfo=UTC)

    assert datetime_in_words(moment) == "21 November 2026, 14:05"
    assert datetime_in_words(None) == "—"


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (Decimal("64.90"), "EUR", "64.90 EUR"),
        (Decimal("1234.5"), "EUR", "1234.50 EUR"),
        (Decimal("-3.456"), "usd", "-3.46 USD"),
        (Decimal("19.90"), "SEK", "19.90 SEK"),
        (None, "EUR", ""),
        ("abc", "EUR", ""),
    ],
)
def test_plain_money_is_the_number_then_the_currency_code(value, currency, expected):
    assert money(value, currency, plain=True) == expected


def test_plain_money_uses_shop_currency_by_default(settings):
    settings.SHOP_CURRENCY = "GBP"

    assert money(Decimal("5"), plain=True) == "5.00 GBP"
    assert money(Decimal("5")) == "£5.00"


def test_the_money_filter_is_the_one_money():
    assert shop_tags.money is money
    assert shop_tags.register.filters["money"] is money


@pytest.mark.parametrize(
    ("n", "expected"), [(0, "0 units"), (1, "1 unit"), (-1, "-1 unit"), (2, "2 units"), (-7, "-7 units")]
)
def test_units(n, expected):
    assert units(n) == expected
