"""The load test: locust against gunicorn + PostgreSQL + Redis with a Celery worker, then the books.

`make load` (or `python -m load [--duration 60] [--users 24]`) runs, against
one gunicorn and one worker started here on the database of DATABASE_URL and
the Redis of REDIS_URL:

1. the mixed scenario (load/locustfile.py `Shopper`) for --duration seconds;
   half way through, stock arrives for the backordered items, so the worker's
   allocation pass runs while customers keep checking out;
2. four probes of --probe-seconds each, with no think time: the trivial view
   (/healthz), the catalog listing, the home page and a product page, so each
   page reads as a ratio of the trivial view's requests/s (home and product
   page >= 0.5, as the listing: their page cache is warm by then); wrk makes
   the requests when installed (bench/loadgen.py), else locust's probe users;
3. the checks, once the worker has caught up: units oversold, stock items
   whose levels differ from their ledger, emails not sent, lines left waiting
   while stock is free.

It prints one table (bench.core) and writes bench/results/load.json. The run
creates its own tagged catalog and leaves its orders in the database (the
stock ledger does not allow deleting movements). Also `python -m bench load`.
"""

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

from bench import loadgen
from bench.core import Figure
from bench.servers import analyze, collectstatic
from load.phases import _locust, _print_endpoints  # noqa: F401 - load.scale.run imports them from here

NAME = "load"
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

DURATION = int(os.environ.get("LOAD_DURATION", "60"))
USERS = int(os.environ.get("LOAD_USERS", "24"))
PROBE_SECONDS = int(os.environ.get("LOAD_PROBE_SECONDS", "15"))
PROBE_USERS = int(os.environ.get("LOAD_PROBE_USERS", "16"))
WEB_WORKERS = int(os.environ.get("LOAD_WEB_WORKERS", "4"))
WEB_THREADS = int(os.environ.get("LOAD_WEB_THREADS", "4"))
WORKER_CONCURRENCY = int(os.environ.get("LOAD_WORKER_CONCURRENCY", "2"))

# The catalog: one listing page (SHOP_PAGE_SIZE 24) of one-variant products.
IN_STOCK, BACKORDER, SCARCE = 16, 4, 4
IN_STOCK_UNITS = 100_000  # never runs out
SCARCE_UNITS, SCARCE_LIMIT = 5, 8  # runs out, backorders up to the limit, then refuses
ARRIVING_UNITS = 40  # per backorder-only item, half way through the run


# --- the catalog ---------------------------------------------------------------------------------


def _setup(tag: str) -> dict:
    from django.db import transaction

    from inventory.models import BackorderMode, BackorderPolicy, Warehouse
    from inventory.services import stock_adjust
    from shop.models import Category, Product, Variant

    with transaction.atomic():
        category = Category.objects.create(name=f"Load test {tag}", slug=f"load-{tag}")
        warehouse, _ = Warehouse.objects.get_or_create(code="LOAD", defaults={"name": "Load-test warehouse"})
        kinds = ["in_stock"] * IN_STOCK + ["backorder"] * BACKORDER + ["scarce"] * SCARCE
        products = Product.objects.bulk_create(
            [
                Product(
                    name=f"Load {kind.replace('_', ' ')} {n} {tag}", slug=f"load-{tag}-{n}", category=category
                )
                for n, kind in enumerate(kinds)
            ]
        )
        variants = Variant.objects.bulk_create(
            [
                Variant(product=p, sku=f"LOAD-{tag}-{n}", price=Decimal("25.00") + n)
                for n, p in enumerate(products)
            ]
        )
        BackorderPolicy.objects.bulk_create(
            [
                BackorderPolicy(
                    variant=v,
                    mode=BackorderMode.ALLOW,
                    backorder_limit=SCARCE_LIMIT if kind == "scarce" else None,
                    lead_time_days=14,
                )
                for v, kind in zip(variants, kinds, strict=True)
                if kind != "in_stock"
            ]
        )
    for v, kind in zip(variants, kinds, strict=True):
        units = {"in_stock": IN_STOCK_UNITS, "scarce": SCARCE_UNITS}.get(kind)
        if units:
            stock_adjust(
                variant_id=v.pk, warehouse_id=warehouse.pk, quantity_change=units, note=f"load {tag}"
            )
    items = {kind: [] for kind in ("in_stock", "backorder", "scarce")}
    for p, v, kind in zip(products, variants, kinds, strict=True):
        items[kind].append({"path": f"/p/{p.slug}/", "variant": v.pk})
    return {
        "category": category.slug,
        "email_domain": f"{tag}.load.invalid",
        "products": items["in_stock"] + items["backorder"] + items["scarce"],
        "warehouse": warehouse.pk,
        "limits": {v.pk: SCARCE_LIMIT for v, kind in zip(variants, kinds, strict=True) if kind == "scarce"},
        **items,
    }


def _receive_stock(catalog: dict, tag: str) -> None:
    """Stock arrives for the backorder-only items: the worker's allocation pass serves their queues."""
    from inventory.models import MovementReason
    from inventory.services import stock_adjust

    for item in catalog["backorder"]:
        stock_adjust(
            variant_id=item["variant"],
            warehouse_id=catalog["warehouse"],
            quantity_change=ARRIVING_UNITS,
            reason=MovementReason.RECEIVED,
            note=f"load {tag}: delivery",
        )


# --- processes -----------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(queue: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("LOAD_SECRET_KEY") or f"load-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue,  # this run's messages go to this run's worker only
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_URL": "dummymail://",
        "LOG_LEVEL": "WARNING",
    }


def _start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this run started, and only it
        proc.wait(timeout=10)


def _wait(what: str, ready, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(f"{what} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def answers_healthz(port: int) -> bool:
    """Whether a shop on 127.0.0.1:`port` answers /healthz with 200 (it is up and has its database)."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False


def _start_gunicorn(env: dict, port: int, log: Path) -> subprocess.Popen:
    cmd = [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(WEB_WORKERS)]
    cmd += ["--worker-class", "gthread", "--threads", str(WEB_THREADS), "--keep-alive", "30"]
    cmd += ["--backlog", "2048", "--log-level", "warning"]
    proc = _start(cmd, env, log)
    _wait("gunicorn", lambda: answers_healthz(port), proc, log)
    return proc


def _start_worker(env: dict, queue: str, log: Path) -> subprocess.Popen:
    cmd = [str(BIN / "celery"), "-A", "config", "worker", "-Q", queue, "-n", f"{queue}@%h"]
    cmd += ["--concurrency", str(WORKER_CONCURRENCY), "--without-gossip", "--without-mingle"]
    cmd += ["--loglevel", "INFO"]
    env = {**env, "LOG_LEVEL": "INFO"}  # the shop's logging config: its " ready." line is INFO
    proc = _start(cmd, env, log)
    _wait("the Celery worker", lambda: " ready." in log.read_text(), proc, log)
    return proc


def _forget_queue(queue: str) -> None:
    """Drop this run's (empty) queue and binding from Redis; nothing else is touched."""
    from django.conf import settings

    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        client.delete(queue, f"_kombu.binding.{queue}")
        client.close()


# --- the probes ---------------------------------------------------------------------------------

TRIVIAL = "trivial view (/healthz)"
PROBES = ("TrivialViewProbe", "ListingProbe", "HomeProbe", "ProductProbe")
# The pages measured against the trivial view (their request names in locustfile.py), and the least
# ratio each must reach: all three are served from the page cache, warm by the time the probes run.
PROBE_RATIOS = {"catalog listing": 0.5, "home page": 0.5, "product page": 0.5}


def _probes(*, port: int, host: str, seconds: int, catalog: dict, catalog_path: Path, out: Path) -> dict:
    """Each probe's row (as `_locust` gives them), by request name. With wrk installed, wrk makes the
    requests (bench/loadgen.py): locust's users share one Python process, which on two cores tops out
    near the trivial view's rate and would make every page look as fast as /healthz. Without it, the
    locust probe classes of locustfile.py."""
    if loadgen.generator() == "wrk":
        paths = {
            TRIVIAL: "/healthz",
            "catalog listing": f"/c/{catalog['category']}/",
            "home page": "/",
            "product page": catalog["in_stock"][0]["path"],
        }
        rows: dict = {"_failures": []}
        for name, path in paths.items():
            if (status := loadgen.status_of(port, path)) != 200:
                raise RuntimeError(f"probe {name}: {path} answered {status}")
            r = loadgen.hammer(port=port, path=path, connections=PROBE_USERS, seconds=seconds)
            rows[name] = {
                "requests": r.requests + r.failures,
                "failures": r.failures,
                "rps": r.per_second,
                "p50": round(r.p50_ms, 1),
                "p95": round(r.p95_ms, 1),
                "p99": round(r.p99_ms, 1),
            }
        return rows
    rows, failures = {}, []
    for user_class in PROBES:
        phase = _locust(
            user_class, users=PROBE_USERS, seconds=seconds, host=host, catalog=catalog_path, out=out
        )
        failures += phase.pop("_failures")
        phase.pop("Aggregated", None)
        rows |= phase
    return rows | {"_failures": failures}


def _probe_figures(probes: dict, trivial_rps: float) -> list[Figure]:
    figures = []
    for page, at_least in PROBE_RATIOS.items():
        rps = probes[page]["rps"]
        figures += [
            Figure(NAME, f"{page}: requests/s (probe)", round(rps, 1), "req/s"),
            Figure(NAME, f"{page} p95 (probe)", probes[page]["p95"], "ms"),
            Figure.check(
                NAME, f"{page} / trivial view", round(rps / trivial_rps, 2), "ratio", at_least=at_least
            ),
        ]
    failures = sum(r["failures"] for name, r in probes.items() if not name.startswith("_"))
    figures.append(Figure.check(NAME, "probes: failed requests", failures, "requests", at_most=0))
    return figures


# --- the books afterwards ----------------------------------------------------------------------------


def _books(catalog: dict) -> dict:
    """Oversold units, stock/lines mismatches, lines waiting beside free stock, for this run's variants."""
    from django.db.models import Sum

    from inventory.models import StockItem
    from orders.models import OrderLine

    oversold = mismatch = waiting_beside_free = 0
    for item in catalog["products"]:
        v = item["variant"]
        stock = StockItem.objects.filter(variant_id=v).aggregate(
            on_hand=Sum("on_hand"), allocated=Sum("allocated")
        )
        on_hand, allocated = stock["on_hand"] or 0, stock["allocated"] or 0
        lines = OrderLine.objects.filter(variant_id=v).aggregate(
            allocated=Sum("quantity_allocated"), backordered=Sum("quantity_backordered")
        )
        lines_allocated, backordered = lines["allocated"] or 0, lines["backordered"] or 0
        limit = catalog["limits"].get(v)
        oversold += max(lines_allocated - on_hand, 0) + max(allocated - on_hand, 0)
        oversold += max(backordered - limit, 0) if limit is not None else 0
        mismatch += abs(allocated - lines_allocated)
        waiting_beside_free += min(on_hand - allocated, backordered) if on_hand > allocated else 0
    return {"oversold": oversold, "mismatch": mismatch, "waiting_beside_free": waiting_beside_free}


def _drain(catalog: dict, timeout: float) -> tuple[int, int, float]:
    """Wait for the worker to send this run's emails; return (emails, not yet sent, seconds waited)."""
    from notifications.models import Notification, NotificationStatus

    rows = Notification.objects.filter(recipient__endswith=f"@{catalog['email_domain']}")
    t = time.monotonic()
    while True:
        unsent = rows.exclude(status=NotificationStatus.SENT).count()
        if unsent == 0 or time.monotonic() - t > timeout:
            return rows.count(), unsent, time.monotonic() - t
        time.sleep(0.5)


# --- run -------------------------------------------------------------------------------------------


def run(args) -> list[Figure]:
    from django.conf import settings
    from django.db import connection

    from config.celery import app
    from inventory.selectors import ledger_discrepancies
    from orders.models import Order, OrderLine

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        print(
            "   REFUSED: the load test runs against PostgreSQL and Redis, as in production. Set\n"
            "   DATABASE_URL=postgres://... and REDIS_URL=redis://..., then `manage.py migrate`.",
            flush=True,
        )
        return [Figure(NAME, "not run: needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)", 0, "runs")]

    quick = getattr(args, "quick", False)
    duration = getattr(args, "duration", None) or (15 if quick else DURATION)
    probe = getattr(args, "probe_seconds", None) or (5 if quick else PROBE_SECONDS)
    users = getattr(args, "users", None) or (8 if quick else USERS)
    tag = uuid.uuid4().hex[:8]
    queue = f"load-{tag}"
    load_average = os.getloadavg()[0]
    print(
        f"   {users} shoppers for {duration} s, then {probe} s each of /healthz, the listing, the home page and "
        f"a product page with {PROBE_USERS} users each; gunicorn {WEB_WORKERS} workers x {WEB_THREADS} threads, Celery worker "
        f"concurrency {WORKER_CONCURRENCY}; {os.cpu_count()} CPUs, load average {load_average:.1f}; "
        f"tag {tag}",
        flush=True,
    )
    drift_before = {d.stock_item_id for d in ledger_discrepancies()}
    catalog = _setup(tag)
    # This machine's PostgreSQL runs without autovacuum: the planner statistics a real server would have.
    print(f"   ANALYZE in {analyze():.1f} s", flush=True)
    env = _server_env(queue)
    collectstatic(env)
    previous = app.conf.task_default_queue, app.conf.task_always_eager
    app.conf.task_default_queue, app.conf.task_always_eager = queue, False  # the delivery's pass goes there
    web = worker = None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        catalog_path = out / "catalog.json"
        catalog_path.write_text(json.dumps(catalog))
        try:
            worker = _start_worker(env, queue, out / "worker.log")
            port = _free_port()
            web = _start_gunicorn(env, port, out / "gunicorn.log")
            host = f"http://127.0.0.1:{port}"
            delivery = threading.Timer(duration / 2, _receive_stock, args=(catalog, tag))
            delivery.start()
            mixed = _locust(
                "Shopper", users=users, seconds=duration, host=host, catalog=catalog_path, out=out
            )
            delivery.join()
            probes = _probes(
                port=port, host=host, seconds=probe, catalog=catalog, catalog_path=catalog_path, out=out
            )
            emails, unsent, waited = _drain(catalog, timeout=30 if quick else 90)
            server_errors = (out / "gunicorn.log").read_text()
        finally:
            _stop(web)
            _stop(worker)
            app.conf.task_default_queue, app.conf.task_always_eager = previous
            try:
                _forget_queue(queue)
            except Exception as exc:  # noqa: BLE001 - tidying only
                print(f"   could not drop the queue {queue}: {exc}")

    _print_endpoints(f"mixed scenario, {users} shoppers, {duration} s", mixed)
    _print_endpoints(
        f"probes ({loadgen.generator()}), {PROBE_USERS} connections each, {probe} s each, no think time",
        probes,
    )
    if "Traceback" in server_errors:
        print("   gunicorn logged errors; the end of its log:\n" + server_errors[-3000:])

    orders = Order.objects.filter(email__endswith=f"@{catalog['email_domain']}")
    waited_lines = OrderLine.objects.filter(order__in=orders, quantity_backordered_at_placement__gt=0)
    books = _books(catalog)
    drift = ledger_discrepancies()
    new_drift = [d for d in drift if d.stock_item_id not in drift_before]
    total = mixed["Aggregated"]
    refused = mixed.get("place order (refused: availability)", {}).get("requests", 0)
    refused_before = sum(
        mixed.get(name, {}).get("requests", 0)
        for name in ("product page (refused: backorders full)", "add to cart (refused)")
    )
    trivial_rps = probes[TRIVIAL]["rps"]
    print(
        f"   {orders.count():,} orders ({waited_lines.values('order').distinct().count():,} with backordered "
        f"units), {refused_before} purchases refused before checkout and {refused} at checkout; "
        f"{emails:,} emails, {unsent} unsent {waited:.0f} s after the run; "
        f"ledger discrepancies {len(drift)} ({len(drift_before)} before the run)",
        flush=True,
    )
    return [
        Figure(NAME, "mixed: requests/s", round(total["rps"], 1), "req/s"),
        Figure(NAME, "mixed: p50", total["p50"], "ms"),
        Figure(NAME, "mixed: p95", total["p95"], "ms"),
        Figure(NAME, "mixed: p99", total["p99"], "ms"),
        Figure.check(NAME, "mixed: failed requests", total["failures"], "requests", at_most=0),
        Figure(NAME, "mixed: requests", total["requests"], "requests"),
        Figure(NAME, "orders placed", orders.count(), "orders"),
        Figure(
            NAME, "orders with backordered units", waited_lines.values("order").distinct().count(), "orders"
        ),
        Figure(
            NAME, "purchases refused (stock and backorder limit used up)", refused_before + refused, "times"
        ),
        Figure(NAME, "place order p95", mixed.get("place order", {}).get("p95", 0.0), "ms"),
        Figure(NAME, "load average (1 min) at the start", round(load_average, 2), "processes"),
        Figure(
            NAME, f"probes: load generator ({loadgen.generator()}) connections", PROBE_USERS, "connections"
        ),
        Figure(NAME, "trivial view (/healthz): requests/s", round(trivial_rps, 1), "req/s"),
        *_probe_figures(probes, trivial_rps),
        Figure.check(NAME, "oversold units", books["oversold"], "units", at_most=0),
        Figure.check(NAME, "stock allocated vs lines allocated", books["mismatch"], "units", at_most=0),
        Figure.check(NAME, "ledger drift (stock items off their ledger)", len(new_drift), "items", at_most=0),
        Figure.check(
            NAME, "units waiting beside free stock", books["waiting_beside_free"], "units", at_most=0
        ),
        Figure.check(NAME, "emails not sent after the run", unsent, "emails", at_most=0),
    ]


def main(argv: list[str] | None = None) -> int:
    from bench.core import print_table, setup_django, write_json

    parser = argparse.ArgumentParser(
        description="Load test: locust against gunicorn, PostgreSQL, Redis, a worker."
    )
    parser.add_argument("--duration", type=int, help=f"seconds of the mixed scenario (default {DURATION})")
    parser.add_argument("--users", type=int, help=f"simulated shoppers (default {USERS})")
    parser.add_argument("--probe-seconds", type=int, help=f"seconds of each probe (default {PROBE_SECONDS})")
    parser.add_argument("--quick", action="store_true", help="15 s with 8 shoppers: a smoke run")
    args = parser.parse_args(argv)
    setup_django()
    figures = run(args)
    if all(f.name.startswith("not run") for f in figures):
        return 2
    path = write_json(NAME, figures, extra={"quick": args.quick})
    print(f"   figures written to {path}\n")
    print_table(figures)
    return 1 if any(f.ok is False for f in figures) else 0
