"""Template helpers of the storefront: money formatting and the navbar's categories."""

from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings

from shop.selectors import category_list_for_nav

register = template.Library()

# Currencies written with a symbol before the amount; any other code is written after it.
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


@register.filter
def money(value, currency: str | None = None) -> str:
    """19.9 -> '€19.90' (settings.SHOP_CURRENCY unless given); '' for an empty or non-numeric value."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        return ""
    code = (currency or settings.SHOP_CURRENCY).upper()
    sign = "-" if amount < 0 else ""
    number = f"{abs(amount):,.2f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code}"


@register.simple_tag(takes_context=True)
def nav_categories(context) -> list:
    """Top-level categories for the navbar; reuses `nav_categories` when the view already fetched them."""
    if "nav_categories" in context:
        return context["nav_categories"]
    return category_list_for_nav()
