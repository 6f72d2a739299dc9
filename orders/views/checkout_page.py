"""The checkout page: review the cart and place the order, once per idempotency key."""

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from ..forms import CheckoutForm, default_ship_policy
from ..selectors import CartSummary, cart_items, cart_summary
from ..services import BackorderTermsRequired, CheckoutError, order_place, shipping_options
from ..tokens import order_access_path
from .base import CHECKOUT_KEYS_SESSION_KEY, THANK_YOU_SESSION_KEY, request_user_id, session_cart_id

CHECKOUT_KEYS_KEPT = 20


def _issue_checkout_key(request: HttpRequest) -> str:
    """A new idempotency key for one rendering of the checkout page, remembered in the session."""
    key = uuid.uuid4().hex
    issued = request.session.get(CHECKOUT_KEYS_SESSION_KEY, [])
    request.session[CHECKOUT_KEYS_SESSION_KEY] = [*issued, key][-CHECKOUT_KEYS_KEPT:]
    return key


def _render_checkout(request: HttpRequest, form: CheckoutForm, summary: CartSummary) -> HttpResponse:
    totals = [(option, summary.goods_total + option.cost) for option in shipping_options().values()]
    return render(
        request,
        "orders/checkout.html",
        {
            "form": form,
            "summary": summary,
            "quote": summary.quote,
            "totals_by_option": totals,
            "cart_count": summary.count,
        },
    )


def _render_checkout_again(
    request: HttpRequest,
    data: QueryDict,
    shipping_method: str,
    *,
    errors: tuple[str, ...] = (),
    requires_terms: bool = False,
) -> HttpResponse:
    """The checkout page again, for a POST that placed nothing: the posted fields with their errors
    (the backorder terms required when the cart as it is now, or `order_place`, says some units
    will wait), then `errors` above the form."""
    summary = cart_summary(
        user=request.user, cart_id=session_cart_id(request), shipping_method=shipping_method
    )
    form = CheckoutForm(data, requires_terms=requires_terms or summary.quote.has_backorders)
    form.is_valid()
    for error in errors:
        form.add_error(None, error)
    return _render_checkout(request, form, summary)


@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    """Review and place the order. The idempotency key makes a repeated submit land on the same order."""
    options = shipping_options()
    shipping_method = request.POST.get("shipping_method")
    if shipping_method not in options:
        shipping_method = next(iter(options))

    if request.method == "GET":
        summary = cart_summary(
            user=request.user, cart_id=session_cart_id(request), shipping_method=shipping_method
        )
        if not summary.lines:
            messages.info(request, "Your cart is empty: add something before checking out.")
            return redirect("orders:cart")
        initial = {
            "email": request.user.email if request.user.is_authenticated else "",
            "shipping_method": shipping_method,
            "ship_policy": default_ship_policy(),
            "payment_method": "test_card",
            "idempotency_key": _issue_checkout_key(request),
        }
        form = CheckoutForm(initial=initial, requires_terms=summary.quote.has_backorders)
        return _render_checkout(request, form, summary)

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

    cart_id, items = cart_items(user=request.user, cart_id=session_cart_id(request))
    try:
        result = order_place(
            # Only the server-side cart's variant ids and quantities: never prices or SKUs from the form.
            items=items,
            email=form.cleaned_data["email"],
            address=form.address(),
            shipping_method=form.cleaned_data["shipping_method"],
            ship_policy=form.cleaned_data["ship_policy"],
            payment_method=form.cleaned_data["payment_method"],
            card_number=form.cleaned_data["card_number"],
            accept_backorder_terms=form.cleaned_data["accept_backorder_terms"],
            idempotency_key=key,
            user_id=request_user_id(request),
            cart_id=cart_id,
        )
    except BackorderTermsRequired:
        return _render_checkout_again(request, data, shipping_method, requires_terms=True)
    except CheckoutError as exc:
        if not items:
            messages.info(request, str(exc))
            return redirect("orders:cart")
        return _render_checkout_again(request, data, shipping_method, errors=(str(exc),))

    request.session[THANK_YOU_SESSION_KEY] = result.order.number
    return redirect(order_access_path(result.order.number))
