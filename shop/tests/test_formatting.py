"""shop/formatting.py: the one way to write a date, a moment, an amount and a number of units."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils import translation

from shop.formatting import date_in_words, date_range_in_words, date_short, datetime_in_words, money, units
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


# --- per language (docs/i18n.md): English exactly as before Babel, German as German customers write it


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["€1,234.56", "-€3.46", "$0.50", "£1,000,000.00", "19.90 SEK"]),
        ("de", ["1.234,56\u00a0€", "-3,46\u00a0€", "0,50\u00a0$", "1.000.000,00\u00a0£", "19,90\u00a0SEK"]),
    ],
)
def test_money_per_language(language, expected):
    values = [("1234.56", "EUR"), ("-3.456", "EUR"), ("0.5", "USD"), ("1000000", "GBP"), ("19.9", "SEK")]

    with translation.override(language):
        assert [money(Decimal(v), c) for v, c in values] == expected


@pytest.mark.parametrize("language", ["en", "de"])
def test_plain_money_is_the_same_in_every_language(language):
    with translation.override(language):
        assert money(Decimal("1234.5"), "EUR", plain=True) == "1234.50 EUR"


@pytest.mark.parametrize(
    ("language", "day", "with_weekday", "moment"),
    [
        ("en", "1 December 2026", "Tuesday 1 December 2026", "21 November 2026, 14:05"),
        ("de", "1. Dezember 2026", "Dienstag, 1. Dezember 2026", "21. November 2026, 14:05"),
    ],
)
def test_dates_per_language(settings, language, day, with_weekday, moment):
    settings.TIME_ZONE = "Europe/Berlin"

    with translation.override(language):
        assert date_in_words(date(2026, 12, 1)) == day
        assert date_in_words(date(2026, 12, 1), weekday=True) == with_weekday
        assert datetime_in_words(datetime(2026, 11, 21, 13, 5, tzinfo=UTC)) == moment


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                "12–19 March 2026",
                "28 March – 4 April 2026",
                "28 December 2026 – 5 January 2027",
                "Thursday 17 December 2026",
            ],
        ),
        (
            "de",
            [
                "12.–19. März 2026",
                "28. März – 4. April 2026",
                "28. Dezember 2026 – 5. Januar 2027",
                "Donnerstag, 17. Dezember 2026",
            ],
        ),
    ],
)
def test_date_ranges_per_language(language, expected):
    ranges = [
        (date(2026, 3, 12), date(2026, 3, 19)),
        (date(2026, 3, 28), date(2026, 4, 4)),
        (date(2026, 12, 28), date(2027, 1, 5)),
        (date(2026, 12, 17), date(2026, 12, 17)),
    ]

    with translation.override(language):
        assert [date_range_in_words(a, b) for a, b in ranges] == expected


def test_a_language_without_patterns_of_its_own_is_written_the_cldr_way():
    with translation.override("fr"):
        assert money(Decimal("1234.5"), "EUR") == "1\u202f234,50\u00a0€"
        assert date_in_words(date(2026, 12, 1)) == "1 décembre 2026"
        assert date_range_in_words(date(2026, 3, 12), date(2026, 3, 19)) == "12–19 mars 2026"


def test_english_is_written_the_same_under_the_old_language_code():
    with translation.override("en-gb"):
        assert money(Decimal("1234.56"), "EUR") == "€1,234.56"
        assert date_in_words(date(2026, 12, 1), weekday=True) == "Tuesday 1 December 2026"


@pytest.mark.parametrize(
    ("language", "expected"), [("en", ["1 Sep", "1 Dec"]), ("de", ["1. Sept.", "1. Dez."])]
)
def test_date_short_per_language(language, expected):
    with translation.override(language):
        assert [date_short(date(2026, 9, 1)), date_short(date(2026, 12, 1))] == expected
    assert date_short(None) == "—"
