"""Catalog: listing, search, product page and the admin order and stock lists at 1k, 10k and 100k products.

A throwaway PostgreSQL database (`<name>_catalog_<pid>`, dropped at the end) is grown to each size by
`seed_demo`'s own steps (the demo catalog, then stock for every variant through
`inventory.services.stock_receive_bulk`, one ledger row per change, and the demo orders); the time of
each growth is a figure. At each size every page is requested in this process through Django's test
client (the whole middleware stack and templates, no HTTP server), one request at a time, for a few
seconds: requests/s, that divided by the trivial view's (`/healthz`: `SELECT 1` plus one query), and
the queries one request makes. Targets: every page makes as many queries at the largest size as at the
smallest; the search uses its GIN indexes at the largest size (EXPLAIN). Refuses to run on SQLite.
`--quick`: 300 and 1,000 products.
"""

import os
import statistics
import sys
import time

from bench.core import Figure

SIZES = [1_000, 10_000, 100_000]
QUICK_SIZES = [300, 1_000]
SECONDS_PER_PAGE = 3.0
NAME = "catalog"


def _database():
    """Point the default connection at a new, migrated database; returns the function that drops it."""
    from django.db import connection

    connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_catalog_{os.getpid()}"
    original = connection.settings_dict["NAME"]
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
    print(f"   database: {name} (migrated fresh)", flush=True)
    return lambda: connection.creation.destroy_test_db(original, verbosity=0)


def _grow(products: int) -> float:
    """Seed the catalog up to `products` and stock every variant without stock; seconds taken."""
    from inventory.demo import seed_inventory
    from inventory.models import StockItem, Warehouse
    from inventory.services import stock_receive_bulk
    from orders.demo import seed_orders
    from shop.demo import seed_catalog
    from shop.models import Variant

    started = time.perf_counter()
    print(f"   catalog of {products:,} products:", flush=True)
    seed_catalog(products=products, rng_seed=2026, progress=True)
    if not Warehouse.objects.filter(code="MAIN").exists():
        seed_inventory(rng_seed=2026, progress=True)
        seed_orders(rng_seed=2026)
    else:  # later sizes: the new variants get stock in the main warehouse, through the ledger
        main = Warehouse.objects.get(code="MAIN")
        stocked = StockItem.objects.values("variant_id")
        new = Variant.objects.exclude(pk__in=stocked).order_by("pk").values_list("pk", flat=True)
        rows = [(pk, main.pk, 10 + pk % 40) for pk in new]
        for start in range(0, len(rows), 20_000):
            stock_receive_bulk(rows=rows[start : start + 20_000], note="catalog benchmark")
    with connection_cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def connection_cursor():
    from django.db import connection

    return connection.cursor()


def _pages() -> dict[str, str]:
    from django.db.models import Count
    from django.urls import reverse

    from inventory.models import StockItem
    from shop.models import Category, Product, Variant

    biggest = (
        Category.objects.filter(parent__isnull=True)
        .annotate(n=Count("children__products"))
        .order_by("-n")
        .first()
    )
    middle = Product.objects.order_by("pk")[Product.objects.count() // 2]  # a generated one
    sku = Variant.objects.filter(product=middle).order_by("pk").values_list("sku", flat=True).first()
    assert StockItem.objects.exists()
    search = reverse("shop:search")
    return {
        "trivial view (/healthz)": reverse("health"),
        "category listing (page cache)": reverse("shop:category", args=[biggest.slug]),
        "category listing, page 3 by price (cache miss)": reverse("shop:category", args=[biggest.slug])
        + "?sort=price&page=3",
        "search: a word (jacket)": f"{search}?q=jacket",
        "search: a typo (backpak)": f"{search}?q=backpak",
        "search: an exact SKU": f"{search}?q={sku}",
        "product page": middle.get_absolute_url(),
        "admin order list": reverse("admin:orders_order_changelist"),
        "admin stock list": reverse("admin:inventory_stockitem_changelist"),
    }


def _measure(client, url: str, *, seconds: float, uncached: bool) -> tuple[float, float, int]:
    """(requests/s, median ms, queries per request) of GET `url`, one request at a time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shop.cache import catalog_changed

    def get():
        if uncached:
            catalog_changed()  # a new page-cache token: the listing is computed again
        response = client.get(url, secure=True)
        assert response.status_code == 200, (url, response.status_code)

    for _ in range(2):
        get()
    with CaptureQueriesContext(connection) as captured:
        get()
    queries = len(captured)
    timings = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(timings) < 5:
        started = time.perf_counter()
        get()
        timings.append(time.perf_counter() - started)
    return len(timings) / sum(timings), statistics.median(timings) * 1000, queries


def _search_plan_uses_indexes() -> bool:
    from shop.selectors import SEARCH_SORT, product_search

    plan = product_search(query="jacket", sort=SEARCH_SORT).explain()
    sku_plan = product_search(query="TENT-ALP", sort=SEARCH_SORT).explain()
    typo = product_search(query="backpak", sort=SEARCH_SORT).explain()
    return (
        "shop_product_search_vector" in plan
        and "shop_variant_sku_trgm" in sku_plan
        and "shop_product_name_trgm" in typo
    )


def run(args) -> list[Figure]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment, teardown_test_environment

    if connection.vendor != "postgresql":
        return [Figure(NAME, "needs PostgreSQL (DATABASE_URL=postgres://...)", 0, "runs", "runs", ok=False)]
    sizes = QUICK_SIZES if args.quick else SIZES
    seconds = 1.0 if args.quick else SECONDS_PER_PAGE
    setup_test_environment()  # 'testserver' allowed, email kept in memory
    # Pages link their static files by name, not through a collected manifest (no collectstatic here).
    plain_static = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    plain_static_settings = override_settings(STORAGES=plain_static)
    plain_static_settings.enable()
    drop = _database()
    figures: list[Figure] = []
    queries: dict[str, dict[int, int]] = {}
    try:
        admin = get_user_model().objects.create_superuser("bench@example.com", "bench")
        client = Client()
        client.force_login(admin)
        pages = None
        for size in sizes:
            grown = _grow(size)
            figures.append(Figure(NAME, f"{size:,} products: seeding to this size", round(grown, 1), "s"))
            trivial = None
            pages = pages or _pages()  # the same category, product and SKU at every size
            for page, url in pages.items():
                rps, median, count = _measure(client, url, seconds=seconds, uncached="cache miss" in page)
                trivial = trivial or rps
                queries.setdefault(page, {})[size] = count
                print(
                    f"   {size:>7,}  {page:48} {rps:7.1f} req/s  {median:7.1f} ms  {count:3} queries",
                    flush=True,
                )
                figures += [
                    Figure(NAME, f"{size:,} products: {page}: requests/s", round(rps, 1), "req/s"),
                    Figure(
                        NAME, f"{size:,} products: {page}: x trivial view", round(rps / trivial, 3), "ratio"
                    ),
                    Figure(NAME, f"{size:,} products: {page}: median", round(median, 1), "ms"),
                ]
        smallest, largest = sizes[0], sizes[-1]
        for page, counts in queries.items():
            figures.append(
                Figure.check(
                    NAME,
                    f"{page}: queries at {largest:,} (at {smallest:,}: {counts[smallest]})",
                    counts[largest],
                    "queries",
                    at_most=counts[smallest],
                )
            )
        figures.append(
            Figure.check(
                NAME,
                f"search uses its GIN indexes at {largest:,} (EXPLAIN)",
                int(_search_plan_uses_indexes()),
                "yes",
                at_least=1,
            )
        )
    finally:
        connection.close()
        drop()
        # The benchmarks after this one in the process get the settings and templates back.
        plain_static_settings.disable()
        teardown_test_environment()
    return figures


if __name__ == "__main__":
    sys.exit("run it through the runner: python -m bench catalog")
