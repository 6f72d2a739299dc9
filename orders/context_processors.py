"""Template context for every page: the number of units in the visitor's cart (for the navbar)."""

from functools import cache

from .selectors import MAX_LINE_QUANTITY, cart_count
from .views import session_cart_id


def cart(request) -> dict:
    @cache
    def count() -> int:
        # Templates call it when they show it (one query, once), unless the view passed its own count.
        return cart_count(user=getattr(request, "user", None), cart_id=session_cart_id(request))

    return {"cart_count": count, "MAX_LINE_QUANTITY": MAX_LINE_QUANTITY}
