"""Customer pages of back-in-stock alerts: sign up, confirm, unsubscribe.

Links in emails never change anything on GET (mail scanners open links): they
show a page with a button that POSTs. The one exception is the RFC 8058
one-click unsubscribe, a POST from the mail client without a CSRF token; its
signed token is the authorization.
"""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from inventory.selectors import AvailabilityStatus

from .forms import NotifyMeForm
from .selectors import (
    UnsubscribeState,
    subscription_get_open_or_confirmed,
    unsubscribe_state_get,
    variant_get_for_alert,
)
from .services import email_normalize, subscription_confirm, subscription_create, subscription_unsubscribe
from .tokens import read_confirm_token, read_unsubscribe_token


def _product_url(variant) -> str:
    return f"{variant.product.get_absolute_url()}?{urlencode({'variant': variant.sku})}"


def _rate_per_ip(group, request) -> str:
    return settings.BACK_IN_STOCK_SIGNUP_RATE_PER_IP


def _rate_per_email(group, request) -> str:
    return settings.BACK_IN_STOCK_SIGNUP_RATE_PER_EMAIL


def _signup_limited(request: HttpRequest, *, email: str) -> bool:
    """Count this signup against its IP's and its address's limits; True when either is exceeded."""
    by_ip = is_ratelimited(
        request, group="notifications.signup.ip", key="ip", rate=_rate_per_ip, method="POST", increment=True
    )
    by_email = bool(email) and is_ratelimited(
        request,
        group="notifications.signup.email",
        key=lambda group, request: email,
        rate=_rate_per_email,
        method="POST",
        increment=True,
    )
    return by_ip or by_email


# The address the visitor just asked an alert for, per variant, so the "check your inbox" page can
# name it. Only ever shown back to the session that typed it.
ALERT_EMAIL_SESSION_KEY = "notifications.alert_email"


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "notifications/invalid_link.html", status=400)


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest, variant_id: int) -> HttpResponse:
    variant, availability = variant_get_for_alert(variant_id=variant_id)
    if availability.status != AvailabilityStatus.OUT_OF_STOCK:
        messages.info(request, _("Good news: you can order this item now, so there is no need for an alert."))
        return redirect(_product_url(variant))
    form = NotifyMeForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST":
        typed = "" if form.uses_account else request.POST.get("email", "")
        if _signup_limited(request, email=email_normalize(form.account_email or typed)[:254]):
            return render(request, "notifications/rate_limited.html", {"variant": variant}, status=429)
        if form.is_valid():
            subscription_create(
                variant_id=variant.pk,
                email=form.address(),
                user_id=request.user.pk if form.uses_account else None,
                language=request.LANGUAGE_CODE,
            )
            request.session[ALERT_EMAIL_SESSION_KEY] = {
                "variant": variant.pk,
                "email": email_normalize(form.address()),
            }
            # The same answer whether or not the address was subscribed before.
            return redirect("notifications:subscribe_done", variant_id=variant.pk)
    return render(
        request,
        "notifications/subscribe.html",
        {
            "form": form,
            "variant": variant,
            "availability": availability,
            "product_url": _product_url(variant),
        },
        status=400 if form.is_bound else 200,
    )


@require_GET
def subscribe_done(request: HttpRequest, variant_id: int) -> HttpResponse:
    """The answer to a signup, the same whether or not the address was subscribed before. It names
    the address the visitor typed (or their account's), which they know already; nothing else."""
    variant, _availability = variant_get_for_alert(variant_id=variant_id)
    user = request.user
    instant = bool(user.is_authenticated and user.email)
    asked = request.session.get(ALERT_EMAIL_SESSION_KEY) or {}
    typed = asked.get("email", "") if asked.get("variant") == variant.pk else ""
    return render(
        request,
        "notifications/subscribe_done.html",
        {
            "variant": variant,
            "product_url": _product_url(variant),
            "subscribe_url": reverse("notifications:subscribe", args=[variant.pk]),
            "instant": instant,
            "email": user.email if instant else typed,
        },
    )


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Double opt-in: GET shows a button, POST confirms."""
    subscription_id = read_confirm_token(token)
    if subscription_id is None:
        return _invalid_link(request)
    if request.method == "POST":
        subscription = subscription_confirm(subscription_id=subscription_id)
        if subscription is None:
            return _invalid_link(request)
        return render(
            request,
            "notifications/confirm_done.html",
            {"subscription": subscription, "product_url": _product_url(subscription.variant)},
        )
    subscription = subscription_get_open_or_confirmed(subscription_id=subscription_id)
    if subscription is None:
        return _invalid_link(request)
    return render(
        request,
        "notifications/confirm.html",
        {"subscription": subscription, "product_url": _product_url(subscription.variant)},
    )


@csrf_exempt  # RFC 8058: mail clients POST without cookies or a CSRF token; the signed token authorizes
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; POST (the button, or a one-click `List-Unsubscribe=One-Click`) unsubscribes."""
    email = read_unsubscribe_token(token)
    if email is None:
        return _invalid_link(request)
    if request.method == "POST":
        subscription_unsubscribe(email=email)  # harmless when already done: the page says so alike
        return _unsubscribed(request, email=email, already=False)
    state = unsubscribe_state_get(email=email)
    if state.unsubscribed:  # by an earlier visit, or the mail client's one-click POST: no button
        return _unsubscribed(request, email=email, already=True, state=state)
    return render(request, "notifications/unsubscribe.html", {"email": email})


def _unsubscribed(
    request: HttpRequest, *, email: str, already: bool, state: UnsubscribeState | None = None
) -> HttpResponse:
    """The page of an address that gets no back-in-stock emails: a way back to the item it last
    asked about, and to ask for its alert again."""
    variant = (state or unsubscribe_state_get(email=email)).variant
    return render(
        request,
        "notifications/unsubscribe_done.html",
        {
            "email": email,
            "already": already,
            "variant": variant,
            "product_url": _product_url(variant) if variant else None,
            "subscribe_url": reverse("notifications:subscribe", args=[variant.pk]) if variant else None,
        },
    )
