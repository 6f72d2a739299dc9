"""How the shop writes a date, a moment, an age, an amount of money and a number of units: one function each.

The bottom layer: pure functions of their arguments (and of the shop's settings: currency, time
zone), importing nothing from the apps, so that templates (the `money` filter of `shop_tags`),
availability messages, emails and the admin write the same value the same way.

Where two audiences really read a value differently, the one function takes a keyword for it
rather than there being two functions:

- `date_in_words(d, weekday=True)` is the customer's form ("Tuesday 1 December 2026": the promised
  date of availability messages, checkout and delay emails); staff pages and admin columns leave
  the weekday out ("1 December 2026"), which keeps their columns narrow.
- `date_range_in_words(earliest, latest)` writes a promised range ("12–19 March 2026", the month
  and year once); a range of one day is the customer's single date, with its weekday.
- `money(amount)` is the storefront's form ("€1,234.50": symbol, thousands separator);
  `money(amount, currency, plain=True)` is the staff form ("1234.50 EUR": the number as stored,
  then the currency code), which staff compare with the payment provider's records and paste into
  spreadsheets.
"""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as format_date

# What a missing date or moment is written as (admin columns, staff pages).
NO_VALUE = "—"

# Currencies written with a symbol before the amount; any other code is written after it.
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}

CENTS = Decimal("0.01")


def date_in_words(value: date | None, *, weekday: bool = False) -> str:
    """'1 December 2026'; with `weekday=True` 'Tuesday 1 December 2026'; '—' for no date."""
    if not value:
        return NO_VALUE
    return format_date(value, "l j F Y" if weekday else "j F Y")


def date_range_in_words(earliest: date | None, latest: date | None) -> str:
    """'12–19 March 2026'; '28 March – 4 April 2026'; '28 December 2026 – 5 January 2027'.

    One day (or one end missing): 'Thursday 17 December 2026'. '—' for no date at all.
    """
    if not earliest or not latest or earliest >= latest:
        return date_in_words(latest or earliest, weekday=True)
    if (earliest.year, earliest.month) == (latest.year, latest.month):
        return f"{earliest.day}–{format_date(latest, 'j F Y')}"
    if earliest.year == latest.year:
        return f"{format_date(earliest, 'j F')} – {format_date(latest, 'j F Y')}"
    return f"{format_date(earliest, 'j F Y')} – {format_date(latest, 'j F Y')}"


def ships_in_words(earliest: date | None, latest: date | None) -> str:
    """A promise in a sentence: 'expected to ship 12–19 March 2026', or for one day 'expected to ship
    by Thursday 17 December 2026'. `latest` is the date we are 90% sure of (docs/dates.md)."""
    if not earliest or not latest or earliest >= latest:
        return f"expected to ship by {date_range_in_words(earliest, latest)}"
    return f"expected to ship {date_range_in_words(earliest, latest)}"


def datetime_in_words(value: datetime | None) -> str:
    """'21 November 2026, 14:05' in the shop's time zone; '—' for no moment."""
    if not value:
        return NO_VALUE
    return format_date(timezone.localtime(value), "j F Y, H:i")


def money(value, currency: str | None = None, *, plain: bool = False) -> str:
    """An amount in `currency` (settings.SHOP_CURRENCY unless given), rounded to the cent.

    19.9 -> '€19.90', 1234.5 -> '€1,234.50', 19.9 SEK -> '19.90 SEK' (no symbol known: the code
    after the amount). With `plain=True`: '1234.50 EUR' whatever the currency (no symbol, no
    thousands separator). '' for an empty or non-numeric value.
    """
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value).quantize(CENTS)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    code = (currency or settings.SHOP_CURRENCY).upper()
    sign = "-" if amount < 0 else ""
    if plain:
        return f"{sign}{abs(amount):.2f} {code}"
    number = f"{abs(amount):,.2f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code}"


def units(n: int) -> str:
    """'1 unit', '5 units', '-1 unit'."""
    return f"{n} unit" if abs(n) == 1 else f"{n} units"


def signed(n: int) -> str:
    """'+5', '−3' or '0' (a real minus sign reads better than a hyphen): a change of stock."""
    return f"+{n}" if n > 0 else (f"−{-n}" if n < 0 else "0")


def age_in_words(days: int) -> str:
    """How long something has waited, in whole days: 'today', '1 day', '12 days'."""
    if days <= 0:
        return "today"
    return "1 day" if days == 1 else f"{days} days"
