"""Signed links to an order for customers without an account (every order email carries one)."""

from django.core import signing
from django.urls import reverse

ORDER_ACCESS_SALT = "orders.access"
ORDER_ACCESS_MAX_AGE = 60 * 60 * 24 * 400  # backorders can wait months; the link outlives the wait


def make_order_token(number: str) -> str:
    return signing.TimestampSigner(salt=ORDER_ACCESS_SALT).sign(number)


def read_order_token(token: str, *, max_age: int = ORDER_ACCESS_MAX_AGE) -> str | None:
    """The order number in a valid token; None when tampered with or expired."""
    try:
        return signing.TimestampSigner(salt=ORDER_ACCESS_SALT).unsign(token, max_age=max_age)
    except signing.BadSignature:
        return None


def order_access_path(number: str) -> str:
    return reverse("orders:detail", kwargs={"number": number}) + f"?token={make_order_token(number)}"
