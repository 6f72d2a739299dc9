"""Template context shared by every page."""

from django.conf import settings

from .contact import shop_contact


def shop(request) -> dict:
    return {
        "SHOP_NAME": settings.SHOP_NAME,
        "SHOP_CURRENCY": settings.SHOP_CURRENCY,
        # How to reach customer service (settings SHOP_CONTACT_*, SHOP_ADDRESS, SHOP_SUPPORT_HOURS).
        "SHOP_CONTACT": shop_contact(),
    }
