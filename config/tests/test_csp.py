"""Every customer page and the admin carry the Content-Security-Policy, and their HTML needs no exception
to it: no inline script (JSON data blocks aside, which are never run), no inline event handler, no
`javascript:` link, no `<style>` block and no `style` attribute.

The browser tests check the same in a real browser (no CSP violation in the console); this test
names the template and the element when one slips in.
"""

import uuid
from html.parser import HTMLParser
from pprint import pformat

import pytest
from csp.constants import NONE, SELF
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.test import Client
from django.urls import reverse

from config.csp_policy import content_security_policy
from config.tests.authz import PASSWORD, build_world
from notifications.models import NotificationKind
from shop.tests.helpers import keyed

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "frame-src": "'self'",
}
# Script elements a browser never runs, so CSP has nothing to say about them.
DATA_BLOCK_TYPES = {"application/ld+json", "application/json"}


def parse_policy(header: str) -> dict[str, str]:
    directives = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {d[0]: (d[1] if len(d) > 1 else "") for d in directives}


class InlineCodeFinder(HTMLParser):
    """Collects what a strict policy (no 'unsafe-inline', no hashes, no nonces) would block."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        where = f"<{tag}{' id=' + attributes['id'] if attributes.get('id') else ''}>"
        data_block = (attributes.get("type") or "").lower() in DATA_BLOCK_TYPES
        if tag == "script" and not attributes.get("src") and not data_block:
            self.problems.append(f"inline script {where}")
        if tag == "style":
            self.problems.append(f"style block {where}")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"style attribute on {where}: {value!r}")
            elif name.startswith("on"):
                self.problems.append(f"event handler {name} on {where}")
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"javascript: URL in {name} on {where}")

    handle_startendtag = handle_starttag


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


def policy_problems(response, *, policy: dict | None = POLICY) -> list[str]:
    """What is wrong with an HTML response under a policy with no inline allowances: its header, and
    anything in its HTML that the policy would block."""
    header = response.get("Content-Security-Policy")
    if not header:
        return ["no Content-Security-Policy header"]
    problems = []
    directives = parse_policy(header)
    if policy is not None and directives != policy:
        problems.append(f"policy {header!r}")
    if policy is None:  # a page with its own, stricter policy (the staff console)
        strict = {
            "default-src": "'self'",
            "script-src": "'self'",
            "style-src": "'self'",
            "frame-ancestors": "'none'",
        }
        problems += [f"{k} {directives.get(k)!r}" for k, v in strict.items() if directives.get(k) != v]
    if "unsafe" in header:
        problems.append(f"policy {header!r}")
    if not response["Content-Type"].startswith("text/html"):
        problems.append(f"not HTML: {response['Content-Type']}")
    return problems + inline_code(response.content.decode())


def assert_strict_page(response, url: str, *, policy: dict | None = POLICY):
    problems = policy_problems(response, policy=policy)
    assert problems == [], f"{url} ({response.status_code}): {problems}"


def test_the_finder_sees_what_the_policy_blocks():
    html = (
        '<script>alert(1)</script><script src="/s.js"></script>'
        '<script type="application/ld+json">{"@type": "Product"}</script>'
        '<div style="color: red" onclick="go()"></div><style>p {}</style><a href="javascript:void(0)">x</a>'
    )

    assert inline_code(html) == [
        "inline script <script>",
        "style attribute on <div>: 'color: red'",
        "event handler onclick on <div>",
        "style block <style>",
        "javascript: URL in href on <a>",
    ]


# --- customer pages ---------------------------------------------------------------------------


def customer_pages(world) -> list[tuple[str, str, int]]:
    """(who, url, expected status) of every customer page, with the states worth seeing."""
    product = reverse("shop:product", args=[world.product.slug])
    order = reverse("orders:detail", args=[world.order.number])
    t = world.tokens
    return [
        ("anon", reverse("shop:home"), 200),
        ("anon", reverse("shop:category", args=[world.category.slug]), 200),
        ("anon", reverse("shop:category", args=[world.category.slug]) + "?sort=-price&availability=now", 200),
        ("anon", product, 200),
        ("anon", f"{product}?variant={world.backorderable.sku}", 200),
        ("anon", f"{product}?variant={world.sold_out.sku}", 200),
        ("anon", reverse("shop:search"), 200),
        ("anon", reverse("shop:search") + "?q=tent", 200),
        ("anon", reverse("shop:search") + "?q=nothing-matches-this", 200),
        ("anon", reverse("shop:contact"), 200),
        ("anon", "/no-such-page/", 404),
        ("anon", reverse("orders:cart"), 200),
        ("anon", f"{order}?token={t['order']}", 200),
        ("anon", reverse("orders:delay_keep", args=[t["delay_keep"]]), 200),
        ("anon", reverse("orders:delay_cancel", args=[t["delay_cancel"]]), 200),
        ("anon", reverse("orders:delay_keep", args=["not-a-token"]), 400),
        ("anon", reverse("orders:feedback", args=[t["feedback"]]), 200),
        ("anon", reverse("orders:email_preferences_link", args=[t["email_preferences"]]), 200),
        ("anon", reverse("notifications:subscribe", args=[world.sold_out.pk]), 200),
        ("anon", reverse("notifications:subscribe_done", args=[world.sold_out.pk]), 200),
        ("anon", reverse("notifications:confirm", args=[t["confirm"]]), 200),
        ("anon", reverse("notifications:confirm", args=["not-a-token"]), 400),
        ("anon", reverse("notifications:unsubscribe", args=[t["unsubscribe"]]), 200),
        ("anon", reverse("login"), 200),
        ("anon", reverse("signup"), 200),
        ("anon", reverse("password_reset"), 200),
        ("anon", reverse("password_reset_done"), 200),
        ("anon", reverse("password_reset_confirm", args=["MQ", "bad-token"]), 200),
        ("anon", reverse("password_reset_complete"), 200),
        ("alice", reverse("account"), 200),
        ("alice", reverse("orders:history"), 200),
        ("alice", order, 200),
        ("alice", reverse("orders:email_preferences"), 200),
        ("alice", reverse("password_change"), 200),
        ("alice", reverse("password_change_done"), 200),
    ]


def test_every_customer_page_satisfies_the_policy(client):
    world = build_world()
    alice = Client()
    alice.force_login(world.users["alice"])
    clients = {"anon": client, "alice": alice}

    found = {}
    for who, url, status in customer_pages(world):
        response = clients[who].get(url)
        problems = policy_problems(response)
        if response.status_code != status:
            problems.append(f"status {response.status_code}, expected {status}")
        if problems:
            found[url] = problems

    assert found == {}, pformat(found)


def test_cart_checkout_and_form_errors_satisfy_the_policy(client):
    world = build_world()
    product = reverse("shop:product", args=[world.product.slug])
    client.post(reverse("orders:cart_add"), {"variant": world.backorderable.pk, "quantity": 2})

    pages = [
        ("GET", reverse("orders:cart"), None, 200),
        ("GET", reverse("orders:checkout"), None, 200),
        # The checkout again with every error shown (an expired key, missing fields, terms not accepted).
        ("POST", reverse("orders:checkout"), {"email": "not-an-email", "idempotency_key": "x"}, 200),
        ("POST", reverse("notifications:subscribe", args=[world.sold_out.pk]), {"email": "nope"}, 400),
        # "Ask about this order" with its errors (the order page again).
        (
            "POST",
            reverse("orders:question", args=[world.order.number]),
            {"token": world.tokens["order"]},
            400,
        ),
        ("POST", reverse("login"), {"username": "alice@example.com", "password": "wrong"}, 200),
        ("POST", reverse("signup"), {"email": "x", "password1": "a", "password2": "b"}, 200),
        ("GET", f"{product}?variant=NO-SUCH-SKU", None, 200),
    ]
    for method, url, data, status in pages:
        response = client.post(url, data) if method == "POST" else client.get(url)
        assert response.status_code == status, (method, url, response.status_code)
        assert_strict_page(response, url)


def test_refusal_pages_satisfy_the_policy(settings):
    """The CSRF failure page (Django's own has a <style> block: templates/403_csrf.html replaces it) and
    the throttled pages."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl:test-{uuid.uuid4().hex}:"  # the cache may be a shared Redis
    world = build_world()
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(reverse("orders:cart_add"), {"variant": world.in_stock.pk, "quantity": 1})
    assert response.status_code == 403
    assert_strict_page(response, "CSRF failure")

    settings.BACK_IN_STOCK_SIGNUP_RATE_PER_IP = "0/h"
    settings.LOGIN_RATE_PER_IP = "0/m"
    settings.SIGNUP_ATTEMPT_RATE_PER_IP = "0/h"
    settings.PASSWORD_RESET_RATE_PER_IP = "0/h"
    settings.ORDER_QUESTION_RATE_PER_IP = "0/h"
    client = Client()
    for url, data in [
        (reverse("notifications:subscribe", args=[world.sold_out.pk]), {"email": "fan2@example.com"}),
        (reverse("login"), {"username": "alice@example.com", "password": PASSWORD}),
        (reverse("signup"), {"email": "carol@example.com"}),
        (reverse("password_reset"), {"email": "alice@example.com"}),
        (
            reverse("orders:question", args=[world.order.number]),
            {"token": world.tokens["order"], "subject": "other", "message": "Hello"},
        ),
    ]:
        response = client.post(url, data)
        assert response.status_code == 429, url
        assert_strict_page(response, url)


# --- the admin ---------------------------------------------------------------------------------


def admin_pages(world) -> list[str]:
    """The admin index, every model's list, add and change pages, and the custom staff pages."""
    urls = [reverse("admin:index"), reverse("admin:password_change")]
    for model in admin.site._registry:
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        urls.append(reverse(f"{base}_changelist"))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            urls.append(reverse(f"{base}_change", args=[quote(obj.pk)]))
            urls.append(reverse(f"{base}_history", args=[quote(obj.pk)]))
        urls.append(reverse(f"{base}_add"))  # a 403 for read-only models, also a page
    stock_item = world.in_stock.stock_items.get()
    urls += [
        reverse("admin:inventory_stockitem_queue"),
        reverse("admin:inventory_stockitem_queue_variant", args=[world.backorderable.pk]),
        reverse("admin:inventory_stockitem_adjust"),
        reverse("admin:inventory_stockitem_adjust_item", args=[stock_item.pk]),
        reverse("admin:inventory_stockitem_count"),
        reverse("admin:inventory_stockitem_count_item", args=[stock_item.pk]),
        reverse("admin:inventory_stockitem_export"),
        reverse("admin:inventory_purchaseorder_receive", args=[world.ordered_po.pk]),
        reverse("admin:inventory_purchaseorder_mark_ordered", args=[world.draft_po.pk]),
        reverse("admin:inventory_purchaseorder_cancel", args=[world.ordered_po.pk]),
        reverse("admin:shop_product_import"),
        reverse("admin:shop_product_export"),
        reverse("admin:shop_variant_import"),
        reverse("admin:shop_variant_export"),
        reverse("admin:notifications_notification_preview_index"),
        *[
            reverse("admin:notifications_notification_preview", args=[kind])
            for kind in NotificationKind.values
        ],
        reverse("admin:shop_category_delete", args=[world.category.pk]),
    ]
    return urls


STAFF_CONSOLE = ["staff_dashboard", "staff_replenishment", "staff_stock_count_import"]


def test_every_admin_page_satisfies_the_policy(client):
    world = build_world()
    client.force_login(world.users["admin"])

    found = {}
    for url in admin_pages(world):
        response = client.get(url)
        problems = policy_problems(response)
        if response.status_code not in (200, 403):  # 403: the add page of a read-only model
            problems.append(f"status {response.status_code}")
        if problems:
            found[url] = problems
    assert found == {}, pformat(found)

    # The list with every filter open, and an action's confirmation page.
    response = client.get(reverse("admin:orders_order_changelist") + "?backorders=yes&q=BO")
    assert_strict_page(response, "order list, filtered")
    response = client.post(
        reverse("admin:orders_order_changelist"),
        keyed({"action": "cancel_backordered_action", "_selected_action": [world.order.pk]}),
    )
    assert response.status_code == 200
    assert_strict_page(response, "cancel backordered: confirmation")
    # The staff console sets its own policy (base-uri 'none'), stricter than the site's.
    for name in STAFF_CONSOLE:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert_strict_page(response, name, policy=None)


def test_admin_login_satisfies_the_policy(client):
    response = client.get(reverse("admin:login"))

    assert response.status_code == 200
    assert_strict_page(response, "admin login")


def test_email_preview_frame_is_the_only_framed_page(client):
    """The preview page frames the email's HTML from its own origin in a sandbox (frame-src 'self');
    the framed response keeps its own policy (no script at all) and may be framed by the same origin
    only. Every other response forbids framing (frame-ancestors 'none', X-Frame-Options DENY)."""
    world = build_world()
    client.force_login(world.users["admin"])
    kind = NotificationKind.LOW_STOCK_ALERT

    page = client.get(reverse("admin:notifications_notification_preview", args=[kind]))
    frame = client.get(reverse("admin:notifications_notification_preview_html", args=[kind]))

    assert '<iframe title="HTML version of the email" src="' in page.content.decode()
    assert " sandbox " in page.content.decode()
    assert parse_policy(page["Content-Security-Policy"])["frame-src"] == "'self'"
    assert page["X-Frame-Options"] == "DENY"
    assert frame.status_code == 200
    assert frame["Content-Security-Policy"] == "script-src 'none'"
    assert frame["X-Frame-Options"] == "SAMEORIGIN"


# --- card payments: what Stripe.js needs --------------------------------------------------------

SITE_DIRECTIVES = {
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF],
    "img-src": [SELF, "data:"],
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
    "frame-src": [SELF],
}


def test_without_card_payments_the_policy_is_the_sites_own(settings):
    assert content_security_policy(stripe_enabled=False, stripe_api_base="") == {
        "DIRECTIVES": SITE_DIRECTIVES
    }
    assert content_security_policy(stripe_enabled=False, stripe_api_base="http://127.0.0.1:8420") == {
        "DIRECTIVES": SITE_DIRECTIVES
    }
    # The settings' own policy is the function's, from the settings' own values.
    assert (
        content_security_policy(
            stripe_enabled=settings.STRIPE_ENABLED, stripe_api_base=settings.STRIPE_API_BASE
        )
        == settings.CONTENT_SECURITY_POLICY
    )


def test_stripe_itself_adds_its_script_its_api_and_its_frames():
    policy = content_security_policy(stripe_enabled=True, stripe_api_base="")

    assert policy == {
        "DIRECTIVES": {
            **SITE_DIRECTIVES,
            "script-src": [SELF, "https://js.stripe.com"],
            "connect-src": [SELF, "https://api.stripe.com"],
            "frame-src": [SELF, "https://js.stripe.com", "https://hooks.stripe.com"],
        }
    }


def test_localstripe_adds_its_one_origin_for_script_and_calls():
    policy = content_security_policy(stripe_enabled=True, stripe_api_base="http://127.0.0.1:8420")

    assert policy == {
        "DIRECTIVES": {
            **SITE_DIRECTIVES,
            "script-src": [SELF, "http://127.0.0.1:8420"],
            "connect-src": [SELF, "http://127.0.0.1:8420"],
        }
    }


def test_pages_carry_the_stripe_policy_when_card_payments_are_on(client, settings):
    settings.CONTENT_SECURITY_POLICY = content_security_policy(stripe_enabled=True, stripe_api_base="")

    response = client.get(reverse("shop:home"))

    assert parse_policy(response["Content-Security-Policy"]) == {
        **POLICY,
        "script-src": "'self' https://js.stripe.com",
        "connect-src": "'self' https://api.stripe.com",
        "frame-src": "'self' https://js.stripe.com https://hooks.stripe.com",
    }
