"""What the customer pages share: the session's keys and guest cart, the safe `next` address, the
page for a link that does not work."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from ..models import Cart
from ..selectors import cart_get
from ..services import cart_get_or_create, cart_merge

# Session keys.
CART_SESSION_KEY = "orders.cart_id"  # a guest's cart
CHECKOUT_KEYS_SESSION_KEY = "orders.checkout_keys"  # idempotency keys issued by the checkout page
# The order just placed, for the order page's "Thank you" banner: a signed cookie of the browser that
# placed it, read once by the order page. Not the session: placing an order then writes no session row.
THANK_YOU_COOKIE = "orders_thank_you"
THANK_YOU_SALT = "orders.thank_you"
THANK_YOU_MAX_AGE = 60 * 60  # seconds: the banner is for the redirect right after the POST

DAY = 60 * 60 * 24  # seconds, for the signed links' maximum ages


def session_cart_id(request: HttpRequest) -> int | None:
    """The guest cart id kept in the session, if any."""
    session = getattr(request, "session", None)
    value = session.get(CART_SESSION_KEY) if session is not None else None
    return value if isinstance(value, int) else None


def request_user_id(request: HttpRequest) -> int | None:
    """The signed-in customer's id; None for a guest."""
    return request.user.pk if request.user.is_authenticated else None


def thank_you_set(response: HttpResponse, *, number: str) -> HttpResponse:
    """Have the order page of `number` thank the customer once (`thank_you_take`)."""
    response.set_signed_cookie(
        THANK_YOU_COOKIE,
        number,
        salt=THANK_YOU_SALT,
        max_age=THANK_YOU_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def thank_you_pending(request: HttpRequest, *, number: str) -> bool:
    """True on the order page of the order this browser just placed (`thank_you_set`); the view then
    removes the cookie (`thank_you_done`), so the banner shows once."""
    if THANK_YOU_COOKIE not in request.COOKIES:
        return False
    placed = request.get_signed_cookie(
        THANK_YOU_COOKIE, default=None, salt=THANK_YOU_SALT, max_age=THANK_YOU_MAX_AGE
    )
    return placed == number


def thank_you_done(response: HttpResponse) -> HttpResponse:
    response.delete_cookie(THANK_YOU_COOKIE, samesite="Lax")
    return response


def cart_for_request(request: HttpRequest) -> Cart | None:
    return cart_get(user=request.user, cart_id=session_cart_id(request))


def cart_for_request_or_new(request: HttpRequest) -> Cart:
    cart = cart_get_or_create(user_id=request_user_id(request), cart_id=session_cart_id(request))
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


def next_url(request: HttpRequest) -> str:
    """The posted `next` address when it points to this site, else ''."""
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""


def link_invalid(request: HttpRequest) -> HttpResponse:
    """A signed link that was tampered with, expired, or points to nothing: 400, nothing changes."""
    return render(request, "orders/link_invalid.html", status=400)
