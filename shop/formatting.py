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

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_interval
from babel.lists import format_list
from django.conf import settings
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext, ngettext

# What a missing date or moment is written as (admin columns, staff pages).
NO_VALUE = "—"

# Currencies written with a symbol; any other code is written after the amount.
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}

CENTS = Decimal("0.01")

# The CLDR locale each language of settings.LANGUAGES is written in. A language missing here
# is written in its own CLDR locale (translation.to_locale: "fr" -> "fr").
BABEL_LOCALES = {"en": "en_GB", "de": "de_DE"}


@dataclass(frozen=True)
class _Style:
    """How one language writes dates and amounts (built once per language, see `_style`)."""

    locale: Locale
    day: str  # CLDR date pattern: "1 December 2026"
    weekday: str  # "Tuesday 1 December 2026"
    moment: str  # "21 November 2026, 14:05"
    short: str | None  # a day and a short month, "1 Dec" (a badge); None: Django's "j M" (English's "Sep")
    # A range's first date, when it shares the month and year ("12" of "12–19 March 2026") or only
    # the year ("28 March" of "28 March – 4 April 2026"); None: CLDR's own interval format.
    start_in_month: str | None
    start_in_year: str | None
    separators: dict[int, str]  # str.translate table: Python's "," and "." to the locale's group and decimal
    symbol_first: bool  # "€1,234.50" rather than "1.234,50 €"
    symbol_gap: str  # between the number and a symbol written after it


# The two languages the shop ships with, written as their customers expect (and English exactly as
# before Babel: no comma after the weekday, an en dash without spaces inside one month).
_PATTERNS = {
    "en": {
        "day": "d MMMM y",
        "weekday": "EEEE d MMMM y",
        "moment": "d MMMM y, HH:mm",
        "short": None,  # CLDR's en_GB writes "Sept"; the badges always said "Sep"
        "start_in_month": "d",
        "start_in_year": "d MMMM",
    },
    "de": {
        "day": "d. MMMM y",
        "weekday": "EEEE, d. MMMM y",
        "moment": "d. MMMM y, HH:mm",
        "short": "d. MMM",
        "start_in_month": "d.",
        "start_in_year": "d. MMMM",
    },
}


@lru_cache(maxsize=32)
def _style(language: str) -> _Style:
    base = language.split("-")[0]
    locale = Locale.parse(BABEL_LOCALES.get(base) or translation.to_locale(language))
    currency = locale.currency_formats["standard"].pattern
    patterns = _PATTERNS.get(base) or {
        "day": locale.date_formats["long"].pattern,
        "weekday": locale.date_formats["full"].pattern,
        "moment": f"{locale.date_formats['long'].pattern}, {locale.time_formats['short'].pattern}",
        "short": locale.datetime_skeletons.get("MMMd").pattern
        if "MMMd" in locale.datetime_skeletons
        else "d MMM",
        "start_in_month": None,
        "start_in_year": None,
    }
    symbols = locale.number_symbols.get("latn", locale.number_symbols)
    return _Style(
        locale=locale,
        separators=str.maketrans({",": symbols["group"], ".": symbols["decimal"]}),
        symbol_first=currency.lstrip("-").startswith("¤"),
        symbol_gap="\u00a0" if "\u00a0¤" in currency else " ",
        **patterns,
    )


def _active() -> _Style:
    return _style(translation.get_language() or settings.LANGUAGE_CODE)


def date_in_words(value: date | None, *, weekday: bool = False) -> str:
    """'1 December 2026'; with `weekday=True` 'Tuesday 1 December 2026'; '—' for no date.

    In German '1. Dezember 2026' and 'Dienstag, 1. Dezember 2026'.
    """
    if not value:
        return NO_VALUE
    style = _active()
    return babel_format_date(value, style.weekday if weekday else style.day, locale=style.locale)


def list_in_words(items) -> str:
    """'Alpine Tent, Rope and Stove' in the active language (CLDR's list pattern: 'Seil und Kocher')."""
    items = [str(item) for item in items]
    return format_list(items, locale=_active().locale) if items else ""


def date_short(value: date | None) -> str:
    """A day and a short month, for a badge: '1 Dec' (German '1. Dez.'); '—' for no date."""
    if not value:
        return NO_VALUE
    style = _active()
    if style.short is None:
        return dateformat.format(value, "j M")
    return babel_format_date(value, style.short, locale=style.locale)


def date_range_in_words(earliest: date | None, latest: date | None) -> str:
    """'12–19 March 2026'; '28 March – 4 April 2026'; '28 December 2026 – 5 January 2027'
    (German: '12.–19. März 2026', '28. März – 4. April 2026').

    One day (or one end missing): 'Thursday 17 December 2026'. '—' for no date at all.
    """
    if not earliest or not latest or earliest >= latest:
        return date_in_words(latest or earliest, weekday=True)
    style = _active()
    if style.start_in_month is None:
        return format_interval(earliest, latest, "yMMMMd", locale=style.locale)
    end = babel_format_date(latest, style.day, locale=style.locale)
    if (earliest.year, earliest.month) == (latest.year, latest.month):
        return f"{babel_format_date(earliest, style.start_in_month, locale=style.locale)}–{end}"
    start = style.start_in_year if earliest.year == latest.year else style.day
    return f"{babel_format_date(earliest, start, locale=style.locale)} – {end}"


def ships_in_words(earliest: date | None, latest: date | None) -> str:
    """A promise in a sentence: 'expected to ship 12–19 March 2026', or for one day 'expected to ship
    by Thursday 17 December 2026'. `latest` is the date we are 90% sure of (docs/dates.md)."""
    dates = date_range_in_words(earliest, latest)
    if not earliest or not latest or earliest >= latest:
        return gettext("expected to ship by %(date)s") % {"date": dates}
    return gettext("expected to ship %(dates)s") % {"dates": dates}


def datetime_in_words(value: datetime | None) -> str:
    """'21 November 2026, 14:05' in the shop's time zone ('21. November 2026, 14:05'); '—' for no moment."""
    if not value:
        return NO_VALUE
    style = _active()
    return babel_format_datetime(timezone.localtime(value), style.moment, locale=style.locale)


def money(value, currency: str | None = None, *, plain: bool = False) -> str:
    """An amount in `currency` (settings.SHOP_CURRENCY unless given), rounded to the cent, written
    the active language's way.

    English: 19.9 -> '€19.90', 1234.5 -> '€1,234.50', 19.9 SEK -> '19.90 SEK' (no symbol known:
    the code after the amount). German: '1.234,50\u00a0€' (a no-break space, as CLDR writes it),
    '19,90\u00a0SEK'. With `plain=True`: '1234.50 EUR' in every language (no symbol, no thousands
    separator: the staff form). '' for an empty or non-numeric value.
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
    style = _active()
    number = f"{abs(amount):,.2f}".translate(style.separators)  # Babel's NumberPattern.apply: 4x slower
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol and style.symbol_first:
        return f"{sign}{symbol}{number}"
    return (
        f"{sign}{number}{style.symbol_gap}{symbol}" if symbol else f"{sign}{number}{style.symbol_gap}{code}"
    )


def units(n: int) -> str:
    """'1 unit', '5 units', '-1 unit'."""
    return ngettext("%(count)s unit", "%(count)s units", abs(n)) % {"count": n}


def signed(n: int) -> str:
    """'+5', '−3' or '0' (a real minus sign reads better than a hyphen): a change of stock."""
    return f"+{n}" if n > 0 else (f"−{-n}" if n < 0 else "0")


def age_in_words(days: int) -> str:
    """How long something has waited, in whole days: 'today', '1 day', '12 days'."""
    if days <= 0:
        return gettext("today")
    return ngettext("%(count)s day", "%(count)s days", days) % {"count": days}
