"""Auto-allocation throughput: 10,000 backordered lines served when stock arrives.

Two shapes: 10,000 lines of one variant, and 10,000 lines spread over 100
variants. Each line is its own order. Reports lines allocated per second, the
number of queries of the pass (bounded by batches, not lines; both of its
connections counted), and, in the same run, the rate of one plain set-based
UPDATE of 10,000 order lines as the physical reference. Each shape runs three
passes (new orders each time) and the figures are their median, with the
slowest and fastest pass beside it. The pass is timed as the worker runs it:
outside a transaction, so on PostgreSQL each batch's orders are updated on a
second connection while the next batch is served, and the time includes
waiting for the last of those. Run on PostgreSQL for meaningful figures.
"""

import statistics
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from bench.core import Figure

LINES = 10_000
# Passes per shape: the figure is their median (this machine is a VM whose speed drifts between
# runs by a fifth or more); the slowest and fastest are reported beside it.
REPEATS = 3


def _setup(*, lines: int, variants: int, tag: str):
    from django.db import transaction
    from django.utils import timezone

    from inventory.models import BackorderMode, BackorderPolicy, Warehouse
    from orders.models import Order, OrderLine
    from shop.models import Category, Product, Variant

    with transaction.atomic():
        category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
        warehouse, _ = Warehouse.objects.get_or_create(code="BENCH", defaults={"name": "Bench warehouse"})
        product = Product.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}", category=category)
        vs = Variant.objects.bulk_create(
            [Variant(product=product, sku=f"B-{tag}-{n}", price=Decimal("10.00")) for n in range(variants)]
        )
        BackorderPolicy.objects.bulk_create(
            [BackorderPolicy(variant=v, mode=BackorderMode.ALLOW) for v in vs]
        )
        start = timezone.now() - timedelta(days=30)
        orders = Order.objects.bulk_create(
            [
                Order(
                    number=f"BN{tag[:6]}{n:06d}",
                    email=f"b{n}@example.com",
                    placed_at=start + timedelta(seconds=n),
                )
                for n in range(lines)
            ],
            batch_size=2000,
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=o,
                    variant=vs[n % variants],
                    sku=vs[n % variants].sku,
                    product_name=product.name,
                    unit_price=Decimal("10.00"),
                    quantity=1,
                    quantity_backordered=1,
                )
                for n, o in enumerate(orders)
            ],
            batch_size=2000,
        )
    return warehouse, vs


def _pass(*, lines: int, variants: int, quick: bool) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inventory.services import stock_adjust
    from inventory.tasks import stock_arrived
    from orders.services import stock_arrived_process

    tag = uuid.uuid4().hex[:8]
    warehouse, vs = _setup(lines=lines, variants=variants, tag=tag)
    original = stock_arrived.delay_on_commit
    stock_arrived.delay_on_commit = lambda **kw: None  # the pass is timed by hand below
    try:
        for v in vs:
            stock_adjust(variant_id=v.pk, warehouse_id=warehouse.pk, quantity_change=lines // variants)
    finally:
        stock_arrived.delay_on_commit = original
    from orders.services import allocation_follow_up as order_services  # where the pass looks it up

    follow_up_queries = []  # queries of the follow-up transactions, on the pass's second connection
    real_follow_up = order_services.order_lines_allocated

    def counted_follow_up(**kwargs):
        with CaptureQueriesContext(connection) as follow_up:  # this thread's connection
            done = real_follow_up(**kwargs)
        follow_up_queries.append(len(follow_up.captured_queries))
        return done

    order_services.order_lines_allocated = counted_follow_up
    try:
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            results = stock_arrived_process(variant_ids=[v.pk for v in vs])
            elapsed = time.perf_counter() - t0
    finally:
        order_services.order_lines_allocated = real_follow_up
    served = results.lines_served if results else 0
    return elapsed, served, len(ctx.captured_queries) + sum(follow_up_queries)


def _plain_update(lines: int) -> float:
    from django.db import connection, transaction

    from orders.models import OrderLine

    ids = list(OrderLine.objects.order_by("-pk").values_list("pk", flat=True)[:lines])
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:  # commit included, as in the pass
        cursor.execute(
            f"UPDATE {OrderLine._meta.db_table} SET expected_date = NULL WHERE id >= %s AND id <= %s",
            [min(ids), max(ids)],
        )
    return time.perf_counter() - t0


def run(args) -> list[Figure]:
    lines = 1_000 if args.quick else LINES
    repeats = 1 if args.quick else REPEATS
    figures = []
    references = []
    for variants in (1, 100):
        name = f"{lines:,} lines, {variants} variant{'s' if variants > 1 else ''}"
        passes = []  # (rate, served, queries)
        for n in range(repeats):
            elapsed, served, queries = _pass(lines=lines, variants=variants, quick=args.quick)
            passes.append((served / elapsed, served, queries))
            if variants == 1:
                references.append(lines / _plain_update(lines))
            print(
                f"   {name}, pass {n + 1}: {served} lines in {elapsed:.3f} s, {queries} queries", flush=True
            )
        if variants == 1:
            reference = statistics.median(references)
            figures.append(Figure("allocation", "plain UPDATE of order lines", round(reference), "rows/s"))
        rates = sorted(rate for rate, _, _ in passes)
        rate = statistics.median(rates)
        figures.append(
            Figure.check(
                "allocation",
                f"{name}: lines allocated",
                min(s for _, s, _ in passes),
                "lines",
                at_least=lines,
            )
        )
        figures.append(Figure.check("allocation", f"{name}: rate", round(rate), "lines/s", at_least=20_000))
        if repeats > 1:
            figures.append(Figure("allocation", f"{name}: rate, slowest pass", round(rates[0]), "lines/s"))
            figures.append(Figure("allocation", f"{name}: rate, fastest pass", round(rates[-1]), "lines/s"))
        figures.append(
            Figure.check(
                "allocation",
                f"{name}: within 10x of plain UPDATE",
                round(reference / rate, 1),
                "x slower",
                at_most=10,
            )
        )
        figures.append(Figure("allocation", f"{name}: queries", max(q for _, _, q in passes), "queries"))
    return figures
