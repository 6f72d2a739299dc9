"""Checkout storm: 32 customers at once buy one hot SKU through the real HTTP stack.

gunicorn serves the shop (DEBUG=0, static files collected, the database and
Redis of this process) and a real `celery -A config worker` sends the
confirmation emails (to Django's dummy email backend) from a private queue.
32 client threads, each with its own keep-alive connection, play new guest
customers one after another: product page -> add to cart -> checkout page
(CSRF token and idempotency key read from the HTML) -> place the order (test
card, backorder terms accepted) -> the order page.

The hot SKU has ON_HAND units and a backorder limit of LIMIT; the storm makes
ATTEMPTS purchase attempts of one unit each, more than ON_HAND + LIMIT, so the
first orders are allocated, the next ones backordered and the rest refused:
before checkout when sold out (no add-to-cart form, or add to cart refused),
or by the checkout POST when the last units went while the customer was on
the checkout page (the page is shown again with the reason).

Reports orders placed per second while stock lasted (orders / time until the
last order's response), p50 / p95 latency of the checkout POST, 5xx and other
failed requests, refusals, and afterwards from the database: units allocated
beyond on hand, units backordered beyond the limit, units left unsold although
customers were refused, orders the clients saw vs orders in the database,
ledger discrepancies, confirmation emails sent. And where the time went: CPU
seconds per order of gunicorn, the worker, PostgreSQL and the clients (from
/proc, so other programs on the machine show up as such), and what the shop's
database sessions were doing (pg_stat_activity every 0.1 s: running, waiting
for the hot variant's row lock, idle in a transaction while Python works).

Two phases, each with its own hot SKU (same stock, limit and number of attempts), reported
separately:

1. The journey storm (the figures without a prefix, unchanged from earlier runs): the clients
   loop over whole journeys, so every order's window holds five requests and the clients'
   product pages and carts compete with the checkouts for the same CPUs. "orders per second"
   is orders / time until the last order's response; "checkout POST latency" is the POST alone;
   the CPU per order is everything the machine did during the storm divided by the orders.
2. The place-order storm (figures prefixed "place-order storm:"): many customers with carts
   ready press "Place order" at the same moment. In rounds: every client first prepares a new
   customer (product page, add to cart, checkout page) and nothing of that is measured; then all
   clients that got a checkout form POST it at once (a barrier), and each follows the redirect to
   its order page. Measured: from the barrier until the last answer of the round, summed over
   the rounds ("orders per second in the measured windows" = orders / that sum), the POST's
   latency, and the CPU used in those windows only (per order: the POST and the order page).
   Customers refused while preparing (sold out) take no part in a round.

The issue's throughput and latency targets stay on the journey storm's figures, as before; the
place-order storm's figures carry none (which figure the targets are judged on is for the
issue's owner to decide), only the correctness checks (5xx, oversold, ledger, emails).

Needs PostgreSQL (DATABASE_URL); on SQLite it refuses to run. Creates its own
rows (a product, variant and policy per phase tagged with a random id, stock in the
shared BENCH warehouse, guest orders to @<tag>.bench.invalid and @<tag>p.bench.invalid) and leaves them
in place: the ledger does not allow deleting movements, and other data is
never touched.

gunicorn runs 3 gthread workers x 2 threads: the best of the configurations
tried on the 2-core machine (more threads in flight mostly queue on the hot
variant's row lock while its holder waits for a CPU). Change it for
experiments with BENCH_CHECKOUT_WORKERS, BENCH_CHECKOUT_THREADS,
BENCH_CHECKOUT_WORKER_CLASS (sync or gthread), BENCH_CHECKOUT_CLIENTS.
"""

import contextlib
import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from html import unescape
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench.core import Figure
from config.testing import CookieJar

NAME = "checkout"
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

CLIENTS = int(os.environ.get("BENCH_CHECKOUT_CLIENTS", "32"))
GUNICORN_WORKERS = int(os.environ.get("BENCH_CHECKOUT_WORKERS", "3"))
GUNICORN_THREADS = int(os.environ.get("BENCH_CHECKOUT_THREADS", "2"))
GUNICORN_CLASS = os.environ.get("BENCH_CHECKOUT_WORKER_CLASS", "gthread")
GUNICORN_KEEPALIVE = os.environ.get("BENCH_CHECKOUT_KEEPALIVE", "30")

# (units on hand, backorder limit, purchase attempts, time bound in seconds)
FULL = (200, 100, 400, 180.0)
QUICK = (40, 20, 80, 60.0)

GOOD_CARD = "4242424242424242"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
KEY_RE = re.compile(r'<input[^>]*name="idempotency_key"[^>]*>')
VALUE_RE = re.compile(r'value="([^"]*)"')
ALERT_RE = re.compile(r'<div class="alert alert-danger"[^>]*>(.*?)</div>', re.S)
TAG_RE = re.compile(r"<[^>]+>")


# --- a small keep-alive HTTP client with a cookie jar ------------------------------------------


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


# --- the storm -----------------------------------------------------------------------------------


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


def _step(browser: Browser, tally: Tally, name: str, method: str, path: str, fields=None, expect=(200,)):
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


def _prepare(browser: Browser, tally: Tally, *, product_path: str, variant_id: int) -> tuple[str, str] | None:
    """A new guest customer puts one unit of the hot SKU in the cart and opens the checkout page.

    Returns the checkout form's CSRF token and idempotency key; None when the customer was refused
    (sold out) or something failed (both recorded in the tally)."""
    browser.cookies.clear()  # a new customer
    page = _step(browser, tally, "product page", "GET", product_path)
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
    added = _step(
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
    form = _step(browser, tally, "checkout page", "GET", "/orders/checkout/")
    if form is None:
        return None
    csrf, key_input = CSRF_RE.search(form.text), KEY_RE.search(form.text)
    key = VALUE_RE.search(key_input.group(0)) if key_input else None
    if csrf is None or key is None:
        with tally.lock:
            tally.unexpected["checkout page: no CSRF token or idempotency key"] += 1
        return None
    return csrf.group(1), key.group(1)


def _place(browser: Browser, tally: Tally, *, csrf: str, key: str, email: str) -> None:
    """Press "Place order" (test card, backorder terms accepted), then open the order page."""
    placed = _step(
        browser,
        tally,
        "place order",
        "POST",
        "/orders/checkout/",
        {
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
        },
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
    order_page = _step(browser, tally, "order page", "GET", placed.location)
    if order_page is not None and number not in order_page.text:
        with tally.lock:
            tally.unexpected["order page: number not shown"] += 1


def _customer(browser: Browser, tally: Tally, *, product_path: str, variant_id: int, email: str) -> None:
    """One new guest customer buying one unit of the hot SKU: the whole journey."""
    prepared = _prepare(browser, tally, product_path=product_path, variant_id=variant_id)
    if prepared is not None:
        _place(browser, tally, csrf=prepared[0], key=prepared[1], email=email)


def _client(port: int, tally: Tally, start: threading.Barrier, n: int, *, domain: str, **kwargs) -> None:
    browser = Browser(port)
    start.wait()
    count = 0
    try:
        while tally.next_attempt():
            count += 1
            _customer(browser, tally, email=f"c{n}-{count}@{domain}", **kwargs)
    finally:
        browser.close()


def _storm(*, port: int, tally: Tally, product_path: str, variant_id: int, domain: str) -> float:
    start = threading.Barrier(CLIENTS + 1)
    threads = [
        threading.Thread(
            target=_client,
            args=(port, tally, start, n),
            kwargs={"product_path": product_path, "variant_id": variant_id, "domain": domain},
            daemon=True,
        )
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    tally.t0 = time.perf_counter()  # before the clients are let go, so no request precedes it
    tally.deadline = tally.t0 + tally.bound
    start.wait()
    last_print, last_orders = tally.t0, 0
    while any(t.is_alive() for t in threads):
        time.sleep(0.25)
        now = time.perf_counter()
        if now - last_print >= 2:
            with tally.lock:
                orders, started = len(tally.orders), tally.started
                refused = tally.refused_before_checkout + sum(tally.refused_at_checkout.values())
                errors = sum(tally.server_errors.values())
            print(
                f"   {now - tally.t0:5.1f} s: {started:,} customers, {orders:,} orders "
                f"({(orders - last_orders) / (now - last_print):.0f}/s), {refused:,} refused, {errors} 5xx",
                flush=True,
            )
            last_print, last_orders = now, orders
    for thread in threads:
        thread.join(timeout=70)
    return time.perf_counter() - tally.t0


def _place_storm(
    *, port: int, tally: Tally, meter_factory, product_path: str, variant_id: int, domain: str
) -> tuple[float, int, dict[str, float]]:
    """The second phase: rounds in which every client first prepares a new customer (product page,
    add to cart, checkout page; not measured), then all of them press "Place order" at the same
    moment. Measured: from that moment until the last client of the round has its answer (the
    POST, and for a placed order the order page it is redirected to), summed over the rounds, and
    the CPU used in those windows. Returns (measured seconds, rounds, CPU seconds by process group).
    """
    browsers = [Browser(port) for _ in range(CLIENTS)]
    window, rounds, cpu = 0.0, 0, Counter()
    customers = 0
    tally.t0 = time.perf_counter()
    tally.deadline = tally.t0 + tally.bound
    try:
        while tally.started < tally.attempts and time.perf_counter() < tally.deadline:
            prepared: list[tuple[str, str] | None] = [None] * CLIENTS

            def prepare(n: int, prepared: list = prepared) -> None:
                if tally.next_attempt():
                    prepared[n] = _prepare(
                        browsers[n], tally, product_path=product_path, variant_id=variant_id
                    )

            threads = [threading.Thread(target=prepare, args=(n,), daemon=True) for n in range(CLIENTS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            ready = [(n, p) for n, p in enumerate(prepared) if p is not None]
            if not ready:
                continue
            start = threading.Barrier(len(ready) + 1)

            def place(n: int, csrf: str, key: str, email: str, start: threading.Barrier = start) -> None:
                start.wait()
                _place(browsers[n], tally, csrf=csrf, key=key, email=email)

            threads = []
            for n, (csrf, key) in ready:
                customers += 1
                email = f"p{n}-{customers}@{domain}"
                threads.append(threading.Thread(target=place, args=(n, csrf, key, email), daemon=True))
            for thread in threads:
                thread.start()
            meter = meter_factory()
            meter.start()
            began = time.perf_counter()
            start.wait()
            for thread in threads:
                thread.join(timeout=120)
            window += time.perf_counter() - began
            cpu.update(meter.stop())
            rounds += 1
            with tally.lock:
                orders = len(tally.orders)
            print(
                f"   round {rounds}: {len(ready)} customers pressed Place order at once; {orders:,} orders so far, "
                f"{window:.2f} s measured",
                flush=True,
            )
    finally:
        for browser in browsers:
            browser.close()
    return window, rounds, dict(cpu)


# --- processes: collectstatic, gunicorn, the worker ------------------------------------------------


def _print_outcomes(tally: "Tally") -> None:
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_application_name(url: str, name: str) -> str:
    """The database URL with an application_name, so pg_stat_activity tells the shop's sessions apart."""
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def _server_env(queue: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or "bench-checkout-" + uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue,  # emails of this run go to this run's worker only
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_URL": "dummymail://",
        "LOG_LEVEL": "WARNING",
    }


def _collectstatic(env: dict) -> None:
    """DEBUG=0 serves hashed names from the manifest: without it every page would be a 500."""
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    print(f"   collectstatic in {time.perf_counter() - t:.1f} s", flush=True)


def _start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # gunicorn and celery shut down their children on TERM
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this benchmark started, and only it
        proc.wait(timeout=10)


def _start_gunicorn(env: dict, port: int, log: Path) -> subprocess.Popen:
    cmd = [
        str(BIN / "gunicorn"),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(GUNICORN_WORKERS),
        "--worker-class",
        GUNICORN_CLASS,
        "--threads",
        str(GUNICORN_THREADS),
        "--keep-alive",
        GUNICORN_KEEPALIVE,  # seconds; 0: a new connection for every request
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ]
    proc = _start(cmd, env, log)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz", headers={"Host": f"127.0.0.1:{port}"})
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)


def _start_worker(env: dict, queue: str, log: Path) -> subprocess.Popen:
    cmd = [
        str(BIN / "celery"),
        "-A",
        "config",
        "worker",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--pool",
        "solo",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel",
        "INFO",
    ]
    proc = _start(cmd, env, log)
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(f"celery worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return proc


def _forget_queue(queue: str) -> None:
    """Drop this run's (empty) queue binding from Redis; nothing else is touched."""
    from django.conf import settings

    if not settings.REDIS_URL:
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(queue, f"_kombu.binding.{queue}")
    client.close()


# --- where the time goes: CPU per process group, and what the shop's database sessions wait for --------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process and its ended children have used, 0 when it is gone.

    The ended children count so that short-lived PostgreSQL backends (CONN_MAX_AGE=0) are not
    lost: the postmaster collects their time when they exit.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(v) for v in fields[11:15]) / CLK_TCK  # utime, stime, cutime, cstime


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return pids


def _postgres_pids() -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                pids.append(int(comm.parent.name))
        except OSError:
            pass
    return pids


def _machine_busy() -> float:
    """Busy CPU seconds of the whole machine, all cores (from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / CLK_TCK


class CpuMeter:
    """CPU seconds used between start() and stop() by: gunicorn, the worker, PostgreSQL, this process
    (the 32 clients), and the machine as a whole (the rest is other programs)."""

    def __init__(self, *, web: subprocess.Popen, worker: subprocess.Popen):
        self.groups = {
            "gunicorn": lambda: _tree(web.pid),
            "celery worker": lambda: _tree(worker.pid),
            "PostgreSQL (all backends)": _postgres_pids,
            "clients (this process)": lambda: [os.getpid()],
        }

    def _snapshot(self) -> dict[str, dict[int, float]]:
        return {name: {pid: _proc_cpu(pid) for pid in pids()} for name, pids in self.groups.items()}

    def start(self) -> None:
        self.before, self.busy_before = self._snapshot(), _machine_busy()

    def stop(self) -> dict[str, float]:
        after, busy = self._snapshot(), _machine_busy()
        used = {
            name: sum(max(cpu - self.before[name].get(pid, 0.0), 0.0) for pid, cpu in pids.items())
            for name, pids in after.items()
        }
        used["machine, all processes"] = busy - self.busy_before
        used["other programs"] = max(
            used["machine, all processes"] - sum(v for k, v in used.items() if k in self.groups), 0.0
        )
        return used


class SessionSampler(threading.Thread):
    """Every 0.1 s, what the shop's database sessions (application_name) are doing."""

    def __init__(self, application_name: str):
        super().__init__(daemon=True)
        self.application_name = application_name
        self.stop_event = threading.Event()
        self.samples = 0
        self.counts: Counter = Counter()

    def run(self) -> None:
        from django.db import connection

        try:
            with connection.cursor() as cursor:
                while not self.stop_event.wait(0.1):
                    cursor.execute(
                        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                        "WHERE application_name = %s",
                        [self.application_name],
                    )
                    self.samples += 1
                    for state, wait_type, wait in cursor.fetchall():
                        self.counts[self._kind(state, wait_type, wait)] += 1
        finally:
            connection.close()

    @staticmethod
    def _kind(state: str, wait_type: str | None, wait: str | None) -> str:
        if state == "idle in transaction":
            return "in a transaction, waiting for Python"
        if state != "active":
            return "idle (between requests)"
        if wait_type == "Lock":
            return f"waiting for a lock ({wait})"
        if wait_type in ("LWLock", "IO", "IPC") or (wait or "").startswith("WAL"):
            return f"waiting for the server ({wait_type}: {wait})"
        if wait_type == "Client":
            return f"waiting for the client ({wait})"
        return "running a query"

    def stop(self) -> dict[str, float]:
        self.stop_event.set()
        self.join(timeout=5)
        return {kind: n / max(self.samples, 1) for kind, n in self.counts.most_common()}


# --- rows ------------------------------------------------------------------------------------------


def _setup(*, tag: str, on_hand: int, limit: int):
    from django.db import transaction

    from inventory.models import BackorderMode, BackorderPolicy, StockItem, Warehouse
    from inventory.services import stock_adjust
    from inventory.tasks import stock_arrived
    from shop.models import Category, Product, Variant

    with transaction.atomic():
        category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
        warehouse, _ = Warehouse.objects.get_or_create(code="BENCH", defaults={"name": "Bench warehouse"})
        product = Product.objects.create(
            name=f"Storm kettle {tag}", slug=f"bench-checkout-{tag}", category=category
        )
        variant = Variant.objects.create(product=product, sku=f"BENCH-CHECKOUT-{tag}", price=Decimal("49.00"))
        BackorderPolicy.objects.create(
            variant=variant, mode=BackorderMode.ALLOW, backorder_limit=limit, lead_time_days=14
        )
    original = stock_arrived.delay_on_commit
    stock_arrived.delay_on_commit = lambda **kw: None  # nothing waits for it yet
    try:
        stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=on_hand)
    finally:
        stock_arrived.delay_on_commit = original
    item = StockItem.objects.get(variant=variant, warehouse=warehouse)
    return product, variant, item


def _wait_for_emails(domain: str, expected: int, timeout: float) -> tuple[int, float]:
    from notifications.models import Notification, NotificationStatus

    t = time.perf_counter()
    sent = 0
    while time.perf_counter() - t < timeout:
        sent = Notification.objects.filter(
            recipient__endswith=f"@{domain}", status=NotificationStatus.SENT
        ).count()
        if sent >= expected:
            break
        time.sleep(0.5)
    return sent, time.perf_counter() - t


def _percentile(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _database_checks(*, item, variant, on_hand: int, limit: int, tally: Tally, domain: str) -> dict[str, int]:
    """What the database says about one storm's hot SKU and orders, printed and returned."""
    from django.db.models import Sum

    from orders.models import Order, OrderLine

    item.refresh_from_db()
    lines = OrderLine.objects.filter(variant=variant).aggregate(
        allocated=Sum("quantity_allocated"), backordered=Sum("quantity_backordered")
    )
    allocated = lines["allocated"] or 0
    backordered = lines["backordered"] or 0
    refused = tally.refused_before_checkout + sum(tally.refused_at_checkout.values())
    numbers_seen = {number for _, number in tally.orders}
    numbers_db = set(Order.objects.filter(email__endswith=f"@{domain}").values_list("number", flat=True))
    print(
        f"   database ({variant.sku}): {item.on_hand} on hand, {item.allocated} allocated on the stock item, "
        f"lines {allocated} allocated + {backordered} backordered (limit {limit}); {len(numbers_db):,} orders",
        flush=True,
    )
    return {
        "allocated": allocated,
        "backordered": backordered,
        "over_allocated": max(allocated - item.on_hand, item.allocated - item.on_hand, 0),
        "over_backordered": max(backordered - limit, 0),
        "item_vs_lines": abs(item.allocated - allocated),
        "unsold_while_refused": (on_hand + limit - allocated - backordered) if refused else 0,
        "seen_vs_db": len(numbers_seen ^ numbers_db),
    }


# --- run -------------------------------------------------------------------------------------------


def run(args) -> list[Figure]:
    from django.conf import settings
    from django.db import connection

    from inventory.selectors import ledger_discrepancies

    if connection.vendor != "postgresql":
        print(
            "   REFUSED: the checkout storm needs PostgreSQL (SQLite serializes every write, so the\n"
            "   figures would say nothing about the shop). Set DATABASE_URL=postgres://... and migrate.",
            flush=True,
        )
        return [Figure(NAME, "not run: needs PostgreSQL (DATABASE_URL)", 0, "runs", ">= 1", ok=False)]

    on_hand, limit, attempts, bound = QUICK if args.quick else FULL
    tag = uuid.uuid4().hex[:8]
    domain = f"{tag}.bench.invalid"
    queue = f"bench-checkout-{tag}"
    broker = "Redis" if settings.REDIS_URL else "filesystem broker"
    gunicorn = (
        f"gunicorn --workers {GUNICORN_WORKERS} --worker-class {GUNICORN_CLASS} --threads {GUNICORN_THREADS}"
    )
    print(
        f"   {CLIENTS} clients, {attempts:,} purchase attempts (bound {bound:.0f} s); hot SKU: {on_hand} on hand, "
        f"backorder limit {limit}; {gunicorn}; CONN_MAX_AGE "
        f"{connection.settings_dict.get('CONN_MAX_AGE')}; worker on {broker}, tag {tag}",
        flush=True,
    )
    ledger_before = {d.stock_item_id for d in ledger_discrepancies()}
    product, variant, item = _setup(tag=tag, on_hand=on_hand, limit=limit)
    # The place-order storm (second phase) buys its own hot SKU, with the same stock and limit.
    product2, variant2, item2 = _setup(tag=f"{tag}p", on_hand=on_hand, limit=limit)
    domain2 = f"{tag}p.bench.invalid"
    tally2 = Tally(attempts=attempts, bound=bound)
    env = _server_env(queue)
    _collectstatic(env)

    web = worker = None
    tally = Tally(attempts=attempts, bound=bound)
    sampler = SessionSampler(application_name=queue)
    with tempfile.TemporaryDirectory() as logs:
        web_log, worker_log = Path(logs) / "gunicorn.log", Path(logs) / "worker.log"
        try:
            worker = _start_worker(env, queue, worker_log)
            port = _free_port()
            web_env = {**env, "DATABASE_URL": _with_application_name(os.environ["DATABASE_URL"], queue)}
            web = _start_gunicorn(web_env, port, web_log)
            print(f"   gunicorn on 127.0.0.1:{port}, worker ready; storm starts", flush=True)
            meter = CpuMeter(web=web, worker=worker)
            meter.start()
            sampler.start()
            elapsed = _storm(
                port=port,
                tally=tally,
                product_path=f"/p/{product.slug}/",
                variant_id=variant.pk,
                domain=domain,
            )
            cpu = meter.stop()
            sessions = sampler.stop()
            print(
                "   place-order storm: customers prepare their carts, then press Place order together",
                flush=True,
            )
            window2, rounds2, cpu2 = _place_storm(
                port=port,
                tally=tally2,
                meter_factory=lambda: CpuMeter(web=web, worker=worker),
                product_path=f"/p/{product2.slug}/",
                variant_id=variant2.pk,
                domain=domain2,
            )
            _stop(web)
            web = None
            if tally.server_errors:
                print("   server errors; the end of the gunicorn log:")
                print(web_log.read_text()[-4000:])
            orders_seen = len(tally.orders)
            sent, waited = _wait_for_emails(domain, orders_seen, timeout=60 if args.quick else 120)
            print(f"   {sent:,} of {orders_seen:,} confirmation emails sent {waited:.1f} s after the storm")
            sent2, waited2 = _wait_for_emails(domain2, len(tally2.orders), timeout=60 if args.quick else 120)
            print(f"   place-order storm: {sent2:,} of {len(tally2.orders):,} confirmation emails sent")
            if sent < orders_seen or sent2 < len(tally2.orders):
                print(worker_log.read_text()[-3000:])
        finally:
            sampler.stop_event.set()
            _stop(web)
            _stop(worker)
            try:
                _forget_queue(queue)
            except Exception as exc:  # noqa: BLE001 - tidying only
                print(f"   could not drop the queue {queue}: {exc}")

    # --- what the clients saw
    orders = len(tally.orders)
    last_order_at = max((t for t, _ in tally.orders), default=elapsed)
    refused_checkout = sum(tally.refused_at_checkout.values())
    checkout_posts = tally.latencies.get("place order", [])
    server_errors = sum(tally.server_errors.values())
    failed = (
        sum(tally.unexpected.values())
        + sum(tally.connection_errors.values())
        + sum(tally.other_rerenders.values())
    )
    journeys = tally.started
    print(
        f"   {journeys:,} customers in {elapsed:.1f} s: {orders:,} orders (the last at {last_order_at:.1f} s), "
        f"{tally.refused_before_checkout:,} refused before checkout (sold out), {refused_checkout:,} at checkout, "
        f"{server_errors} 5xx, {failed} other failures",
        flush=True,
    )
    _print_outcomes(tally)
    cores = os.cpu_count() or 1
    print(f"   CPU during the storm ({elapsed:.1f} s x {cores} cores = {elapsed * cores:.1f} core-seconds):")
    for name, seconds in cpu.items():
        per_order = f", {seconds / orders * 1000:6.1f} ms per order" if orders else ""
        print(
            f"     {name:28} {seconds:6.1f} s ({seconds / (elapsed * cores):4.0%} of the machine){per_order}"
        )
    print("   the shop's database sessions, on average at any moment:")
    for kind, average in sessions.items():
        print(f"     {average:5.2f}  {kind}")
    for name, values in tally.latencies.items():
        print(
            f"     {name:14} n={len(values):5,}  p50 {_ms(_percentile(values, 50)):7.1f} ms  "
            f"p95 {_ms(_percentile(values, 95)):7.1f} ms  max {_ms(max(values)):7.1f} ms"
        )

    # --- what the database says
    db = _database_checks(
        item=item, variant=variant, on_hand=on_hand, limit=limit, tally=tally, domain=domain
    )
    db2 = _database_checks(
        item=item2, variant=variant2, on_hand=on_hand, limit=limit, tally=tally2, domain=domain2
    )
    allocated, backordered = db["allocated"], db["backordered"]
    ledger_after = ledger_discrepancies()
    new_discrepancies = [d for d in ledger_after if d.stock_item_id not in ledger_before]
    for d in new_discrepancies:
        print(f"     ledger: {d}")
    print(f"   ledger discrepancies: {len(ledger_after)} ({len(ledger_before)} before the run)", flush=True)

    def lat(values, p):
        return _ms(_percentile(values, p))

    return [
        Figure(NAME, f"setup: gunicorn {GUNICORN_CLASS} workers", GUNICORN_WORKERS, "processes"),
        Figure(NAME, "setup: threads per gunicorn worker", GUNICORN_THREADS, "threads"),
        Figure(NAME, "setup: concurrent clients", CLIENTS, "clients"),
        Figure(NAME, "customers (purchase attempts)", journeys, "customers"),
        Figure(NAME, "orders placed", orders, "orders"),
        Figure.check(
            NAME,
            "orders per second while stock lasted",
            round(orders / last_order_at, 1),
            "orders/s",
            at_least=100,
        ),
        Figure(
            NAME,
            "checkout POSTs answered per second, whole storm",
            round(len(checkout_posts) / elapsed, 1),
            "requests/s",
        ),
        Figure(NAME, "checkout POST latency p50", lat(checkout_posts, 50), "ms"),
        Figure.check(NAME, "checkout POST latency p95", lat(checkout_posts, 95), "ms", at_most=250),
        Figure(NAME, "checkout POST latency p95, orders placed", lat(tally.order_post_latencies, 95), "ms"),
        Figure(NAME, "product page latency p95", lat(tally.latencies.get("product page", []), 95), "ms"),
        Figure(NAME, "add to cart latency p95", lat(tally.latencies.get("add to cart", []), 95), "ms"),
        Figure(NAME, "checkout page latency p95", lat(tally.latencies.get("checkout page", []), 95), "ms"),
        Figure(NAME, "order page latency p95", lat(tally.latencies.get("order page", []), 95), "ms"),
        Figure(
            NAME,
            "machine CPU busy during the storm",
            round(100 * cpu["machine, all processes"] / (elapsed * cores), 1),
            "%",
        ),
        Figure(
            NAME, "of which other programs", round(100 * cpu["other programs"] / (elapsed * cores), 1), "%"
        ),
        Figure(NAME, "gunicorn CPU per order", round(cpu["gunicorn"] / max(orders, 1) * 1000, 1), "ms"),
        Figure(
            NAME,
            "PostgreSQL CPU per order",
            round(cpu["PostgreSQL (all backends)"] / max(orders, 1) * 1000, 1),
            "ms",
        ),
        Figure(
            NAME,
            "client CPU per order (32 threads, this process)",
            round(cpu["clients (this process)"] / max(orders, 1) * 1000, 1),
            "ms",
        ),
        Figure(
            NAME,
            "DB sessions waiting for a lock, average",
            round(sum(v for k, v in sessions.items() if k.startswith("waiting for a lock")), 2),
            "sessions",
        ),
        Figure.check(NAME, "5xx responses", server_errors, "responses", at_most=0),
        Figure.check(
            NAME, "other failed requests (4xx, connection errors, odd pages)", failed, "requests", at_most=0
        ),
        Figure(
            NAME,
            "refused before checkout (sold out on the product page or at add to cart)",
            tally.refused_before_checkout,
            "customers",
        ),
        Figure(NAME, "refused at checkout (limit reached meanwhile)", refused_checkout, "customers"),
        Figure.check(NAME, "units allocated from stock", allocated, "units", at_most=on_hand),
        Figure.check(NAME, "units backordered", backordered, "units", at_most=limit),
        Figure.check(NAME, "oversold: allocated beyond on hand", db["over_allocated"], "units", at_most=0),
        Figure.check(
            NAME, "oversold: backordered beyond the limit", db["over_backordered"], "units", at_most=0
        ),
        Figure.check(
            NAME,
            "stock item's allocated differs from the order lines'",
            db["item_vs_lines"],
            "units",
            at_most=0,
        ),
        Figure.check(
            NAME,
            "units left unsold while customers were refused",
            db["unsold_while_refused"],
            "units",
            at_most=0,
        ),
        Figure.check(
            NAME,
            "orders seen by clients but not in the database, or the reverse",
            db["seen_vs_db"],
            "orders",
            at_most=0,
        ),
        Figure.check(
            NAME, "ledger discrepancies (all stock items)", len(ledger_after), "stock items", at_most=0
        ),
        Figure.check(NAME, "confirmation emails sent by the worker", sent, "emails", at_least=orders),
        *_place_storm_figures(
            tally=tally2,
            window=window2,
            rounds=rounds2,
            cpu=cpu2,
            db=db2,
            sent=sent2,
            on_hand=on_hand,
            limit=limit,
        ),
    ]


def _place_storm_figures(
    *,
    tally: Tally,
    window: float,
    rounds: int,
    cpu: dict[str, float],
    db: dict[str, int],
    sent: int,
    on_hand,
    limit,
) -> list[Figure]:
    """The second phase's figures, every name starting with "place-order storm:" (no targets: which
    figure the issue's targets are judged on is decided by whoever owns the issue)."""
    orders = len(tally.orders)
    posts = tally.latencies.get("place order", [])
    refused_checkout = sum(tally.refused_at_checkout.values())
    failed = (
        sum(tally.unexpected.values())
        + sum(tally.connection_errors.values())
        + sum(tally.other_rerenders.values())
    )
    print(
        f"   place-order storm: {tally.started:,} customers, {rounds} rounds, {orders:,} orders in {window:.2f} s "
        f"measured, {tally.refused_before_checkout:,} refused before checkout, {refused_checkout:,} at checkout, "
        f"{sum(tally.server_errors.values())} 5xx, {failed} other failures",
        flush=True,
    )
    _print_outcomes(tally)
    for name in ("place order", "order page"):
        values = tally.latencies.get(name, [])
        if values:
            print(
                f"     {name:14} n={len(values):5,}  p50 {_ms(_percentile(values, 50)):7.1f} ms  "
                f"p95 {_ms(_percentile(values, 95)):7.1f} ms  max {_ms(max(values)):7.1f} ms"
            )
    for name, seconds in cpu.items():
        per_order = f", {seconds / orders * 1000:6.1f} ms per order" if orders else ""
        print(f"     CPU in the measured windows: {name:28} {seconds:6.1f} s{per_order}")
    prefix = "place-order storm:"

    def per_order(group: str) -> float:
        return round(cpu.get(group, 0.0) / max(orders, 1) * 1000, 1)

    return [
        Figure(NAME, f"{prefix} rounds (all clients press Place order at once)", rounds, "rounds"),
        Figure(NAME, f"{prefix} customers (purchase attempts)", tally.started, "customers"),
        Figure(NAME, f"{prefix} orders placed", orders, "orders"),
        Figure(
            NAME,
            f"{prefix} orders per second in the measured windows",
            round(orders / max(window, 1e-9), 1),
            "orders/s",
        ),
        Figure(NAME, f"{prefix} checkout POST latency p50", _ms(_percentile(posts, 50)), "ms"),
        Figure(NAME, f"{prefix} checkout POST latency p95", _ms(_percentile(posts, 95)), "ms"),
        Figure(
            NAME,
            f"{prefix} order page latency p95",
            _ms(_percentile(tally.latencies.get("order page", []), 95)),
            "ms",
        ),
        Figure(NAME, f"{prefix} gunicorn CPU per order (POST + order page)", per_order("gunicorn"), "ms"),
        Figure(NAME, f"{prefix} PostgreSQL CPU per order", per_order("PostgreSQL (all backends)"), "ms"),
        Figure.check(
            NAME, f"{prefix} 5xx responses", sum(tally.server_errors.values()), "responses", at_most=0
        ),
        Figure.check(NAME, f"{prefix} other failed requests", failed, "requests", at_most=0),
        Figure(
            NAME, f"{prefix} refused at checkout (limit reached meanwhile)", refused_checkout, "customers"
        ),
        Figure.check(NAME, f"{prefix} units allocated from stock", db["allocated"], "units", at_most=on_hand),
        Figure.check(NAME, f"{prefix} units backordered", db["backordered"], "units", at_most=limit),
        Figure.check(
            NAME, f"{prefix} oversold: allocated beyond on hand", db["over_allocated"], "units", at_most=0
        ),
        Figure.check(
            NAME,
            f"{prefix} oversold: backordered beyond the limit",
            db["over_backordered"],
            "units",
            at_most=0,
        ),
        Figure.check(
            NAME,
            f"{prefix} stock item's allocated differs from the order lines'",
            db["item_vs_lines"],
            "units",
            at_most=0,
        ),
        Figure.check(
            NAME,
            f"{prefix} units left unsold while customers were refused",
            db["unsold_while_refused"],
            "units",
            at_most=0,
        ),
        Figure.check(
            NAME,
            f"{prefix} orders seen by clients but not in the database, or the reverse",
            db["seen_vs_db"],
            "orders",
            at_most=0,
        ),
        Figure.check(
            NAME, f"{prefix} confirmation emails sent by the worker", sent, "emails", at_least=orders
        ),
    ]
