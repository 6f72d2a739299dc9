"""The checkout journey in this process: Django's test client on PostgreSQL, DEBUG off, no HTTP server.

What a request costs the shop itself, without gunicorn, the network or 31 other clients: every
guest is new (no cookies, so its own session and cart; one client, so one handler, as in a server) and walks the journey: product page,
add to cart, checkout page, place the order, order page. Each step is timed on its own; the figures
are medians over the guests. The queries of each step are counted on further guests, apart from the
timed ones (recording every statement costs a little time). The issue's targets are on the
place-order POST: at most 12 queries and 12 ms median.

The requests are HTTPS (`secure=True`) with an Origin header, CSRF checks enforced, as a browser
behind the production proxy sends them; the test client's template instrumentation is off (it copies
every template's context, which a server does not do). The confirmation emails go to the run's
private queue, which the storm's worker serves.
"""

import contextlib
import re
import statistics
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from bench.checkout.client import CSRF_RE, KEY_RE, VALUE_RE, order_fields

STEPS = ("product page", "add to cart", "checkout page", "place order", "order page")
WHOLE = "whole journey"  # the five steps of one guest added up
WARMUP = 5
COUNTED = 10  # guests whose queries are counted (not timed)
ORIGIN = "https://testserver"


@dataclass
class StepFigures:
    seconds: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return round(statistics.median(self.seconds) * 1000, 2) if self.seconds else float("nan")


@contextlib.contextmanager
def _as_a_server():
    """Settings as gunicorn has them (DEBUG off, 'testserver' allowed), Celery publishing to `queue`,
    and templates rendered without the test framework's instrumentation, if a benchmark run earlier in
    this process turned it on (django.test.utils.setup_test_environment)."""
    from django.conf import settings
    from django.template import Template
    from django.test.utils import _TestState, override_settings

    saved = getattr(_TestState, "saved_data", None)
    instrumented = Template._render
    if saved is not None:
        Template._render = saved.template_render
    try:
        with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            yield
    finally:
        Template._render = instrumented


# One test client for the run, as one server process: its handler loads the middleware once (a new
# Client per guest built it again on the guest's first request: whitenoise indexing every static file,
# ~100 ms charged to the product page). Each guest starts with no cookies.
_CLIENT: list = []


def _guest(*, product_path: str, variant_id: int, email: str, capture: bool) -> dict[str, tuple[float, int]]:
    """One new guest's journey: (seconds, queries or -1) per step. Raises on any unexpected answer."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    if not _CLIENT:
        _CLIENT.append(Client(enforce_csrf_checks=True, headers={"Origin": ORIGIN}))
    client = _CLIENT[0]
    client.cookies = SimpleCookie()  # a new visitor: no session, no cart, no CSRF cookie yet
    results: dict[str, tuple[float, int]] = {}

    def timed(step: str, method: str, path: str, data=None):
        context = CaptureQueriesContext(connection) if capture else contextlib.nullcontext()
        with context as captured:
            started = time.perf_counter()
            response = getattr(client, method)(path, data, secure=True)
            seconds = time.perf_counter() - started
        results[step] = (seconds, len(captured) if capture else -1)
        return response

    page = timed("product page", "get", product_path)
    csrf = CSRF_RE.search(page.content.decode())
    if page.status_code != 200 or csrf is None:
        raise RuntimeError(f"product page: {page.status_code}, add-to-cart form: {csrf is not None}")
    added = timed(
        "add to cart",
        "post",
        "/orders/cart/add/",
        {"csrfmiddlewaretoken": csrf.group(1), "variant": variant_id, "quantity": 1, "next": product_path},
    )
    if added.status_code != 302 or urlsplit(added["Location"]).path != "/orders/cart/":
        raise RuntimeError(f"add to cart: {added.status_code} {added.get('Location')}")
    form = timed("checkout page", "get", "/orders/checkout/")
    html = form.content.decode()
    csrf, key_input = CSRF_RE.search(html), KEY_RE.search(html)
    key = VALUE_RE.search(key_input.group(0)) if key_input else None
    if form.status_code != 200 or csrf is None or key is None:
        raise RuntimeError(f"checkout page: {form.status_code}, no CSRF token or idempotency key")
    placed = timed(
        "place order",
        "post",
        "/orders/checkout/",
        order_fields(csrf=csrf.group(1), key=key.group(1), email=email),
    )
    if placed.status_code != 302:
        text = re.sub(r"\s+", " ", placed.content.decode())[:300]
        raise RuntimeError(f"place order: {placed.status_code} {text}")
    order_page = timed("order page", "get", placed["Location"])
    if order_page.status_code != 200:
        raise RuntimeError(f"order page: {order_page.status_code}")
    return results


def measure(
    *, product_path: str, variant_id: int, domain: str, guests: int, queue: str
) -> dict[str, StepFigures]:
    """WARMUP guests, then `guests` timed ones, then COUNTED whose queries are counted; per step."""
    from config.celery import app

    figures = {step: StepFigures() for step in (*STEPS, WHOLE)}
    previous = app.conf.task_default_queue, app.conf.task_always_eager
    app.conf.task_default_queue, app.conf.task_always_eager = queue, False
    try:
        with _as_a_server():
            for n in range(WARMUP + guests + COUNTED):
                counted = n >= WARMUP + guests
                steps = _guest(
                    product_path=product_path, variant_id=variant_id, email=f"i{n}@{domain}", capture=counted
                )
                if n < WARMUP:
                    continue
                steps[WHOLE] = (sum(s for s, _ in steps.values()), sum(q for _, q in steps.values()))
                for step, (seconds, queries) in steps.items():
                    if counted:
                        figures[step].queries.append(queries)
                    else:
                        figures[step].seconds.append(seconds)
    finally:
        app.conf.task_default_queue, app.conf.task_always_eager = previous
    return figures


def total_orders(guests: int) -> int:
    """Orders one `measure()` places (every guest orders once)."""
    return WARMUP + guests + COUNTED
