"""Turning an outbox row into an email message.

Each kind has a context builder: a function that reads what the email talks
about (by the ids stored on the row) and returns template context. Templates
live in templates/notifications/email/<kind>.{subject.txt,txt,html} and extend
one base layout. The registry below is explicit: grep a kind to find its code.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .models import MARKETING_KINDS, Notification, NotificationKind


class PermanentEmailError(Exception):
    """The email can never be built (missing template or object): failing it now beats retrying."""


def absolute_url(path: str) -> str:
    return settings.SHOP_BASE_URL.rstrip("/") + path


def _low_stock_alert(context: dict) -> dict:
    from inventory.selectors import availability_for_variant
    from shop.models import Variant

    variant = Variant.objects.select_related("product").filter(pk=context.get("variant_id")).first()
    if variant is None:
        raise PermanentEmailError(f"variant {context.get('variant_id')} no longer exists")
    availability = availability_for_variant(variant_id=variant.pk)
    return {
        "variant": variant,
        "available": availability.sellable_now if availability else 0,
        "threshold": context.get("threshold"),
        "admin_url": absolute_url(f"/admin/inventory/stockitem/?q={variant.sku}"),
    }


# kind -> context builder. Order emails register their builders in orders.emails.
CONTEXT_BUILDERS: dict[str, Callable[[dict], dict]] = {
    NotificationKind.LOW_STOCK_ALERT: _low_stock_alert,
}


def register_builder(kind: str, builder: Callable[[dict], dict]) -> None:
    """Used once per kind at import time by the app that owns the kind's data."""
    CONTEXT_BUILDERS[kind] = builder


def unsubscribe_url(notification: Notification) -> str:
    from .tokens import make_unsubscribe_token

    return absolute_url(f"/notifications/unsubscribe/{make_unsubscribe_token(notification.recipient)}/")


def render_notification(notification: Notification) -> tuple[str, str, str, dict]:
    """(subject, text, html, headers) for a notification."""
    builder = CONTEXT_BUILDERS.get(notification.kind)
    if builder is None:
        raise PermanentEmailError(f"no email builder for kind {notification.kind!r}")
    context = {
        "SHOP_NAME": settings.SHOP_NAME,
        "SHOP_CURRENCY": settings.SHOP_CURRENCY,
        "shop_url": absolute_url("/"),
        "recipient": notification.recipient,
        "kind": notification.kind,
        **builder(notification.context),
    }
    headers = {}
    if notification.kind in MARKETING_KINDS:
        url = unsubscribe_url(notification)
        context["unsubscribe_url"] = url
        headers["List-Unsubscribe"] = f"<{url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    base = f"notifications/email/{notification.kind}"
    try:
        subject = " ".join(render_to_string(f"{base}.subject.txt", context).split())
        text = render_to_string(f"{base}.txt", context)
        html = render_to_string(f"{base}.html", context)
    except Exception as exc:  # TemplateDoesNotExist, a broken template: retrying will not help
        raise PermanentEmailError(f"cannot render {notification.kind}: {exc!r}") from exc
    return subject, text, html, headers


def build_message(notification: Notification) -> EmailMultiAlternatives:
    subject, text, html, headers = render_notification(notification)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        headers={"X-Notification-Id": str(notification.pk), **headers},
    )
    message.attach_alternative(html, "text/html")
    return message
