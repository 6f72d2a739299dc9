"""Template helpers of the storefront: money, availability labels, JSON-LD and the navbar's categories.

The helpers are defined where the layers below can use them too: `money` in `shop.formatting`, the
availability badge in `shop.badges` (the page cache renders it), the navbar's categories in
`shop.cache`; this module registers them for the templates.
"""

import json
from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.safestring import SafeString

from inventory.selectors import Availability
from shop.badges import availability_badge_html, availability_short, card_badge_html
from shop.cache import nav_categories_fresh
from shop.contact import shop_contact
from shop.formatting import date_range_in_words, list_in_words, money, ships_in_words

register = template.Library()

# The one `money` (shop/formatting.py), as a filter: {{ price|money }}, {{ total|money:order.currency }}.
register.filter("money", money)
# The badge's short text (shop/badges.py): {{ availability|availability_short }}.
register.filter("availability_short", availability_short)
# A promised range in words (docs/dates.md): {{ line.expected_earliest_date|ships:line.expected_date }}
# gives "expected to ship 12–19 March 2026", or "expected to ship by Thursday 17 December 2026".
register.filter("ships", ships_in_words)
register.filter("date_range", date_range_in_words)  # "12–19 March 2026"


@register.filter
def in_sentence(name) -> str:
    """A name put inside a sentence ("Total with standard delivery", "(in stock)"): lowercased where the
    language writes it so; German keeps its capitals (nouns are capitalized: "Gesamt mit Standardversand").
    The language says which through its catalogue, so no language is named here."""
    # Translators: "yes" if a name such as "Standard delivery" is written lowercase inside a sentence.
    lowercase = translation.pgettext("lowercase a name inside a sentence", "yes") == "yes"
    return str(name).lower() if lowercase else str(name)


@register.filter
def names_in_words(objects, attribute: str = "product_name") -> str:
    """'Alpine Tent, Rope and Stove' from each object's `attribute`, in the active language:
    {{ waited_lines|names_in_words }} puts a list into one translatable sentence."""
    return list_in_words(getattr(obj, attribute) for obj in objects)


@register.simple_tag(takes_context=True)
def nav_categories(context) -> list:
    """Top-level categories for the navbar; reuses `nav_categories` when the view already fetched them
    (the shop's pages take them from the page cache), else one query."""
    if "nav_categories" in context:
        return context["nav_categories"]
    return nav_categories_fresh()


_footers: dict[tuple, SafeString] = {}


@register.simple_tag
def site_footer() -> SafeString:
    """includes/footer.html. It shows nothing of the visitor (links, the shop's name and contact
    details, the year), so each process renders it once per year, language and contact details (every
    time with DEBUG, for template edits)."""
    contact = shop_contact()
    key = (
        timezone.localtime().year,
        translation.get_language(),
        get_script_prefix(),
        settings.SHOP_NAME,
        contact,
    )
    footer = None if settings.DEBUG else _footers.get(key)
    if footer is None:
        footer = _footers[key] = render_to_string(
            "includes/footer.html", {"SHOP_NAME": settings.SHOP_NAME, "SHOP_CONTACT": contact}
        )
    return footer


@register.simple_tag
def availability_badge(availability: Availability | None) -> SafeString:
    return availability_badge_html(availability)


@register.simple_tag
def card_badge(availability: Availability | None) -> SafeString:
    return card_badge_html(availability)


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
