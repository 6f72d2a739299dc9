"""The accounts' email: "confirm your email address" (registered with the outbox in AccountsConfig.ready)."""

from django.conf import settings
from django.urls import reverse

from notifications.emails import PermanentEmailError, absolute_url
from notifications.models import NotificationKind

from .models import User
from .tokens import verify_token_make


def account_verify_context(context: dict) -> dict:
    """The link is signed when the email is rendered: it expires ACCOUNT_VERIFY_LINK_HOURS after the
    send. An email whose account is gone or now has another address is not sent."""
    user = User.objects.filter(pk=context.get("user_id")).first()
    if user is None:
        raise PermanentEmailError(f"user {context.get('user_id')} no longer exists")
    if user.email.strip().lower() != str(context.get("email", "")).strip().lower():
        raise PermanentEmailError(f"user {user.pk} no longer has the address this email was for")
    token = verify_token_make(user_id=user.pk, email=user.email)
    return {
        "user": user,
        "verify_url": absolute_url(reverse("accounts:verify_email", kwargs={"token": token})),
        "hours": settings.ACCOUNT_VERIFY_LINK_HOURS,
    }


def _sample() -> dict | None:
    user = (
        User.objects.filter(email_verified_at__isnull=True, is_active=True, is_staff=False)
        .order_by("pk")
        .first()
    )
    return {"user_id": user.pk, "email": user.email} if user else None


def register() -> None:
    from notifications.emails import register_builder

    register_builder(NotificationKind.ACCOUNT_VERIFY, account_verify_context, sample=_sample)
