from decimal import Decimal

import pytest

from shop.templatetags.shop_tags import money


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (Decimal("19.9"), "EUR", "€19.90"),
        (Decimal("1234.5"), "EUR", "€1,234.50"),
        (Decimal("0"), "GBP", "£0.00"),
        (Decimal("-3.456"), "USD", "-$3.46"),
        (Decimal("19.90"), "SEK", "19.90 SEK"),
        ("7", "eur", "€7.00"),
        (None, "EUR", ""),
        ("", "EUR", ""),
        ("abc", "EUR", ""),
    ],
)
def test_money(value, currency, expected):
    assert money(value, currency) == expected


def test_money_uses_shop_currency_by_default(settings):
    settings.SHOP_CURRENCY = "CHF"

    assert money(Decimal("5")) == "5.00 CHF"
