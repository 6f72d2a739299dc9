"""Customer pages for carts, checkout and orders.

Every page that shows an order checks ownership or a signed token
(`order_get_for_customer`). Views read the request, call a selector or a
service and render; prices, stock and dates are never taken from the client.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shop.templatetags.shop_tags import money

from .delays import DelayLinkError, DelayLinkUsed, delay_cancel_waiting, delay_keep_waiting
from .feedback import (
    FeedbackAlreadyGiven,
    FeedbackError,
    email_opted_out,
    email_preference_set,
    feedback_record,
)
from .forms import (
    CancelBackorderedForm,
    CartAddForm,
    CartLineForm,
    CheckoutForm,
    EmailPreferencesForm,
    FeedbackForm,
    default_ship_policy,
    form_error_text,
)
from .models import Cart, DelayChoice, DelayNotice
from .selectors import (
    CartSummary,
    cart_get,
    cart_items,
    cart_summary,
    delay_cancel_preview,
    delay_notice_for_link,
    feedback_get,
    order_get_for_customer,
    order_list_for_user,
)
from .services import (
    BackorderTermsRequired,
    CartError,
    CheckoutError,
    OrderActionError,
    cart_add,
    cart_get_or_create,
    cart_merge,
    cart_remove,
    cart_set_quantity,
    order_cancel_backordered,
    order_place,
    shipping_options,
)
from .tokens import (
    DELAY_CANCEL_SALT,
    DELAY_KEEP_SALT,
    EMAIL_PREFERENCES_MAX_AGE,
    EMAIL_PREFERENCES_SALT,
    FEEDBACK_SALT,
    order_access_path,
    read_link_token,
)

# Session keys.
CART_SESSION_KEY = "orders.cart_id"  # a guest's cart
CHECKOUT_KEYS_SESSION_KEY = "orders.checkout_keys"  # idempotency keys issued by the checkout page
THANK_YOU_SESSION_KEY = "orders.thank_you"  # the order just placed, for the confirmation banner
CHECKOUT_KEYS_KEPT = 20
ORDERS_PER_PAGE = 20


# --- the cart in the session ------------------------------------------------------------------


def session_cart_id(request: HttpRequest) -> int | None:
    """The guest cart id kept in the session, if any."""
    session = getattr(request, "session", None)
    value = session.get(CART_SESSION_KEY) if session is not None else None
    return value if isinstance(value, int) else None


def _user_id(request: HttpRequest) -> int | None:
    return request.user.pk if request.user.is_authenticated else None


def _cart_for_request(request: HttpRequest) -> Cart | None:
    return cart_get(user=request.user, cart_id=session_cart_id(request))


def _cart_for_request_or_new(request: HttpRequest) -> Cart:
    cart = cart_get_or_create(user_id=_user_id(request), cart_id=session_cart_id(request))
    if cart.user_id is None and session_cart_id(request) != cart.pk:
        request.session[CART_SESSION_KEY] = cart.pk
    return cart


def cart_merge_at_login(request: HttpRequest, *, guest_cart_id: int | None) -> None:
    """After a login or sign-up: move the guest cart into the account's cart and say what was capped.

    `guest_cart_id` is read before logging in (logging in may flush the session).
    """
    request.session.pop(CART_SESSION_KEY, None)
    if guest_cart_id is None or not request.user.is_authenticated:
        return
    for note in cart_merge(source_cart_id=guest_cart_id, user_id=request.user.pk):
        messages.warning(request, note)


def _next_url(request: HttpRequest) -> str:
    """The posted `next` address when it points to this site, else ''."""
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


# --- cart pages ----------------------------------------------------------------------------------


@require_GET
def cart_detail(request: HttpRequest) -> HttpResponse:
    summary = cart_summary(user=request.user, cart_id=session_cart_id(request))
    return render(
        request,
        "orders/cart.html",
        {
            "summary": summary,
            "cart_count": summary.count,  # the navbar's number, without asking again
            "shipping_options": shipping_options().values(),
        },
    )


@require_POST
def cart_line_add(request: HttpRequest) -> HttpResponse:
    form = CartAddForm(request.POST)
    back = _next_url(request) or reverse("orders:cart")
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return HttpResponseRedirect(back)  # a URL, never a view name for redirect() to resolve
    variant, quantity = form.cleaned_data["variant"], form.cleaned_data["quantity"]
    guest = not request.user.is_authenticated
    # A guest's first item: `cart_add` creates the cart together with the line.
    cart_id = None if guest and session_cart_id(request) is None else _cart_for_request_or_new(request).pk
    try:
        line = cart_add(cart_id=cart_id, variant_id=variant.pk, quantity=quantity)
    except CartError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(back)
    if guest and cart_id is None:
        request.session[CART_SESSION_KEY] = line.cart_id
    messages.success(request, f"Added {quantity} × {variant} to your cart.")
    return redirect("orders:cart")


@require_POST
def cart_line_update(request: HttpRequest, line_id: int) -> HttpResponse:
    form = CartLineForm(request.POST)
    cart = _cart_for_request(request)
    if cart is None:
        messages.error(request, "Your cart is empty.")
    elif not form.is_valid():
        messages.error(request, form_error_text(form))
    else:
        try:
            line = cart_set_quantity(cart_id=cart.pk, line_id=line_id, quantity=form.cleaned_data["quantity"])
        except CartError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"You now have {line.quantity} × {line.variant} in your cart.")
    return redirect("orders:cart")


@require_POST
def cart_line_remove(request: HttpRequest, line_id: int) -> HttpResponse:
    cart = _cart_for_request(request)
    removed = None
    if cart is not None:
        try:
            removed = cart_remove(cart_id=cart.pk, line_id=line_id)
        except CartError as exc:
            messages.error(request, str(exc))
            return redirect("orders:cart")
    if removed is not None:
        messages.success(request, f"Removed {removed.variant} from your cart.")
    else:
        messages.info(request, "That item was not in your cart any more.")
    return redirect("orders:cart")


# --- checkout ----------------------------------------------------------------------------------


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
            user_id=_user_id(request),
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


# --- order pages -------------------------------------------------------------------------------


def _order_url(number: str, token: str) -> str:
    url = reverse("orders:detail", kwargs={"number": number})
    return f"{url}?{urlencode({'token': token})}" if token else url


@require_GET
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    token = request.GET.get("token") or ""
    order = order_get_for_customer(number=number, user=request.user, token=token)
    thank_you = False
    if request.session.get(THANK_YOU_SESSION_KEY) == order.number:
        thank_you = True
        del request.session[THANK_YOU_SESSION_KEY]
    waiting = [line for line in order.lines.all() if line.quantity_backordered]
    cancel_form = None
    if waiting:
        cancel_form = CancelBackorderedForm(lines=waiting, initial={"token": token})
    return render(
        request,
        "orders/detail.html",
        {
            "order": order,
            "token": token,
            "thank_you": thank_you,
            "waiting_lines": waiting,
            "cancel_form": cancel_form,
        },
    )


@require_POST
def order_cancel(request: HttpRequest, number: str) -> HttpResponseRedirect:
    """Cancel waiting units at the customer's request; ownership or the token is checked again."""
    token = request.POST.get("token") or ""
    order = order_get_for_customer(number=number, user=request.user, token=token)
    back = _order_url(order.number, token)
    form = CancelBackorderedForm(request.POST, lines=list(order.lines.all()))
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return redirect(back)
    quantities = form.quantities()
    if not quantities:
        messages.error(request, "Enter how many of the waiting units you want to cancel.")
        return redirect(back)
    try:
        released = order_cancel_backordered(
            order_id=order.pk, quantities=quantities, user_id=_user_id(request), by_staff=False
        )
    except OrderActionError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    units = sum(quantities.values())
    messages.success(
        request,
        f"Cancelled {units} waiting unit{'s' if units != 1 else ''}. {money(released, order.currency)} "
        "has been released back to your payment method. We have emailed you a confirmation.",
    )
    return redirect(back)


@login_required
@require_GET
def order_history(request: HttpRequest) -> HttpResponse:
    page = Paginator(order_list_for_user(user=request.user), ORDERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "orders/history.html", {"page_obj": page, "orders": page.object_list})


# --- links in delay emails ------------------------------------------------------------------------
#
# Mail scanners open links, so GET only shows a page; the page's button POSTs. Each link is signed
# for one purpose (its own salt), expires, and works once: the service records its use on the notice.

DAY = 60 * 60 * 24


def _link_invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/link_invalid.html", status=400)


def _notice_for(token: str, salt: str) -> DelayNotice | None:
    notice_id = read_link_token(salt, token, max_age=DAY * settings.DELAY_LINK_MAX_AGE_DAYS)
    return delay_notice_for_link(notice_id=notice_id) if isinstance(notice_id, int) else None


def _delay_context(notice: DelayNotice, **extra) -> dict:
    return {
        "notice": notice,
        "order": notice.order,
        "delays": notice.delays,
        "order_url": order_access_path(notice.order.number),
        **extra,
    }


def _link_used(request: HttpRequest, notice: DelayNotice) -> HttpResponse:
    return render(request, "orders/delay_link_used.html", _delay_context(notice), status=410)


@require_http_methods(["GET", "POST"])
def delay_keep(request: HttpRequest, token: str) -> HttpResponse:
    """ "Keep waiting" from a delay email: the page asks, the button records the choice (once)."""
    notice = _notice_for(token, DELAY_KEEP_SALT)
    if notice is None:
        return _link_invalid(request)
    if notice.choice != DelayChoice.NONE:
        return _link_used(request, notice)
    if request.method == "POST":
        try:
            delay_keep_waiting(notice_id=notice.pk)
        except DelayLinkUsed:
            return _link_used(request, notice)
        return render(request, "orders/delay_keep_done.html", _delay_context(notice))
    return render(request, "orders/delay_keep.html", _delay_context(notice))


@require_http_methods(["GET", "POST"])
def delay_cancel(request: HttpRequest, token: str) -> HttpResponse:
    """ "Cancel these items" from a delay email: the page shows what would be cancelled and the amount;
    the button cancels the units still waiting and releases exactly their price (once)."""
    notice = _notice_for(token, DELAY_CANCEL_SALT)
    if notice is None:
        return _link_invalid(request)
    if notice.choice == DelayChoice.CANCELLED:
        return _link_used(request, notice)
    if request.method == "POST":
        try:
            result = delay_cancel_waiting(notice_id=notice.pk)
        except DelayLinkUsed:
            return _link_used(request, notice)
        except DelayLinkError as exc:
            return render(
                request,
                "orders/delay_cancel.html",
                _delay_context(notice, preview=[], error=str(exc)),
                status=409,
            )
        return render(
            request,
            "orders/delay_cancel_done.html",
            _delay_context(notice, amount=result.amount, units=sum(result.quantities.values())),
        )
    preview = delay_cancel_preview(notice=notice)
    total = sum((row.amount for row in preview), Decimal("0"))
    return render(request, "orders/delay_cancel.html", _delay_context(notice, preview=preview, total=total))


# --- feedback and email preferences -----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, token: str) -> HttpResponse:
    """The one-question feedback form of the feedback email; an answer is taken once."""
    feedback_id = read_link_token(FEEDBACK_SALT, token, max_age=DAY * settings.FEEDBACK_LINK_MAX_AGE_DAYS)
    request_row = feedback_get(feedback_id=feedback_id) if isinstance(feedback_id, int) else None
    if request_row is None:
        return _link_invalid(request)
    context = {"feedback": request_row, "order": request_row.order}
    if request_row.answered_at is not None:
        return render(request, "orders/feedback_done.html", {**context, "already": True}, status=410)
    form = FeedbackForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            feedback_record(
                feedback_id=request_row.pk,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except FeedbackAlreadyGiven:
            return render(request, "orders/feedback_done.html", {**context, "already": True}, status=410)
        except FeedbackError as exc:
            form.add_error("rating", str(exc))
        else:
            return render(request, "orders/feedback_done.html", context)
    return render(
        request, "orders/feedback.html", {**context, "form": form}, status=400 if form.is_bound else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def email_preferences(request: HttpRequest) -> HttpResponse:
    """A signed-in customer turns non-essential email on or off; order emails always come."""
    email = request.user.email
    if request.method == "POST" and email:
        form = EmailPreferencesForm(request.POST)
        if form.is_valid():
            wanted = form.cleaned_data["non_essential"]
            email_preference_set(email=email, marketing_opt_out=not wanted)
            messages.success(
                request,
                "We will send you non-essential emails again."
                if wanted
                else "Done: we will only email you about your orders.",
            )
            return redirect("orders:email_preferences")
    form = EmailPreferencesForm(
        initial={"non_essential": not email_opted_out(email=email)} if email else None
    )
    return render(request, "orders/email_preferences.html", {"form": form, "email": email})


@require_http_methods(["GET", "POST"])
def email_preferences_link(request: HttpRequest, token: str) -> HttpResponse:
    """The opt-out link in non-essential emails: GET asks, the button opts the address out."""
    email = read_link_token(EMAIL_PREFERENCES_SALT, token, max_age=EMAIL_PREFERENCES_MAX_AGE)
    if not isinstance(email, str) or not email:
        return _link_invalid(request)
    if request.method == "POST":
        email_preference_set(email=email, marketing_opt_out=True)
        return render(request, "orders/email_preferences_link.html", {"email": email, "done": True})
    return render(request, "orders/email_preferences_link.html", {"email": email})
