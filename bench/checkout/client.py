"""A guest customer's browser (keep-alive connection, cookies) and the steps of the checkout journey.

`prepare` is product page -> add to cart -> checkout page (the form's CSRF token and idempotency key
read from the HTML); `place` presses "Place order" (test card, backorder terms accepted) and opens the
order page. Every request is recorded in a `Tally`: latency per step, 5xx, refusals, odd answers.
"""

import http.client
import re
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urlencode, urlsplit

from config.testing import CookieJar

GOOD_CARD = "4242424242424242"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
KEY_RE = re.compile(r'<input[^>]*name="idempotency_key"[^>]*>')
VALUE_RE = re.compile(r'value="([^"]*)"')
ALERT_RE = re.compile(r'<div class="alert alert-danger"[^>]*>(.*?)</div>', re.S)
TAG_RE = re.compile(r"<[^>]+>")


@dataclass
class Response:
    status: int
    location: str
    text: str
    seconds: float


class Browser:
    """One customer's browser: a keep-alive connection and the cookies the shop set."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.cookies = CookieJar()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, fields: dict | None = None) -> Response:
        headers = {"Host": f"127.0.0.1:{self.port}", "User-Agent": "bench-checkout", "Accept": "text/html"}
        if cookie := self.cookies.header():
            headers["Cookie"] = cookie
        body = None
        if fields is not None:
            body = urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.close()
            raise
        seconds = time.perf_counter() - started
        self.cookies.update(response.headers)
        if response.will_close:
            self.close()
        return Response(response.status, response.headers.get("Location", ""), data.decode(), seconds)


@dataclass
class Tally:
    """What the clients saw; one lock for all of it (appends are cheap next to a request)."""

    attempts: int
    bound: float  # seconds
    deadline: float = float("inf")
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: int = 0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    order_post_latencies: list[float] = field(default_factory=list)
    orders: list[tuple[float, str]] = field(default_factory=list)  # (seconds since start, number)
    refused_before_checkout: int = 0  # sold out on the product page, or add to cart refused
    refused_at_checkout: Counter = field(default_factory=Counter)
    other_rerenders: Counter = field(default_factory=Counter)
    server_errors: Counter = field(default_factory=Counter)  # step -> 5xx responses
    unexpected: Counter = field(default_factory=Counter)  # "step: status" -> count
    connection_errors: Counter = field(default_factory=Counter)
    t0: float = 0.0

    def next_attempt(self) -> bool:
        with self.lock:
            if self.started >= self.attempts or time.perf_counter() > self.deadline:
                return False
            self.started += 1
            return True

    def record(self, step: str, response: Response) -> None:
        with self.lock:
            self.latencies.setdefault(step, []).append(response.seconds)
            if response.status >= 500:
                self.server_errors[step] += 1


def _alert_text(html: str) -> str:
    match = ALERT_RE.search(html)
    if not match:
        return "(no error banner)"
    return " ".join(unescape(TAG_RE.sub(" ", match.group(1))).split())


def _is_refusal(text: str) -> bool:
    """The shop saying the item cannot be ordered any more (stock and backorder limit used up)."""
    text = text.lower()
    return any(
        phrase in text
        for phrase in (
            "out of stock",
            "backorders for this item are full",
            "can be ordered",
            "availability changed",
        )
    )


def step(browser: Browser, tally: Tally, name: str, method: str, path: str, fields=None, expect=(200,)):
    """One request, recorded in the tally; None when it failed or answered something unexpected."""
    try:
        response = browser.request(method, path, fields)
    except (http.client.HTTPException, OSError) as exc:
        with tally.lock:
            tally.connection_errors[f"{name}: {type(exc).__name__}"] += 1
        return None
    tally.record(name, response)
    if response.status not in expect:
        if response.status < 500:
            with tally.lock:
                tally.unexpected[f"{name}: {response.status}"] += 1
        return None
    return response


def prepare(browser: Browser, tally: Tally, *, product_path: str, variant_id: int) -> tuple[str, str] | None:
    """A new guest customer puts one unit of the hot SKU in the cart and opens the checkout page.

    Returns the checkout form's CSRF token and idempotency key; None when the customer was refused
    (sold out) or something failed (both recorded in the tally)."""
    browser.cookies.clear()  # a new customer
    page = step(browser, tally, "product page", "GET", product_path)
    if page is None:
        return None
    csrf = CSRF_RE.search(page.text)
    if csrf is None:  # no add-to-cart form: sold out, or something is wrong
        with tally.lock:
            if "backorders for this item are full" in page.text:
                tally.refused_before_checkout += 1
            else:
                tally.unexpected["product page: no add-to-cart form"] += 1
        return None
    added = step(
        browser,
        tally,
        "add to cart",
        "POST",
        "/orders/cart/add/",
        {"csrfmiddlewaretoken": csrf.group(1), "variant": variant_id, "quantity": 1, "next": product_path},
        expect=(302,),
    )
    if added is None:
        return None
    if urlsplit(added.location).path != "/orders/cart/":  # refused: back to the product page
        with tally.lock:
            tally.refused_before_checkout += 1
        return None
    form = step(browser, tally, "checkout page", "GET", "/orders/checkout/")
    if form is None:
        return None
    csrf, key_input = CSRF_RE.search(form.text), KEY_RE.search(form.text)
    key = VALUE_RE.search(key_input.group(0)) if key_input else None
    if csrf is None or key is None:
        with tally.lock:
            tally.unexpected["checkout page: no CSRF token or idempotency key"] += 1
        return None
    return csrf.group(1), key.group(1)


def order_fields(*, csrf: str, key: str, email: str) -> dict[str, str]:
    """The checkout form as a guest fills it in: test card, standard shipping, backorder terms accepted."""
    return {
        "csrfmiddlewaretoken": csrf,
        "idempotency_key": key,
        "email": email,
        "full_name": "Storm Customer",
        "address_line1": "1 Queue Street",
        "address_line2": "",
        "city": "London",
        "postcode": "N1 9GU",
        "country": "GB",
        "shipping_method": "standard",
        "ship_policy": "split",
        "payment_method": "test_card",
        "card_number": GOOD_CARD,
        "accept_backorder_terms": "on",
    }


def place(browser: Browser, tally: Tally, *, csrf: str, key: str, email: str) -> None:
    """Press "Place order" (test card, backorder terms accepted), then open the order page."""
    placed = step(
        browser,
        tally,
        "place order",
        "POST",
        "/orders/checkout/",
        order_fields(csrf=csrf, key=key, email=email),
        expect=(200, 302),
    )
    if placed is None:
        return
    if placed.status == 200:  # the checkout page again, with the reason
        reason = _alert_text(placed.text)
        with tally.lock:
            (tally.refused_at_checkout if _is_refusal(reason) else tally.other_rerenders)[reason] += 1
        return
    done = time.perf_counter() - tally.t0
    number = urlsplit(placed.location).path.rstrip("/").rsplit("/", 1)[-1]
    with tally.lock:
        tally.orders.append((done, number))
        tally.order_post_latencies.append(placed.seconds)
    order_page = step(browser, tally, "order page", "GET", placed.location)
    if order_page is not None and number not in order_page.text:
        with tally.lock:
            tally.unexpected["order page: number not shown"] += 1


def customer(browser: Browser, tally: Tally, *, product_path: str, variant_id: int, email: str) -> None:
    """One new guest customer buying one unit of the hot SKU: the whole journey."""
    prepared = prepare(browser, tally, product_path=product_path, variant_id=variant_id)
    if prepared is not None:
        place(browser, tally, csrf=prepared[0], key=prepared[1], email=email)


def print_outcomes(tally: Tally) -> None:
    """Every refusal and failure of a storm, counted by what the client saw."""
    for label, counter in (
        ("refused at checkout", tally.refused_at_checkout),
        ("unexpected re-render", tally.other_rerenders),
        ("unexpected response", tally.unexpected),
        ("connection error", tally.connection_errors),
        ("5xx", tally.server_errors),
    ):
        for what, count in counter.most_common():
            print(f"     {label} x{count}: {what}")


def percentile(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
