"""Customer pages of the catalog, and sign-up.

Views only read request parameters, call selectors and render; what is visible
to a customer is decided in `shop.selectors`.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, translate_url
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language
from django_ratelimit.core import get_usage

from accounts.services.verification import account_create
from orders.views import cart_merge_at_login, session_cart_id

from .cache import listing_page
from .forms import CatalogQueryForm, SearchQueryForm, SignupForm
from .models import Category, WorkerHeartbeat
from .page_cache_pages import fill_product_slots, home_page, product_page_html
from .selectors import category_get_for_customer, product_list_attach_availability, product_search
from .services import password_reset_request, user_language_set


def home(request: HttpRequest) -> HttpResponse:
    # The content every visitor sees alike may come from the page cache (shop/page_cache_pages.py);
    # the page around it (cart, messages, sign-in state) is rendered for this visitor every time.
    page = home_page()
    response = render(
        request,
        "shop/home.html",
        {
            "home_html": page.html,
            "category_nav_html": page.category_nav_html,
            # Read by the empty shop's content (rendered here, never cached).
            "nav_categories": page.nav_categories,
            "products": page.products,
            "products_heading": page.heading,
        },
    )
    response["X-Page-Cache"] = page.source  # hit, badges (computed again) or miss: for operators
    return response


def _listing_context(
    request: HttpRequest, *, form: CatalogQueryForm, category: Category | None, require_query: bool = False
) -> dict:
    """Search, filter, sort and paginate visible products, each with its availability badge;
    with `require_query`, list nothing until asked."""
    query, sort, availability = form.values()
    context = {
        "form": form,
        "query": query,
        "sort": sort,
        "availability": availability,
        "availability_label": form.availability_label(availability),
        "page_obj": None,
        "products": [],
    }
    if query or not require_query:
        products = product_search(category=category, query=query, sort=sort, availability=availability)
        page = Paginator(products, settings.SHOP_PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = product_list_attach_availability(products=page.object_list)
        context.update({"page_obj": page, "products": page.object_list})
    return context


def category_detail(request: HttpRequest, slug: str) -> HttpResponse:
    form = CatalogQueryForm(request.GET)
    query, sort, availability = form.values()
    if query or availability:
        # Which products match depends on the words typed or on live stock: computed every time.
        category, subcategories = category_get_for_customer(slug=slug)
        context = _listing_context(request, form=form, category=category)
        context.update({"category": category, "subcategories": subcategories})
        context["listing_html"] = render_to_string("shop/category_listing.html", context, request)
        cache_state = "miss"
    else:
        # The part every visitor sees alike may come from the page cache (shop/cache.py); the
        # page around it (cart, messages, sign-in state) is rendered for this visitor every time.
        listing = listing_page(slug=slug, sort=sort, page=request.GET.get("page"))
        context = {
            "category": listing.category,
            "page_obj": listing.page_obj,
            "products": listing.page_obj.object_list,
            "listing_html": listing.html,
            "category_nav_html": listing.category_nav_html,
        }
        cache_state = listing.source
    response = render(request, "shop/category.html", context)
    response["X-Page-Cache"] = cache_state  # hit, badges (computed again) or miss: for operators
    return response


def search(request: HttpRequest) -> HttpResponse:
    # Without a query, say how to search rather than list the whole catalog.
    context = _listing_context(request, form=SearchQueryForm(request.GET), category=None, require_query=True)
    context["navbar_query"] = context["query"]
    return render(request, "shop/search.html", context)


def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    # As the home page: the shared content from the page cache, its per-visitor slots filled here.
    page = product_page_html(
        slug=slug, sku=request.GET.get("variant"), origin=f"{request.scheme}://{request.get_host()}"
    )
    response = render(
        request,
        "shop/product.html",
        {
            "product_name": page.name,
            "product_html": fill_product_slots(page.html, request=request, notify=page.notify),
            "category_nav_html": page.category_nav_html,
            "variants": page.variants,
            "selected_variant": page.selected_variant,
            "availability": page.availability,
            "alternatives": page.alternatives,
        },
    )
    response["X-Page-Cache"] = page.source
    return response


# --- throttling of the account pages (docs/security.md) ----------------------------------------------


def _over_limit(request: HttpRequest, *, group: str, rate_setting: str, value: str | None = None) -> int:
    """Count this POST against `group` (per client IP, or per `value`, e.g. the address typed); the seconds
    until the window resets when the rate in settings.`rate_setting` is exceeded, else 0."""
    usage = get_usage(
        request,
        group=group,
        key="ip" if value is None else (lambda group, request: value),
        rate=lambda group, request: getattr(settings, rate_setting),
        method="POST",
        increment=True,
    )
    return max(usage["time_left"], 1) if usage and usage["should_limit"] else 0


def _too_many_attempts(request: HttpRequest, *, what: str, wait: int) -> HttpResponse:
    """The friendly 429 page; nothing was checked, created or sent."""
    response = render(
        request, "registration/rate_limited.html", {"what": what, "minutes": -(-wait // 60)}, status=429
    )
    response["Retry-After"] = str(wait)
    return response


def _normalized(value: str) -> str:
    return value.strip().lower()[:254]


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    if request.method == "POST":
        # Every attempt counts (the form says whether an address is taken), and so does
        # every valid one, under the lower limit of accounts an address may create.
        wait = _over_limit(
            request, group="accounts.signup.attempt", rate_setting="SIGNUP_ATTEMPT_RATE_PER_IP"
        )
        if wait:
            return _too_many_attempts(
                request, what=pgettext("too many attempts to …", "create an account"), wait=wait
            )
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = _over_limit(request, group="accounts.signup", rate_setting="SIGNUP_RATE_PER_IP")
        if wait:
            return _too_many_attempts(
                request, what=pgettext("too many attempts to …", "create an account"), wait=wait
            )
        try:
            # The account and its "confirm your email address" email, in one transaction. Guest
            # orders with the address are attached only once it is confirmed (accounts.services).
            user = account_create(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                language=getattr(request, "LANGUAGE_CODE", "") or "",
            )
        except IntegrityError:  # another sign-up took the address since the form checked it
            form.add_error("email", _("An account with this email address already exists."))
            return render(request, "registration/signup.html", {"form": form, "next": next_url})
        guest_cart_id = session_cart_id(request)
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        cart_merge_at_login(request, guest_cart_id=guest_cart_id)
        messages.success(
            request,
            _(
                "Welcome! Your account is ready. We have sent a link to %(email)s: open it to confirm your address."
            )
            % {"email": user.email},
        )
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


def _login_wait(request: HttpRequest) -> int:
    """Seconds to wait before another login attempt; both counters move on every attempt."""
    # The login form's field keeps Django's name, "username"; it holds the email address.
    username = _normalized(request.POST.get("username", ""))
    return max(
        _over_limit(request, group="accounts.login.ip", rate_setting="LOGIN_RATE_PER_IP"),
        _over_limit(
            request, group="accounts.login.username", rate_setting="LOGIN_RATE_PER_USERNAME", value=username
        )
        if username
        else 0,
    )


def admin_login(request: HttpRequest, extra_context=None) -> HttpResponse:
    """The admin's login page under the same throttle as the customers' (the counters are shared)."""
    from django.contrib import admin

    if request.method == "POST":
        wait = _login_wait(request)
        if wait:
            return _too_many_attempts(request, what=pgettext("too many attempts to …", "log in"), wait=wait)
    return admin.site.login(request, extra_context)


class LoginView(auth_views.LoginView):
    """Django's login view; the guest's cart moves into the account's cart on success."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        # Both counters move on every attempt, whether or not an account has the address.
        wait = _login_wait(request)
        if wait:
            return _too_many_attempts(request, what=pgettext("too many attempts to …", "log in"), wait=wait)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        guest_cart_id = session_cart_id(self.request)  # read first: logging in may flush the session
        response = super().form_valid(form)
        cart_merge_at_login(self.request, guest_cart_id=guest_cart_id)
        return _in_account_language(response, language=getattr(form.get_user(), "language", ""))


def _in_account_language(response: HttpResponse, *, language: str) -> HttpResponse:
    """After logging in, the account's language (User.language, set by the switcher) is this
    browser's too: its cookie, and the page the login goes on to in that language (docs/i18n.md)."""
    if language not in dict(settings.LANGUAGES):
        return response
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    if response.has_header("Location"):
        response["Location"] = translate_url(response["Location"], language)
    return response


# The address typed on the password-reset form, for the "check your email" page after it: a signed
# cookie of the visitor's own browser, not the session, so the request still makes no query at all.
PASSWORD_RESET_EMAIL_COOKIE = "password_reset_email"
PASSWORD_RESET_EMAIL_MAX_AGE = 60 * 60


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, throttled per IP and per address. Its answer is the same whether or
    not an account has the address (an email goes only to an existing account's address); so is the
    429 page, since the counters move for every address alike."""

    def post(self, request, *args, **kwargs):
        email = _normalized(request.POST.get("email", ""))
        wait = max(
            _over_limit(
                request, group="accounts.password_reset.ip", rate_setting="PASSWORD_RESET_RATE_PER_IP"
            ),
            _over_limit(
                request,
                group="accounts.password_reset.email",
                rate_setting="PASSWORD_RESET_RATE_PER_EMAIL",
                value=email,
            )
            if email
            else 0,
        )
        if wait:
            return _too_many_attempts(
                request, what=pgettext("too many attempts to …", "reset a password"), wait=wait
            )
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        # Not form.save(): looking the address up and sending the email in the request would
        # make answers for real accounts measurably slower. The worker does both.
        password_reset_request(email=form.cleaned_data["email"], language=self.request.LANGUAGE_CODE)
        response = redirect(self.get_success_url())
        response.set_signed_cookie(
            PASSWORD_RESET_EMAIL_COOKIE,
            form.cleaned_data["email"],
            salt=PASSWORD_RESET_EMAIL_COOKIE,
            max_age=PASSWORD_RESET_EMAIL_MAX_AGE,
            path=reverse("password_reset_done"),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        return response


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    """ "Check your email", naming the address this visitor just typed (and nothing about whether an
    account has it: the sentence is the same either way)."""

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "email": self.request.get_signed_cookie(
                PASSWORD_RESET_EMAIL_COOKIE,
                default="",
                salt=PASSWORD_RESET_EMAIL_COOKIE,
                max_age=PASSWORD_RESET_EMAIL_MAX_AGE,
            ),
        }


@require_GET
def contact(request: HttpRequest) -> HttpResponse:
    """How to reach customer service: the contact settings (the context processor's SHOP_CONTACT)."""
    return render(request, "shop/contact.html", {})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The account page: the address (and whether it is confirmed, with "Send the link again")."""
    return render(request, "registration/account.html", {})


def health(request: HttpRequest) -> JsonResponse:
    """Health check for load balancers: the database answers; when did a worker last run."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    beat = WorkerHeartbeat.objects.order_by("-seen_at").first()
    return JsonResponse(
        {"status": "ok", "database": "ok", "worker_last_seen": beat.seen_at.isoformat() if beat else None}
    )


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """The navbar's language switcher (POST `language`, `next`): Django's `set_language` (the cookie,
    and a redirect to `next` in the chosen language), and for a signed-in customer User.language."""
    # `next` is resolved in its own language (Django's translate_url resolves in the active one, and
    # this URL has no prefix: English), then reversed in the chosen one.
    next_path = urlsplit(request.POST.get("next", "")).path
    with translation.override(translation.get_language_from_path(next_path) or settings.LANGUAGE_CODE):
        response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        user_language_set(user=request.user, language=language)
    return response
