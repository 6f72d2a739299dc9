"""Turning an outbox row into an email message.

Each kind has a context builder: a function that reads what the email talks
about (by the ids stored on the row) and returns template context. Templates
live in templates/notifications/email/<kind>.{subject.txt,txt,html} and extend
one base layout. The registry below is explicit: grep a kind to find its code.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode

from .models import MARKETING_KINDS, Notification, NotificationKind

if TYPE_CHECKING:
    from shop.models import Variant


class PermanentEmailError(Exception):
    """The email can never be built (missing template or object): failing it now beats retrying."""


def absolute_url(path: str) -> str:
    return settings.SHOP_BASE_URL.rstrip("/") + path


_shared: ContextVar[dict | None] = ContextVar("notifications_shared_lookups", default=None)


@contextmanager
def shared_lookups() -> Iterator[None]:
    """Within this block builders read each row once: the emails of a wave batch share their variant.

    Meant for one batch (seconds), so nothing read here can go stale.
    """
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def _variant_or_fail(variant_id) -> "Variant":
    from shop.models import Variant

    shared = _shared.get()
    key = ("variant", variant_id)
    if shared is not None and key in shared:
        return shared[key]
    variant = Variant.objects.select_related("product").filter(pk=variant_id).first()
    if variant is None:
        raise PermanentEmailError(f"variant {variant_id} no longer exists")
    if shared is not None:
        shared[key] = variant
    return variant


def product_url(variant) -> str:
    """The product page with this variant selected."""
    return absolute_url(f"{variant.product.get_absolute_url()}?{urlencode({'variant': variant.sku})}")


def _low_stock_alert(context: dict) -> dict:
    from inventory.selectors import availability_for_variant

    variant = _variant_or_fail(context.get("variant_id"))
    availability = availability_for_variant(variant_id=variant.pk)
    return {
        "variant": variant,
        "available": availability.sellable_now if availability else 0,
        "threshold": context.get("threshold"),
        "admin_url": absolute_url(f"/admin/inventory/stockitem/?q={variant.sku}"),
    }


def _subscription_confirm(context: dict) -> dict:
    from .tokens import make_confirm_token

    variant = _variant_or_fail(context.get("variant_id"))
    token = make_confirm_token(context.get("subscription_id") or 0)
    return {
        "variant": variant,
        "product_url": product_url(variant),
        "confirm_url": absolute_url(reverse("notifications:confirm", kwargs={"token": token})),
    }


def _back_in_stock(context: dict) -> dict:
    # One query; no availability here: a wave of 100,000 emails must stay cheap to render.
    variant = _variant_or_fail(context.get("variant_id"))
    return {"variant": variant, "product_url": product_url(variant)}


# kind -> context builder. Order emails register their builders in orders.emails.
CONTEXT_BUILDERS: dict[str, Callable[[dict], dict]] = {
    NotificationKind.LOW_STOCK_ALERT: _low_stock_alert,
    NotificationKind.SUBSCRIPTION_CONFIRM: _subscription_confirm,
    NotificationKind.BACK_IN_STOCK: _back_in_stock,
}


def _sample_variant_context() -> dict | None:
    from shop.models import Variant

    variant_id = Variant.objects.order_by("pk").values_list("pk", flat=True).first()
    return None if variant_id is None else {"variant_id": variant_id}


def _sample_low_stock() -> dict | None:
    context = _sample_variant_context()
    return None if context is None else {**context, "threshold": 5}


def _sample_subscription() -> dict | None:
    context = _sample_variant_context()
    return None if context is None else {**context, "subscription_id": 0, "wave": 1}


# kind -> a function returning a sample context for the admin preview (None: no data to show yet).
SAMPLE_CONTEXTS: dict[str, Callable[[], dict | None]] = {
    NotificationKind.LOW_STOCK_ALERT: _sample_low_stock,
    NotificationKind.SUBSCRIPTION_CONFIRM: _sample_subscription,
    NotificationKind.BACK_IN_STOCK: _sample_subscription,
}


def register_builder(
    kind: str, builder: Callable[[dict], dict], *, sample: Callable[[], dict | None] | None = None
) -> None:
    """Used once per kind at import time by the app that owns the kind's data.

    `sample` returns a context for the admin preview, built from real rows.
    """
    CONTEXT_BUILDERS[kind] = builder
    if sample is not None:
        SAMPLE_CONTEXTS[kind] = sample


def unsubscribe_url(notification: Notification) -> str:
    from .tokens import make_unsubscribe_token

    token = make_unsubscribe_token(notification.recipient)
    return absolute_url(reverse("notifications:unsubscribe", kwargs={"token": token}))


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


def stable_message_id(notification: Notification) -> str:
    from urllib.parse import urlsplit

    domain = urlsplit(settings.SHOP_BASE_URL).hostname or "localhost"
    return f"<notification-{notification.pk}@{domain}>"


def build_message(notification: Notification) -> EmailMultiAlternatives:
    subject, text, html, headers = render_notification(notification)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        headers={
            "X-Notification-Id": str(notification.pk),
            # One Message-ID per outbox row, the same on every attempt: if a worker dies after the
            # SMTP server accepted a message but before the row was marked sent, the re-send
            # carries the same id, and mail systems treat it as the same message.
            "Message-ID": stable_message_id(notification),
            **headers,
        },
    )
    message.attach_alternative(html, "text/html")
    return message
