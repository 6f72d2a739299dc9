"""Security settings and the account pages' defences.

- Production settings: secure cookies, HSTS, the Content-Security-Policy and the other headers.
- Login and sign-up throttling, per client IP and per email address typed (shop.views), at the production rates.
- Password reset: the same answer for an address with an account and one without, throttled too.
"""

import json
import os
import re
import secrets
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

import config.settings as production
from orders.tests.factories import OrderFactory
from orders.tokens import make_order_token

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
User = get_user_model()
PASSWORD = "correct-horse-battery-staple"
RATES = (
    "LOGIN_RATE_PER_IP",
    "LOGIN_RATE_PER_USERNAME",
    "SIGNUP_RATE_PER_IP",
    "SIGNUP_ATTEMPT_RATE_PER_IP",
    "PASSWORD_RESET_RATE_PER_IP",
    "PASSWORD_RESET_RATE_PER_EMAIL",
)


@pytest.fixture(autouse=True)
def frozen_clock():
    """Counters live in fixed windows: a window ending in the middle of a test would reset them."""
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC), tick=False):
        yield


@pytest.fixture(autouse=True)
def production_rates(settings):
    """The rates of config/settings.py (the test settings raise them), counted under this test's own
    cache prefix (the cache may be a shared Redis)."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl:test-{uuid.uuid4().hex}:"
    for name in RATES:
        setattr(settings, name, getattr(production, name))


@pytest.fixture
def alice():
    return User.objects.create_user(email="alice@example.com", password=PASSWORD)


def from_ip(ip: str) -> Client:
    return Client(REMOTE_ADDR=ip)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def page_text(response) -> bytes:
    """The page without the wait, which depends on where the counter's window (keyed by a hash of the
    address typed, not by whether it has an account) happens to be."""
    text = re.sub(rb"Please wait \d+ minutes?", b"Please wait N minutes", response.content)
    # And without the CSRF token of the page's forms (the language switcher's), new on every response.
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b'name="csrfmiddlewaretoken"', text)


# --- production settings ------------------------------------------------------------------------


def test_production_settings_are_strict():
    """config.settings with DEBUG off and nothing else set: what a deployment gets by default."""
    names = [
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "SECURE_REFERRER_POLICY",
        "X_FRAME_OPTIONS",
        "CONTENT_SECURITY_POLICY",
        "MIDDLEWARE",
        *RATES,
    ]
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "SESSION_", "CSRF_"))}
    env = {k: v for k, v in env.items() if k not in RATES}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(64))

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values.pop("CONTENT_SECURITY_POLICY") == {
        "DIRECTIVES": {
            "default-src": ["'self'"],
            "script-src": ["'self'"],
            "style-src": ["'self'"],
            "img-src": ["'self'", "data:"],
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
            "form-action": ["'self'"],
            "frame-ancestors": ["'none'"],
            "frame-src": ["'self'"],
        }
    }
    assert "csp.middleware.CSPMiddleware" in values.pop("MIDDLEWARE")
    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "LOGIN_RATE_PER_IP": "10/m",
        "LOGIN_RATE_PER_USERNAME": "10/m",
        "SIGNUP_RATE_PER_IP": "5/h",
        "SIGNUP_ATTEMPT_RATE_PER_IP": "20/h",
        "PASSWORD_RESET_RATE_PER_IP": "10/h",
        "PASSWORD_RESET_RATE_PER_EMAIL": "3/h",
    }


def test_https_responses_carry_the_security_headers(client, alice):
    response = client.get(reverse("shop:home"), secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_session_and_csrf_cookies_are_secure(client, alice):
    client.get(reverse("login"), secure=True)
    response = client.post(
        reverse("login"), {"username": "alice@example.com", "password": PASSWORD}, secure=True
    )

    session, csrf = response.cookies["sessionid"], client.cookies["csrftoken"]
    assert (bool(session["secure"]), bool(session["httponly"]), session["samesite"]) == (True, True, "Lax")
    assert (bool(csrf["secure"]), csrf["samesite"]) == (True, "Lax")


# --- login --------------------------------------------------------------------------------------


def test_login_is_throttled_per_ip(alice):
    client = from_ip("203.0.113.7")
    for n in range(10):
        response = client.post(reverse("login"), {"username": f"guess{n}@example.com", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error

    # The eleventh attempt within the minute: refused before the password is even checked.
    response = client.post(reverse("login"), {"username": "alice@example.com", "password": PASSWORD})

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "too many attempts to log in" in response.content.decode()
    assert not logged_in(client)
    # Another address is not affected.
    other = from_ip("203.0.113.8")
    assert (
        other.post(reverse("login"), {"username": "alice@example.com", "password": PASSWORD}).status_code
        == 302
    )
    assert logged_in(other)


def test_admin_login_shares_the_throttle(alice):
    client = from_ip("203.0.113.9")
    for n in range(10):
        response = client.post(
            reverse("admin:login"), {"username": f"guess{n}@example.com", "password": "wrong"}
        )
        assert response.status_code == 200

    response = client.post(reverse("admin:login"), {"username": "alice@example.com", "password": PASSWORD})

    assert response.status_code == 429
    assert not logged_in(client)


def test_login_is_throttled_per_email_across_ips(alice):
    for n in range(10):
        response = from_ip(f"198.51.100.{n}").post(
            reverse("login"), {"username": "Alice@Example.com", "password": "no"}
        )
        assert response.status_code == 200

    client = from_ip("198.51.100.200")
    response = client.post(reverse("login"), {"username": "alice@example.com ", "password": PASSWORD})

    assert response.status_code == 429
    assert not logged_in(client)
    # The same address may still log in to another account.
    User.objects.create_user(email="bob@example.com", password=PASSWORD)
    assert (
        client.post(reverse("login"), {"username": "bob@example.com", "password": PASSWORD}).status_code
        == 302
    )


def test_login_throttle_answers_alike_for_unknown_addresses(alice):
    """An attacker cannot tell from the throttle whether an account has the address."""
    answers = {}
    for username in ("alice@example.com", "nobody-has-this@example.com"):
        for n in range(10):
            from_ip(f"192.0.2.{n}").post(reverse("login"), {"username": username, "password": "no"})
        response = from_ip("192.0.2.99").post(reverse("login"), {"username": username, "password": "no"})
        answers[username] = (response.status_code, page_text(response))

    assert answers["alice@example.com"] == answers["nobody-has-this@example.com"]
    assert answers["alice@example.com"][0] == 429


def test_get_requests_are_not_counted(client):
    for _ in range(30):
        assert client.get(reverse("login")).status_code == 200
        assert client.get(reverse("signup")).status_code == 200
        assert client.get(reverse("password_reset")).status_code == 200


# --- sign-up ------------------------------------------------------------------------------------


def signup_data(name: str) -> dict:
    return {"email": f"{name}@example.com", "password1": PASSWORD, "password2": PASSWORD}


def test_signup_creates_at_most_five_accounts_per_ip_and_hour():
    for n in range(5):
        client = from_ip("203.0.113.50")
        assert client.post(reverse("signup"), signup_data(f"user{n}")).status_code == 302

    client = from_ip("203.0.113.50")
    response = client.post(reverse("signup"), signup_data("user5"))

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "too many attempts to create an account" in response.content.decode()
    assert sorted(User.objects.values_list("email", flat=True)) == [f"user{n}@example.com" for n in range(5)]
    assert not logged_in(client)
    assert from_ip("203.0.113.51").post(reverse("signup"), signup_data("user6")).status_code == 302


def test_signup_attempts_are_throttled_too():
    """The form tells whether an address is taken: probing it is limited per IP."""
    User.objects.create_user(email="taken@example.com", password=PASSWORD)
    client = from_ip("203.0.113.60")
    for n in range(20):
        response = client.post(reverse("signup"), {**signup_data(f"x{n}"), "email": "taken@example.com"})
        assert response.status_code == 200  # "An account with this email address already exists."

    response = client.post(reverse("signup"), signup_data("fresh"))

    assert response.status_code == 429
    assert list(User.objects.values_list("email", flat=True)) == ["taken@example.com"]


# --- password reset -----------------------------------------------------------------------------


def test_password_reset_answers_alike_for_known_and_unknown_addresses(
    alice, django_assert_num_queries, django_capture_on_commit_callbacks, settings
):
    settings.SHOP_BASE_URL = "https://shop.example.com"
    answers, queued = {}, {}
    for email in ("alice@example.com", "nobody@example.com"):
        client = Client()
        # The request itself never looks the address up: the same queries, and no email sent in it.
        with django_capture_on_commit_callbacks(execute=False) as callbacks, django_assert_num_queries(0):
            response = client.post(reverse("password_reset"), {"email": email})
        assert mail.outbox == []
        queued[email] = callbacks
        done = client.get(response["Location"])
        # The page names the address typed (the visitor's own words), and otherwise reads the same.
        assert (
            f'If an account uses <strong class="text-break">{email}</strong>, we have sent it a link'
            in done.content.decode()
        )
        page = page_text(done).decode().replace(email, "the address typed")
        answers[email] = (response.status_code, response["Location"], sorted(response.cookies), page)

    assert answers["alice@example.com"] == answers["nobody@example.com"]
    assert answers["alice@example.com"][:2] == (302, reverse("password_reset_done"))
    for callbacks in queued.values():  # after commit: the worker (eager here) looks up and sends
        assert len(callbacks) == 1
        callbacks[0]()
    # Django's behaviour: the one email goes to the account's address; an unknown address gets none.
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert "https://shop.example.com/accounts/reset/" in mail.outbox[0].body


def test_password_reset_is_throttled_per_address(alice, django_capture_on_commit_callbacks):
    answers = {}
    for email in ("alice@example.com", "nobody@example.com"):
        with django_capture_on_commit_callbacks(execute=True):
            for n in range(3):
                assert (
                    from_ip(f"192.0.2.{n}").post(reverse("password_reset"), {"email": email}).status_code
                    == 302
                )
            response = from_ip("192.0.2.77").post(reverse("password_reset"), {"email": email.upper()})
        answers[email] = (response.status_code, page_text(response))

    assert answers["alice@example.com"] == answers["nobody@example.com"]
    assert answers["alice@example.com"][0] == 429
    assert len(mail.outbox) == 3  # the three allowed requests for alice; none after


def test_password_reset_is_throttled_per_ip(alice, django_capture_on_commit_callbacks):
    client = from_ip("203.0.113.90")
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(10):
            assert (
                client.post(reverse("password_reset"), {"email": f"someone{n}@example.com"}).status_code
                == 302
            )

        response = client.post(reverse("password_reset"), {"email": "alice@example.com"})

    assert response.status_code == 429
    assert mail.outbox == []


# --- request hygiene ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/orders/%00/",
        "/search/?q=%00",
        "/search/?q=a%00b",
        "/p/x/?variant=TENT%00",
        "/?%00=1",
        "/admin/?q=%00",
    ],
)
def test_nul_bytes_in_the_url_are_a_bad_request(client, url):
    """PostgreSQL refuses NUL in text: without config.middleware these were database errors (500)."""
    response = client.get(url)

    assert response.status_code == 400


def test_urls_without_nul_bytes_pass(client):
    assert client.get("/search/", {"q": "tent 100%"}).status_code == 200
    assert client.get("/search/?q=a+b").status_code == 200


def test_links_signed_with_a_retired_key_still_open_the_order(client, settings):
    """Rotating SECRET_KEY with the old one in SECRET_KEY_FALLBACKS keeps emailed links working."""
    order = OrderFactory()
    token = make_order_token(order.number)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-brand-new-key-" + "x" * 50

    assert client.get(reverse("orders:detail", args=[order.number]), {"token": token}).status_code == 200
    settings.SECRET_KEY_FALLBACKS = []
    assert client.get(reverse("orders:detail", args=[order.number]), {"token": token}).status_code == 404


@pytest.mark.parametrize("header", [None, "", "not-an-address", "203.0.113.7, 10.0.0.1"])
def test_behind_a_proxy_a_request_without_a_usable_header_is_counted_by_its_peer(settings, alice, header):
    """RATELIMIT_IP_META_KEY=HTTP_X_REAL_IP: a post without the header, or with something that is not
    one address in it, reaches the form (counted by REMOTE_ADDR) instead of a 500."""
    settings.RATELIMIT_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    extra = {} if header is None else {"HTTP_X_REAL_IP": header}
    direct = Client(REMOTE_ADDR="192.0.2.50", **extra)
    for n in range(10):
        assert (
            direct.post(reverse("login"), {"username": f"guess{n}@example.com", "password": "no"}).status_code
            == 200
        )
    assert (
        direct.post(reverse("login"), {"username": "alice@example.com", "password": PASSWORD}).status_code
        == 429
    )
    # Through the proxy the header names the client: another client behind the same proxy is not
    # affected, and the one refused above is counted under its own address.
    proxied = Client(REMOTE_ADDR="192.0.2.50", HTTP_X_REAL_IP="203.0.113.70")
    assert (
        proxied.post(reverse("login"), {"username": "alice@example.com", "password": PASSWORD}).status_code
        == 302
    )
