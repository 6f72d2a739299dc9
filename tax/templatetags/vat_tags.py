"""`{% vat_note %}`: what a price shown includes (docs/tax.md). German law (PAngV) asks a shop to say
beside each price to consumers whether VAT is included and that delivery comes on top.

No query and nothing of the visitor: safe in the cached listing grid (shop/cache.py).
"""

from django import template
from django.conf import settings
from django.utils.translation import gettext

register = template.Library()


@register.simple_tag
def vat_note() -> str:
    """ "incl. VAT, plus delivery" (prices including VAT, the default) or "plus VAT and delivery"."""
    if getattr(settings, "SHOP_PRICES_INCLUDE_VAT", True):
        return gettext("incl. VAT, plus delivery")
    return gettext("plus VAT and delivery")
