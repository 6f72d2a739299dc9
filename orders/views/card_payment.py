"""The page behind "pay here" in a failed card payment's emails (orders.services.card_payment).

Who may pay is whoever holds the signed link (`orders.tokens.card_payment_path`: the charge's id,
its own salt). GET shows what is owed and until when; mail scanners open links, so GET pays
nothing. Its forms POST one step each: `saved` (the card saved at checkout), `new` (another card:
Stripe.js confirmed the page's SetupIntent with the Card Element, static/js/card_payment.js), and
`confirm` (back from the bank's 3-D Secure window). A paid, released or expired charge gets a
page saying so; nothing here answers 500 for a charge that moved on. POSTs are throttled per
client IP and per charge (django-ratelimit, as "Ask about this order").
"""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import get_usage

from ..selectors.card_payments import DUE, CardPaymentPage, card_payment_page
from ..services.card_payment import (
    CardPaymentClosed,
    CardPaymentResult,
    card_payment_confirm,
    card_payment_setup_start,
    card_payment_with_new_card,
    card_payment_with_saved_card,
)
from ..stripe_api import StripeDeclined, StripeUnavailable
from ..tokens import order_access_path, read_card_payment_token
from .base import link_invalid
from .questions import wait_in_words

logger = logging.getLogger(__name__)

CLOSED_STATUS = {"paid": 200, "pending": 200, "released": 410, "expired": 410}
# Payment attempts (each one a call to the bank): per client IP, and per charge whoever sends them.
# settings.CARD_PAYMENT_RATE_PER_IP / _PER_CHARGE override these.
RATES = {"ip": ("CARD_PAYMENT_RATE_PER_IP", "20/h"), "charge": ("CARD_PAYMENT_RATE_PER_CHARGE", "10/h")}


def _wait(request: HttpRequest, *, per: str, key: str | None = None) -> int:
    """Count this POST; the seconds until the window resets when over the rate, else 0."""
    name, default = RATES[per]
    usage = get_usage(
        request,
        group=f"orders.card_payment.{per}",
        key="ip" if key is None else (lambda group, request: key),
        rate=lambda group, request: getattr(settings, name, default),
        method="POST",
        increment=True,
    )
    return max(usage["time_left"], 1) if usage and usage["should_limit"] else 0


def _context(page: CardPaymentPage, **extra) -> dict:
    return {
        "page": page,
        "charge": page.charge,
        "order": page.order,
        "order_url": order_access_path(page.order.number),
        "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js_url": settings.STRIPE_JS_URL,
        "grace_days": settings.PAYMENT_GRACE_DAYS,
        **extra,
    }


def _closed(request: HttpRequest, page: CardPaymentPage) -> HttpResponse:
    return render(
        request, "orders/card_payment_closed.html", _context(page), status=CLOSED_STATUS.get(page.state, 200)
    )


def _due(request: HttpRequest, page: CardPaymentPage, *, status: int = 200, **extra) -> HttpResponse:
    """The page that asks for the payment; with "Use another card" when Stripe can start a setup."""
    setup_secret = ""
    if settings.STRIPE_ENABLED and not extra.get("payment_action_secret"):
        try:
            setup_secret = card_payment_setup_start(charge_id=page.charge.pk).client_secret
        except (StripeDeclined, StripeUnavailable) as exc:
            logger.warning("card payment page: no setup for charge %s: %s", page.charge.pk, exc)
        except CardPaymentClosed:
            return _closed(request, card_payment_page(charge_id=page.charge.pk))
    return render(
        request, "orders/card_payment.html", _context(page, setup_secret=setup_secret, **extra), status=status
    )


def _throttled(request: HttpRequest, page: CardPaymentPage) -> HttpResponse | None:
    wait = _wait(request, per="ip") or _wait(request, per="charge", key=f"charge:{page.charge.pk}")
    if not wait:
        return None
    response = _due(
        request,
        page,
        status=429,
        error=f"Too many attempts from here. Nothing was charged; please try again in {wait_in_words(wait)}.",
    )
    response["Retry-After"] = str(wait)
    return response


def _step(request: HttpRequest, charge_id: int) -> CardPaymentResult:
    step = request.POST.get("step", "")
    if step == "saved":
        return card_payment_with_saved_card(charge_id=charge_id)
    if step == "new":
        return card_payment_with_new_card(
            charge_id=charge_id, setup_intent_id=request.POST.get("setup_intent", "")
        )
    if step == "confirm":
        return card_payment_confirm(charge_id=charge_id, intent_id=request.POST.get("payment_intent", ""))
    return CardPaymentResult("declined", message="Please choose how to pay.")


@require_http_methods(["GET", "POST"])
def card_payment(request: HttpRequest, token: str) -> HttpResponse:
    charge_id = read_card_payment_token(token)
    page = card_payment_page(charge_id=charge_id) if charge_id is not None else None
    if page is None:
        return link_invalid(request)
    if page.state != DUE:
        return _closed(request, page)
    if request.method == "GET":
        return _due(request, page)
    throttled = _throttled(request, page)
    if throttled is not None:
        return throttled
    try:
        result = _step(request, page.charge.pk)
    except CardPaymentClosed:
        return redirect(request.path)
    if result.status == "paid":
        return redirect(request.path)  # the page now says "Thank you"
    page = card_payment_page(charge_id=page.charge.pk)
    if result.status == "requires_action":
        return _due(
            request, page, payment_action_secret=result.client_secret, payment_intent=result.intent_id
        )
    return _due(request, page, error=result.message)
