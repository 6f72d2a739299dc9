"""API: availability of 1,000 variants in one paginated walk (page_size 200) through gunicorn, against the trivial view.

In a throwaway PostgreSQL database (`<name>_api_<pid>`, migrated fresh, dropped after), `seed_demo`'s
own steps make a catalog of at least 1,000 variants with stock (`VACUUM ANALYZE` after, as a real
server's autovacuum would). gunicorn serves the shop (DEBUG=0, the production settings) with an API key
holding `catalog:read`. CLIENTS threads, each with its own keep-alive connection, then for SECONDS
each: the trivial view (`/healthz`), and walks of `/api/v1/variants/?page_size=200` following `next`
until 1,000 variants are read. Figures: requests/s of each, the API's over the trivial view's (same
run), walks/s and the median walk time; in process, the most queries a page makes at page_size 200
and at 1 (the same: a page's availability is read in a fixed number of queries). Refuses SQLite.
"""

import http.client
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from bench.core import Figure

NAME = "api"
VARIANTS = 1_000
PAGE_SIZE = 200
CLIENTS = int(os.environ.get("BENCH_API_CLIENTS", "8"))
SECONDS = 20.0
QUICK_SECONDS = 5.0
WALK_PATH = f"/api/v1/variants/?page_size={PAGE_SIZE}"


def _database():
    """Point the default connection at a new, migrated database; returns the function that drops it."""
    from django.db import connection

    connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_api_{os.getpid()}"
    original = connection.settings_dict["NAME"]
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
    print(f"   database: {name} (migrated fresh)", flush=True)
    return name, lambda: connection.creation.destroy_test_db(original, verbosity=0)


def _seed() -> int:
    """A catalog with at least VARIANTS variants, all stocked; returns how many variants."""
    from django.db import connection

    from inventory.demo import seed_inventory
    from shop.demo import seed_catalog
    from shop.models import Variant

    products = 250
    while True:
        seed_catalog(products=products, rng_seed=2026, progress=False)
        if Variant.objects.count() >= VARIANTS:
            break
        products *= 2
    seed_inventory(rng_seed=2026, progress=False)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return Variant.objects.count()


class Client:
    """One keep-alive HTTP/1.1 connection to gunicorn."""

    def __init__(self, port: int, key: str):
        self.port, self.key = port, key
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str) -> tuple[int, bytes]:
        headers = {"Host": f"127.0.0.1:{self.port}", "Authorization": f"Bearer {self.key}"}
        self.conn.request("GET", path, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def walk(self) -> int:
        """Read VARIANTS variants page by page; returns the requests made."""
        path, read, requests = WALK_PATH, 0, 0
        while path and read < VARIANTS:
            status, body = self.get(path)
            requests += 1
            if status != 200:
                raise RuntimeError(f"{path}: {status} {body[:300]!r}")
            page = json.loads(body)
            read += len(page["results"])
            path = page["next"] and urlsplit(page["next"])._replace(scheme="", netloc="").geturl()
        if read < VARIANTS:
            raise RuntimeError(f"the walk ended after {read} variants")
        return requests


def _load(port: int, key: str, seconds: float, action) -> tuple[int, float, list[float]]:
    """CLIENTS threads repeating `action(client)` for `seconds`: (requests, elapsed, per-action times)."""
    counts, times, errors = [0] * CLIENTS, [], []
    start = threading.Barrier(CLIENTS + 1)
    stop_at = [0.0]

    def client(n: int) -> None:
        c = Client(port, key)
        start.wait()
        try:
            while time.perf_counter() < stop_at[0]:
                t = time.perf_counter()
                counts[n] += action(c)
                times.append(time.perf_counter() - t)
        except Exception as exc:  # noqa: BLE001 - reported as a figure, not a crash of the run
            errors.append(repr(exc))
        finally:
            c.conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed, first: {errors[0]}")
    return sum(counts), time.perf_counter() - began, times


def _queries_per_page(key: str) -> dict[int, list[int]]:
    """In process (Django's test client): the queries of each page of the walk at page_size 200, and of
    the first 200 pages at page_size 1. A page makes one query more when one of its variants is on an
    open purchase order (its supplier's dates), so the largest counts are compared."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext, override_settings

    counts = {}
    with override_settings(ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
        client = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {key}")
        client.get("/api/v1/variants/?page_size=1")  # the key's last use is written once a minute: not here
        for size, pages in ((PAGE_SIZE, VARIANTS // PAGE_SIZE), (1, PAGE_SIZE)):
            path, counts[size] = f"/api/v1/variants/?page_size={size}", []
            for _ in range(pages):
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(path)
                assert response.status_code == 200, (response.status_code, response.content[:300])
                counts[size].append(len(queries))
                path = response.json()["next"]
    return counts


def run(args) -> list[Figure]:
    from django.db import connection

    from api.services import api_key_create
    from bench.servers import free_port, server_env, start_gunicorn, stop

    if connection.vendor != "postgresql":
        print("   REFUSED: the API benchmark needs PostgreSQL (DATABASE_URL=postgres://...).", flush=True)
        return [Figure(NAME, "not run: needs PostgreSQL (DATABASE_URL)", 0, "runs", ">= 1", ok=False)]
    seconds = QUICK_SECONDS if args.quick else SECONDS
    database, drop = _database()
    web = None
    try:
        started = time.perf_counter()
        variants = _seed()
        print(f"   {variants:,} variants seeded in {time.perf_counter() - started:.0f} s", flush=True)
        _, raw = api_key_create(
            name="API benchmark",
            scopes=["catalog:read"],
            created_by_id=None,
            rate_limit_per_minute=10_000_000,
        )
        queries = _queries_per_page(raw)
        env = server_env(f"bench-api-{uuid.uuid4().hex[:8]}")
        url = urlsplit(os.environ["DATABASE_URL"])
        env["DATABASE_URL"] = url._replace(path=f"/{database}").geturl()
        # No collectstatic: the API and /healthz render no template, so no static file's name is needed.
        port = free_port()
        log = Path(tempfile.mkdtemp(prefix="bench-api-")) / "gunicorn.log"
        web = start_gunicorn(env, port, log)
        Client(port, raw).walk()  # warm every gunicorn process a little
        trivial_n, trivial_s, _ = _load(port, raw, seconds, lambda c: c.get("/healthz")[0] == 200)
        api_n, api_s, walks = _load(port, raw, seconds, lambda c: c.walk())
    finally:
        stop(web)
        drop()
    trivial_rps, api_rps = trivial_n / trivial_s, api_n / api_s
    print(
        f"   trivial view {trivial_rps:.1f} req/s; API pages {api_rps:.1f} req/s ({len(walks)} walks of "
        f"{VARIANTS:,} variants, median {statistics.median(walks):.2f} s); queries per page {queries[PAGE_SIZE]} "
        f"(page_size 1: {min(queries[1])} to {max(queries[1])})",
        flush=True,
    )
    return [
        Figure(NAME, "trivial view (/healthz): requests/s", round(trivial_rps, 1), "req/s"),
        Figure(NAME, f"variants page of {PAGE_SIZE}: requests/s", round(api_rps, 1), "req/s"),
        Figure(
            NAME, f"variants page of {PAGE_SIZE} / trivial view", round(api_rps / trivial_rps, 3), "ratio"
        ),
        Figure(NAME, f"walks of {VARIANTS:,} variants per second", round(len(walks) / api_s, 2), "walks/s"),
        Figure(NAME, f"walk of {VARIANTS:,} variants: median", round(statistics.median(walks), 3), "s"),
        Figure(NAME, f"queries per page: page_size {PAGE_SIZE}, most", max(queries[PAGE_SIZE]), "queries"),
        Figure(NAME, "queries per page: page_size 1, most (200 pages)", max(queries[1]), "queries"),
        Figure.check(
            NAME,
            f"queries per page: page_size {PAGE_SIZE} minus page_size 1",
            max(queries[PAGE_SIZE]) - max(queries[1]),
            "queries",
            at_most=0,
        ),
    ]
