"""The cart pages: show the cart, add a variant, change or remove a line."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ..forms import CartAddForm, CartLineForm, form_error_text
from ..selectors import cart_summary
from ..services import CartError, cart_add, cart_remove, cart_set_quantity, shipping_options
from .base import CART_SESSION_KEY, cart_for_request, cart_for_request_or_new, next_url, session_cart_id


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
    back = next_url(request) or reverse("orders:cart")
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return HttpResponseRedirect(back)  # a URL, never a view name for redirect() to resolve
    variant, quantity = form.cleaned_data["variant"], form.cleaned_data["quantity"]
    guest = not request.user.is_authenticated
    # A guest's first item: `cart_add` creates the cart together with the line.
    cart_id = None if guest and session_cart_id(request) is None else cart_for_request_or_new(request).pk
    try:
        line = cart_add(cart_id=cart_id, variant_id=variant.pk, quantity=quantity, variant=variant)
    except CartError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(back)
    if guest and cart_id is None:
        request.session[CART_SESSION_KEY] = line.cart_id
    messages.success(
        request, _("Added %(quantity)s × %(item)s to your cart.") % {"quantity": quantity, "item": variant}
    )
    return redirect("orders:cart")


@require_POST
def cart_line_update(request: HttpRequest, line_id: int) -> HttpResponse:
    form = CartLineForm(request.POST)
    cart = cart_for_request(request)
    if cart is None:
        messages.error(request, _("Your cart is empty."))
    elif not form.is_valid():
        messages.error(request, form_error_text(form))
    else:
        try:
            line = cart_set_quantity(cart_id=cart.pk, line_id=line_id, quantity=form.cleaned_data["quantity"])
        except CartError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("You now have %(quantity)s × %(item)s in your cart.")
                % {"quantity": line.quantity, "item": line.variant},
            )
    return redirect("orders:cart")


@require_POST
def cart_line_remove(request: HttpRequest, line_id: int) -> HttpResponse:
    cart = cart_for_request(request)
    removed = None
    if cart is not None:
        try:
            removed = cart_remove(cart_id=cart.pk, line_id=line_id)
        except CartError as exc:
            messages.error(request, str(exc))
            return redirect("orders:cart")
    if removed is not None:
        messages.success(request, _("Removed %(item)s from your cart.") % {"item": removed.variant})
    else:
        messages.info(request, _("That item was not in your cart any more."))
    return redirect("orders:cart")
