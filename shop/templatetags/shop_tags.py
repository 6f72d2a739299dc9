"""Template helpers of the storefront: money, availability labels, JSON-LD and the navbar's categories."""

import json
from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import dateformat
from django.utils.html import format_html
from django.utils.safestring import SafeString

from inventory.selectors import Availability, AvailabilityStatus
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


@register.filter
def availability_short(availability: Availability | None) -> str:
    """The short label of a badge: 'In stock', 'Only 2 left', 'Backorder: ships by 1 Dec', ..."""
    if availability is None:
        return ""
    if availability.status == AvailabilityStatus.LOW_STOCK:
        return f"Only {availability.sellable_now} left"
    if availability.status == AvailabilityStatus.BACKORDER and availability.expected_date:
        return f"Backorder: ships by {dateformat.format(availability.expected_date, 'j M')}"
    return availability.label


@register.filter
def percent(value) -> str:
    """Decimal('10.00') -> '10', Decimal('12.50') -> '12.5'; '' for an empty or non-numeric value."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(value).normalize()
    except (InvalidOperation, TypeError, ValueError):
        return ""
    return f"{number:f}"


# The escapes of django.utils.html.json_script: the JSON cannot close the <script> element.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag
def json_ld(data) -> SafeString:
    """`data` as a `<script type="application/ld+json">` data block, escaped like `json_script`.

    A data block is never executed, so it is allowed under a strict Content-Security-Policy.
    """
    payload = json.dumps(data, cls=DjangoJSONEncoder).translate(_JSON_SCRIPT_ESCAPES)
    return format_html('<script type="application/ld+json">{}</script>', SafeString(payload))
