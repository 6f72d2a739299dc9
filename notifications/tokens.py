"""Signed, single-purpose tokens for links in emails.

Each purpose has its own salt, so a token made for one link cannot be used for
another. Tokens carry a timestamp and expire.
"""

from django.core import signing

UNSUBSCRIBE_SALT = "notifications.unsubscribe"
UNSUBSCRIBE_MAX_AGE = 60 * 60 * 24 * 180  # half a year: old emails keep working for a while


def make_unsubscribe_token(email: str) -> str:
    return signing.TimestampSigner(salt=UNSUBSCRIBE_SALT).sign(email.lower())


def read_unsubscribe_token(token: str, *, max_age: int = UNSUBSCRIBE_MAX_AGE) -> str | None:
    """The email address in a valid token, or None if it is tampered with or expired."""
    try:
        return signing.TimestampSigner(salt=UNSUBSCRIBE_SALT).unsign(token, max_age=max_age)
    except signing.BadSignature:
        return None
