"""The checkout page: review the cart and place the order, once per idempotency key."""

import re
import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from accounts.selectors.addresses import address_initial, checkout_address_pick, checkout_addresses
from accounts.services.addresses import AddressData, AddressError, address_save_from_checkout
from shop.formatting import date_in_words
from tax.rules import tax_country, tax_treatment, vat_number_check

from ..forms import CheckoutForm, default_payment_method, default_ship_policy
from ..selectors import CartSummary, cart_items, cart_summary
from ..selectors.need_by import need_by_latest, need_by_misses
from ..selectors.payment_plans import checkout_payment_plan
from ..selectors.quote import Quote, TaxDestination, quote_shipping
from ..services import (
    BackorderTermsRequired,
    CheckoutError,
    NeedByLate,
    PaymentActionRequired,
    TotalChanged,
    card_checkout_setup,
    order_place,
    shipping_options,
)
from ..services.cards import checkout_due_now
from ..tokens import order_access_path
from .base import CHECKOUT_KEYS_SESSION_KEY, request_user_id, session_cart_id, thank_you_set

CHECKOUT_KEYS_KEPT = 20
CARD_SETUPS_SESSION_KEY = "checkout_card_setups"  # checkout key -> the SetupIntent this session started


def _issue_checkout_key(request: HttpRequest) -> str:
    """A new idempotency key for one rendering of the checkout page, remembered in the session."""
    key = uuid.uuid4().hex
    issued = request.session.get(CHECKOUT_KEYS_SESSION_KEY, [])
    request.session[CHECKOUT_KEYS_SESSION_KEY] = [*issued, key][-CHECKOUT_KEYS_KEPT:]
    return key


def _destination_posted(data: QueryDict) -> TaxDestination:
    """The VAT destination of posted checkout fields (`tax.rules`): the country (the shop's own until
    one is chosen) and the VAT number when it is a valid one."""
    country = data.get("country", "")
    number = data.get("vat_number", "")
    return TaxDestination(
        country=country if re.fullmatch(r"[A-Z]{2}", country) else tax_country(),
        vat_number=number if number and vat_number_check(number)[0] else "",
    )


def _priced_for(quote: Quote) -> str:
    """What the page's prices were made for: its destination, treatment and total (a hidden field)."""
    return f"{quote.country}:{quote.treatment}:{quote.total}"


def _expected_total(priced_for: str, destination: TaxDestination | None) -> Decimal | None:
    """The total the page showed, when it was priced for another destination than the one posted
    (the customer changed the country or the VAT number): `order_place` refuses a different total
    (`TotalChanged`), so nobody pays what the page did not show. None when the page was priced for
    this destination (its total is the order's) or the field is missing."""
    parts = priced_for.split(":")
    if destination is None or len(parts) != 3:
        return None
    country, treatment, total = parts
    now = tax_treatment(country=destination.country, vat_number=destination.vat_number)
    if (country, treatment) == (destination.country.upper(), now):
        return None
    try:
        return Decimal(total)
    except InvalidOperation:
        return None


def _render_checkout(
    request: HttpRequest,
    form: CheckoutForm,
    summary: CartSummary,
    *,
    payment_action_secret: str = "",
    saved_addresses: list | None = None,
    current_address=None,
) -> HttpResponse:
    # Each delivery option as this destination pays it (its shipping taxed like the goods), and the
    # order's total with it.
    shipping = {
        code: quote_shipping(summary.quote, option.cost) for code, option in shipping_options().items()
    }
    totals = [
        (option, shipping[code], summary.goods_total + shipping[code])
        for code, option in shipping_options().items()
    ]
    form.show_delivery_costs(shipping)
    plan = checkout_payment_plan(summary.quote)
    need_by = getattr(form, "cleaned_data", {}).get("need_by")
    late = need_by_misses(quote=summary.quote, need_by=need_by)
    if late:
        label = f"I understand they may arrive after {date_in_words(need_by, weekday=True)}"
        form.fields["accept_need_by_late"].label = form["accept_need_by_late"].label = label
    return render(
        request,
        "orders/checkout.html",
        {
            "form": form,
            "summary": summary,
            "quote": summary.quote,
            "totals_by_option": totals,
            "cart_count": summary.count,
            "stripe_enabled": settings.STRIPE_ENABLED,
            "stripe_js_url": settings.STRIPE_JS_URL,
            "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "payment_action_secret": payment_action_secret,
            "due_now": checkout_due_now(summary.quote, plan.plan, plan.deposit_percent),
            "payment_plan": plan,
            "need_by": need_by,
            "need_by_late": late,  # waiting items expected after the customer's need-by date
            "need_by_latest": need_by_latest(summary.quote),
            "priced_for": _priced_for(summary.quote),  # docs/tax.md: a changed destination's total
            # Whom the VAT rows are for: the country the quote was made for, the delivery option chosen.
            "vat_country": dict(form.fields["country"].choices).get(
                summary.quote.country, summary.quote.country
            ),
            "vat_option": shipping_options().get(form["shipping_method"].value() or "")
            or next(iter(shipping_options().values())),
            # A signed-in customer's saved addresses, to pick one ("Deliver here"); none for a guest.
            "saved_addresses": checkout_addresses(user=request.user)
            if saved_addresses is None
            else saved_addresses,
            "current_address": current_address,
        },
    )


@require_POST
@ratelimit(key="ip", rate="20/m", block=False)
def checkout_card_setup(request: HttpRequest) -> JsonResponse:
    """Start saving a card for this checkout: a Stripe customer and a SetupIntent whose secret the
    page's Stripe.js confirms with the card typed into Stripe's field. JSON, for the page's script."""
    if getattr(request, "limited", False):
        return JsonResponse({"error": "Too many attempts. Please wait a minute and try again."}, status=429)
    if not settings.STRIPE_ENABLED:
        return JsonResponse({"error": "Card payments are not available right now."}, status=404)
    key = request.POST.get("idempotency_key", "")
    if not (key and key in request.session.get(CHECKOUT_KEYS_SESSION_KEY, [])):
        return JsonResponse(
            {"error": "This checkout page has expired. Please reload it; nothing was ordered."}, status=400
        )
    email_field = CheckoutForm.base_fields["email"]
    try:
        email = email_field.clean(request.POST.get("email", ""))
    except ValidationError:
        return JsonResponse(
            {"error": "Enter your email address first: we send your receipt there."}, status=400
        )
    name = " ".join(request.POST.get("full_name", "").split())[:200]
    try:
        setup = card_checkout_setup(email=email, name=name, key=f"{key}:{email}:{name}"[:200])
    except CheckoutError as exc:
        return JsonResponse({"error": str(exc)}, status=503)
    setups = request.session.get(CARD_SETUPS_SESSION_KEY, {})
    setups[key] = setup.id
    request.session[CARD_SETUPS_SESSION_KEY] = dict(list(setups.items())[-CHECKOUT_KEYS_KEPT:])
    return JsonResponse({"client_secret": setup.client_secret})


def _render_checkout_again(
    request: HttpRequest,
    data: QueryDict,
    shipping_method: str,
    *,
    errors: tuple[str, ...] = (),
    field_errors: dict[str, str] | None = None,
    requires_terms: bool = False,
    payment_action_secret: str = "",
) -> HttpResponse:
    """The checkout page again, for a POST that placed nothing: the posted fields with their errors
    (the backorder terms required when the cart as it is now, or `order_place`, says some units
    will wait), then `errors` above the form."""
    summary = cart_summary(
        user=request.user,
        cart_id=session_cart_id(request),
        shipping_method=shipping_method,
        destination=_destination_posted(data),
    )
    form = CheckoutForm(data, requires_terms=requires_terms or summary.quote.has_backorders)
    form.is_valid()
    for error in errors:
        form.add_error(None, error)
    for field, error in (field_errors or {}).items():
        form.add_error(field, error)
    return _render_checkout(request, form, summary, payment_action_secret=payment_action_secret)


@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    """Review and place the order. The idempotency key makes a repeated submit land on the same order."""
    options = shipping_options()
    shipping_method = request.POST.get("shipping_method")
    if shipping_method not in options:
        shipping_method = next(iter(options))

    if request.method == "GET":
        # A signed-in customer's default address (or the one picked with "Deliver here") fills the form.
        saved = checkout_addresses(user=request.user)
        picked = checkout_address_pick(saved, chosen=request.GET.get("address"))
        # Priced for the shop's own country until the customer chooses one (docs/tax.md), or for the
        # country of the saved address the form is filled with.
        summary = cart_summary(
            user=request.user,
            cart_id=session_cart_id(request),
            shipping_method=shipping_method,
            destination=TaxDestination(country=picked.country if picked else tax_country()),
        )
        if not summary.lines:
            messages.info(request, _("Your cart is empty: add something before checking out."))
            return redirect("orders:cart")
        initial = {
            **address_initial(picked),
            "email": request.user.email if request.user.is_authenticated else "",
            "shipping_method": shipping_method,
            "ship_policy": default_ship_policy(),
            "payment_method": default_payment_method(),
            "idempotency_key": _issue_checkout_key(request),
        }
        form = CheckoutForm(initial=initial, requires_terms=summary.quote.has_backorders)
        return _render_checkout(request, form, summary, saved_addresses=saved, current_address=picked)

    # Placing the order needs only the cart's variant ids and quantities (`order_place` prices and
    # splits them itself); the summary is read only when the page has to be shown again.
    data = request.POST.copy()
    key = data.get("idempotency_key", "")
    if not (key and key in request.session.get(CHECKOUT_KEYS_SESSION_KEY, [])):
        data["idempotency_key"] = _issue_checkout_key(request)
        return _render_checkout_again(
            request,
            data,
            shipping_method,
            errors=(
                "This checkout page has expired, so nothing was ordered. Please check your order below and "
                "place it again.",
            ),
        )
    # The backorder terms are checked by `order_place`, which knows whether anything will wait.
    form = CheckoutForm(data, requires_terms=False)
    if not form.is_valid():
        return _render_checkout_again(request, data, shipping_method)
    setup = form.cleaned_data["card_setup_intent"]
    if setup and request.session.get(CARD_SETUPS_SESSION_KEY, {}).get(key) != setup:
        # A card confirmed in another page (or tab, or session) is not this checkout's.
        data["card_setup_intent"] = data["card_payment_intent"] = ""
        return _render_checkout_again(
            request, data, shipping_method, errors=("Please enter your card details again.",)
        )

    cart = cart_items(user=request.user, cart_id=session_cart_id(request))
    items = cart.items
    try:
        result = order_place(
            # Only the server-side cart's variant ids and quantities: never prices or SKUs from the form.
            items=items,
            variants=cart.variants,
            email=form.cleaned_data["email"],
            address=form.address(),
            shipping_method=form.cleaned_data["shipping_method"],
            ship_policy=form.cleaned_data["ship_policy"],
            payment_method=form.cleaned_data["payment_method"],
            card_number=form.cleaned_data.get("card_number", ""),
            card_setup_intent=form.cleaned_data["card_setup_intent"],
            card_payment_intent=form.cleaned_data["card_payment_intent"],
            accept_backorder_terms=form.cleaned_data["accept_backorder_terms"],
            idempotency_key=key,
            user_id=request_user_id(request),
            cart_id=cart.cart_id,
            need_by=form.need_by_choice(),
            company_name=form.cleaned_data["company_name"],
            vat_number=form.cleaned_data["vat_number"],
            expected_total=_expected_total(data.get("priced_for", ""), form.tax_destination()),
            language=request.LANGUAGE_CODE,
        )
    except PaymentActionRequired as action:
        # 3-D Secure: the page asks the bank in the browser (Stripe.js), then submits again.
        data["card_payment_intent"] = action.intent_id
        return _render_checkout_again(
            request, data, shipping_method, payment_action_secret=action.client_secret
        )
    except NeedByLate:  # the page says which items and their dates beside the field
        return _render_checkout_again(
            request,
            data,
            shipping_method,
            field_errors={"accept_need_by_late": "Tick this box to order anyway, or choose a later date."},
        )
    except TotalChanged as exc:  # another country or VAT number than the page was priced for
        return _render_checkout_again(request, data, shipping_method, errors=(str(exc),))
    except BackorderTermsRequired:
        return _render_checkout_again(request, data, shipping_method, requires_terms=True)
    except CheckoutError as exc:
        if not items:
            messages.info(request, str(exc))
            return redirect("orders:cart")
        return _render_checkout_again(request, data, shipping_method, errors=(str(exc),))

    if result.created and request.user.is_authenticated and form.cleaned_data.get("save_address"):
        _checkout_address_save(request, form)
    # The order page's "Thank you" banner, once: a signed cookie, not the session (no session write).
    return thank_you_set(redirect(order_access_path(result.order.number)), number=result.order.number)


def _checkout_address_save(request: HttpRequest, form: CheckoutForm) -> None:
    """The "Save this address to my account" box: the address is kept right after the order was
    placed (never for a guest). The order stands either way; an address that cannot be kept (the
    account's limit) is said in a message."""
    try:
        address_save_from_checkout(user_id=request.user.pk, data=AddressData.from_mapping(form.cleaned_data))
    except AddressError as exc:
        messages.warning(
            request, _("Your order is placed, but the address was not saved: %(reason)s") % {"reason": exc}
        )
