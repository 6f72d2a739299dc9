"""Template context shared by every page."""

from django.conf import settings


def shop(request) -> dict:
    return {"SHOP_NAME": settings.SHOP_NAME, "SHOP_CURRENCY": settings.SHOP_CURRENCY}
