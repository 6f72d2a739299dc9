"""Pages: home and product page through gunicorn as a ratio of the trivial view, page cache warm and off.

In a throwaway PostgreSQL database (`<name>_pages_<pid>`, migrated fresh, dropped after), `seed_demo`'s
own steps make a shop (the catalog, then stock in every situation; no orders) and the database is
`ANALYZE`d, as a real server's autovacuum would. gunicorn serves it as the checkout benchmark runs
it (DEBUG=0, production settings, static files collected, 3 gthread workers x 2 threads, the Redis
cache of REDIS_URL under a page-cache namespace of its own).

Two phases, each against its own gunicorn:

1. warm: the page cache as configured (SHOP_PAGE_CACHE_TTL, 60 s); each page is requested once
   first, so the cache holds it;
2. uncached: gunicorn started again with SHOP_PAGE_CACHE_TTL=0 (the page cache off).

In each phase, one after the other: the trivial view (`/healthz`: `SELECT 1` plus one query), the
home page, a product page (the first featured product: the Alpine 2 Tent, two colour variants) and
its category's listing (for reference), each for SECONDS with CONNECTIONS keep-alive connections and
no think time, every request a new visitor (no cookies). The load generator is wrk when installed
(`make wrk-deps`; bench/loadgen.py), else threads of this process. Figures: requests/s, p50 and
p95 of each, each page's requests/s over the trivial view's of the same phase, with the issue's
targets (issue 22): home and product page warm >= 0.5, uncached >= 0.15; no failed request; the
load average at the start and the load generator's own CPU. Refuses SQLite.
"""

import os
import tempfile
import uuid
from pathlib import Path

from bench import loadgen, servers
from bench.core import Figure

NAME = "pages"
PRODUCTS, QUICK_PRODUCTS = 1_000, 300
SECONDS, QUICK_SECONDS = 15.0, 4.0
CONNECTIONS = int(os.environ.get("BENCH_PAGES_CONNECTIONS", "32"))
TARGETS = {  # (phase, page): at least this many times the trivial view's requests/s
    ("warm", "home page"): 0.5,
    ("warm", "product page"): 0.5,
    ("uncached", "home page"): 0.15,
    ("uncached", "product page"): 0.15,
}
TRIVIAL = "trivial view (/healthz)"


def _seed(products: int, *, queue: str) -> dict[str, str]:
    """The demo shop with `products` products, ANALYZEd; returns the pages to measure by name. A task
    the steps send goes to this run's queue (dropped after), never to a worker of another database."""
    from django.urls import reverse

    from config.celery import app
    from inventory.demo import seed_inventory
    from shop.demo import seed_catalog
    from shop.models import Product

    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        seed_catalog(products=products, rng_seed=2026, progress=False)
        seed_inventory(rng_seed=2026, progress=False)
    finally:
        app.conf.task_default_queue = previous
        servers.forget_queue(queue)
    print(f"   ANALYZE in {servers.analyze():.1f} s", flush=True)
    product = Product.objects.filter(is_featured=True).order_by("pk").first() or Product.objects.first()
    return {
        TRIVIAL: reverse("health"),
        "home page": "/",
        "product page": product.get_absolute_url(),
        "category listing": product.category.get_absolute_url(),
    }


def _phase(phase: str, *, env: dict, pages: dict[str, str], seconds: float, log: Path) -> dict:
    """One gunicorn, every page in turn; returns loadgen.Result by page."""
    port = servers.free_port()
    web = servers.start_gunicorn(env, port, log)
    results = {}
    try:
        for page, path in pages.items():
            for _ in range(3):  # every page answers 200, not a redirect; and the cache holds it
                status = loadgen.status_of(port, path)
                if status != 200:
                    raise RuntimeError(
                        f"{phase}: {page} {path} answered {status}:\n{log.read_text()[-3000:]}"
                    )
            result = loadgen.hammer(port=port, path=path, connections=CONNECTIONS, seconds=seconds)
            results[page] = result
            print(
                f"   {phase:8} {page:26} {result.per_second:8.1f} req/s  p50 {result.p50_ms:7.1f} ms  "
                f"p95 {result.p95_ms:7.1f} ms  {result.failures} failed  (load generator "
                f"{result.generator_cpu / result.seconds:.0%} of a core)",
                flush=True,
            )
    finally:
        servers.stop(web)
    return results


def _figures(phase: str, results: dict) -> list[Figure]:
    trivial = results[TRIVIAL].per_second
    figures = []
    for page, result in results.items():
        figures += [
            Figure(NAME, f"{phase}: {page}: requests/s", round(result.per_second, 1), "req/s"),
            Figure(NAME, f"{phase}: {page}: p50", round(result.p50_ms, 1), "ms"),
            Figure(NAME, f"{phase}: {page}: p95", round(result.p95_ms, 1), "ms"),
        ]
        if page != TRIVIAL:
            ratio = round(result.per_second / trivial, 3) if trivial else 0.0
            target = TARGETS.get((phase, page))
            figures.append(
                Figure.check(NAME, f"{phase}: {page} / trivial view", ratio, "ratio", at_least=target)
                if target is not None
                else Figure(NAME, f"{phase}: {page} / trivial view", ratio, "ratio")
            )
    figures.append(
        Figure.check(
            NAME,
            f"{phase}: failed requests (errors, not 200)",
            sum(r.failures for r in results.values()),
            "requests",
            at_most=0,
        )
    )
    return figures


def run(args) -> list[Figure]:
    from django.db import connection

    if connection.vendor != "postgresql":
        print("   REFUSED: the pages benchmark needs PostgreSQL (DATABASE_URL=postgres://...).", flush=True)
        return [Figure(NAME, "not run: needs PostgreSQL (DATABASE_URL)", 0, "runs", ">= 1", ok=False)]
    products = QUICK_PRODUCTS if args.quick else PRODUCTS
    seconds = QUICK_SECONDS if args.quick else SECONDS
    load_average = os.getloadavg()[0]
    tag = uuid.uuid4().hex[:8]
    generator = loadgen.generator()
    print(
        f"   {products:,} products; {CONNECTIONS} connections, {seconds:.0f} s per page, load generator "
        f"{generator}; gunicorn 3 gthread workers x 2 threads; {os.cpu_count()} CPUs, load average "
        f"{load_average:.2f}; tag {tag}",
        flush=True,
    )
    database, drop = servers.throwaway_database("pages")
    queue = f"bench-pages-{tag}"
    try:
        pages = _seed(products, queue=queue)
        env = servers.server_env(queue)  # no worker: browsing sends no task
        env["DATABASE_URL"] = servers.database_url(database)
        env["SHOP_CACHE_NAMESPACE"] = f"bench-pages-{tag}"  # this database's pages, not another's
        servers.collectstatic(env)
        with tempfile.TemporaryDirectory() as logs:
            warm = _phase("warm", env=env, pages=pages, seconds=seconds, log=Path(logs) / "warm.log")
            uncached_env = {**env, "SHOP_PAGE_CACHE_TTL": "0"}
            uncached = _phase(
                "uncached", env=uncached_env, pages=pages, seconds=seconds, log=Path(logs) / "uncached.log"
            )
    finally:
        connection.close()
        drop()
    probe = warm[TRIVIAL]
    return [
        Figure(NAME, "setup: load average (1 min) at the start", round(load_average, 2), "processes"),
        Figure(NAME, f"setup: load generator ({generator}) connections", CONNECTIONS, "connections"),
        Figure(
            NAME,
            "setup: load generator's CPU in the warm trivial-view run",
            round(100 * probe.generator_cpu / probe.seconds, 1),
            "% of a core",
        ),
        *_figures("warm", warm),
        *_figures("uncached", uncached),
    ]
