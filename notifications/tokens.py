"""Signed, single-purpose tokens for links in emails.

Each purpose has its own salt, so a token made for one link cannot be used for
another. Tokens carry a timestamp and expire. The payload is URL-safe base64
(`sign_object`), so any address fits in one path segment; it is signed, not
encrypted: it holds nothing the recipient does not already know.
"""

from django.core import signing

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
UNSUBSCRIBE_MAX_AGE = 60 * 60 * 24 * 180  # half a year: old emails keep working for a while

CONFIRM_SALT = "notifications.subscription-confirm"
CONFIRM_MAX_AGE = 60 * 60 * 24 * 7  # a week to click the double opt-in link


def make_unsubscribe_token(email: str) -> str:
    return signing.TimestampSigner(salt=UNSUBSCRIBE_SALT).sign_object({"e": email.lower()})


def read_unsubscribe_token(token: str, *, max_age: int = UNSUBSCRIBE_MAX_AGE) -> str | None:
    """The email address in a valid token, or None if it is tampered with or expired."""
    try:
        payload = signing.TimestampSigner(salt=UNSUBSCRIBE_SALT).unsign_object(token, max_age=max_age)
    except (signing.BadSignature, ValueError):
        return None
    email = payload.get("e") if isinstance(payload, dict) else None
    return email if isinstance(email, str) and email else None


def make_confirm_token(subscription_id: int) -> str:
    return signing.TimestampSigner(salt=CONFIRM_SALT).sign_object({"s": subscription_id})


def read_confirm_token(token: str, *, max_age: int = CONFIRM_MAX_AGE) -> int | None:
    """The subscription id in a valid confirmation token, or None if tampered with or expired."""
    try:
        payload = signing.TimestampSigner(salt=CONFIRM_SALT).unsign_object(token, max_age=max_age)
    except (signing.BadSignature, ValueError):
        return None
    subscription_id = payload.get("s") if isinstance(payload, dict) else None
    return subscription_id if isinstance(subscription_id, int) else None
