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


# --- links in delay and feedback emails ---------------------------------------------------------
#
# One salt per purpose, so a "keep waiting" token cannot be replayed on the cancel page (or the other
# way round). Tokens carry a timestamp and expire; single use is recorded in the database by the
# service that acts on them, not here.

DELAY_KEEP_SALT = "orders.delay-keep-waiting"
DELAY_CANCEL_SALT = "orders.delay-cancel"
FEEDBACK_SALT = "orders.feedback"
EMAIL_PREFERENCES_SALT = "orders.email-preferences"
EMAIL_PREFERENCES_MAX_AGE = 60 * 60 * 24 * 365


def make_link_token(salt: str, value: int | str) -> str:
    return signing.TimestampSigner(salt=salt).sign_object({"v": value})


def read_link_token(salt: str, token: str, *, max_age: int) -> int | str | None:
    """The value in a valid token for this purpose; None when tampered with, expired or for another purpose."""
    try:
        payload = signing.TimestampSigner(salt=salt).unsign_object(token, max_age=max_age)
    except (signing.BadSignature, ValueError):
        return None
    value = payload.get("v") if isinstance(payload, dict) else None
    return value if isinstance(value, int | str) and not isinstance(value, bool) else None


# --- the card payment page (an off-session charge that failed; orders.views.card_payment) --------
#
# The link names the charge; it outlives the grace period (PAYMENT_GRACE_DAYS) so that a late click
# lands on a page that says what became of the items, not on "invalid link".

CARD_PAYMENT_SALT = "orders.card-payment"
CARD_PAYMENT_MAX_AGE = 60 * 60 * 24 * 60


def card_payment_path(charge_id: int) -> str:
    return reverse("orders:card_payment", kwargs={"token": make_link_token(CARD_PAYMENT_SALT, charge_id)})


def read_card_payment_token(token: str) -> int | None:
    """The charge id in a valid payment-page token; None otherwise."""
    value = read_link_token(CARD_PAYMENT_SALT, token, max_age=CARD_PAYMENT_MAX_AGE)
    return value if isinstance(value, int) else None
