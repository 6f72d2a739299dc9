"""The signed link of the "confirm your email address" email (docs/security.md, "Signed tokens").

The token names the account and the address it was sent to: a link for an address the account no
longer has is refused. It expires after ACCOUNT_VERIFY_LINK_HOURS; opening it twice is harmless.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

VERIFY_EMAIL_SALT = "accounts.verify-email"


@dataclass(frozen=True)
class VerifyClaim:
    user_id: int
    email: str  # lower-cased


def verify_token_make(*, user_id: int, email: str) -> str:
    return signing.TimestampSigner(salt=VERIFY_EMAIL_SALT).sign_object(
        {"u": user_id, "e": email.strip().lower()}
    )


def verify_token_read(*, token: str) -> VerifyClaim | None:
    """What a valid, unexpired token says; None when tampered with, expired or made for another link."""
    try:
        payload = signing.TimestampSigner(salt=VERIFY_EMAIL_SALT).unsign_object(
            token, max_age=settings.ACCOUNT_VERIFY_LINK_HOURS * 3600
        )
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    user_id, email = payload.get("u"), payload.get("e")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not isinstance(email, str):
        return None
    return VerifyClaim(user_id=user_id, email=email)
