"""What the checkout benchmark reports, with the issue's targets (issue 22).

The throughput target is a ratio to the trivial view measured in the same run on the same gunicorn
with the same 32 clients: whole-journey orders per second >= trivial-view requests per second / 25,
i.e. a journey may cost at most 25 trivial requests. Beside it: CPU per order of gunicorn and
PostgreSQL together <= 45 ms, the place-order POST's p95 in the storm <= 400 ms, and the correctness
checks (no 5xx, nothing oversold, no ledger discrepancy, every confirmation email sent). In process:
the place-order POST in <= 12 queries and <= 12 ms median.
"""

from bench.checkout import CLIENTS, GUNICORN_CLASS, GUNICORN_THREADS, GUNICORN_WORKERS, NAME
from bench.checkout.client import Tally, ms, percentile, print_outcomes
from bench.checkout.inprocess import STEPS, WHOLE, StepFigures
from bench.checkout.storm import Probe
from bench.core import Figure

TRIVIAL_REQUESTS_PER_ORDER = 25
CPU_PER_ORDER_MS = 45
POST_P95_MS = 400
INPROCESS_POST_QUERIES = 12
INPROCESS_POST_MS = 12

PG = "PostgreSQL (all backends)"


def _failed(tally: Tally) -> int:
    return (
        sum(tally.unexpected.values())
        + sum(tally.connection_errors.values())
        + sum(tally.other_rerenders.values())
    )


def _correctness(prefix: str, *, tally: Tally, db: dict[str, int], sent: int, on_hand: int, limit: int):
    """The checks every storm keeps: answers, stock, orders, emails."""
    orders = len(tally.orders)
    return [
        Figure.check(
            NAME, f"{prefix}5xx responses", sum(tally.server_errors.values()), "responses", at_most=0
        ),
        Figure.check(
            NAME,
            f"{prefix}other failed requests (4xx, connection errors, odd pages)",
            _failed(tally),
            "requests",
            at_most=0,
        ),
        Figure(
            NAME,
            f"{prefix}refused before checkout (sold out on the product page or at add to cart)",
            tally.refused_before_checkout,
            "customers",
        ),
        Figure(
            NAME,
            f"{prefix}refused at checkout (limit reached meanwhile)",
            sum(tally.refused_at_checkout.values()),
            "customers",
        ),
        Figure.check(NAME, f"{prefix}units allocated from stock", db["allocated"], "units", at_most=on_hand),
        Figure.check(NAME, f"{prefix}units backordered", db["backordered"], "units", at_most=limit),
        Figure.check(
            NAME, f"{prefix}oversold: allocated beyond on hand", db["over_allocated"], "units", at_most=0
        ),
        Figure.check(
            NAME,
            f"{prefix}oversold: backordered beyond the limit",
            db["over_backordered"],
            "units",
            at_most=0,
        ),
        Figure.check(
            NAME,
            f"{prefix}stock item's allocated differs from the order lines'",
            db["item_vs_lines"],
            "units",
            at_most=0,
        ),
        Figure.check(
            NAME,
            f"{prefix}units left unsold while customers were refused",
            db["unsold_while_refused"],
            "units",
            at_most=0,
        ),
        Figure.check(
            NAME,
            f"{prefix}orders seen by clients but not in the database, or the reverse",
            db["seen_vs_db"],
            "orders",
            at_most=0,
        ),
        Figure.check(
            NAME, f"{prefix}confirmation emails sent by the worker", sent, "emails", at_least=orders
        ),
    ]


def setup_figures(*, load_average: float) -> list[Figure]:
    return [
        Figure(NAME, "setup: load average (1 min) at the start", round(load_average, 2), "processes"),
        Figure(NAME, f"setup: gunicorn {GUNICORN_CLASS} workers", GUNICORN_WORKERS, "processes"),
        Figure(NAME, "setup: threads per gunicorn worker", GUNICORN_THREADS, "threads"),
        Figure(NAME, "setup: concurrent clients", CLIENTS, "clients"),
    ]


def probe_figures(probe: Probe, *, cores: int) -> list[Figure]:
    """The trivial view, the floor the journey is judged against, and what its Python clients cost
    (they share the machine with the server, as the storm's clients do)."""
    cpu = (probe.cpu.get("gunicorn", 0.0) + probe.cpu.get(PG, 0.0)) / max(probe.requests, 1) * 1000
    clients = probe.cpu.get("clients (this process)", 0.0) / max(probe.seconds * cores, 1e-9)
    return [
        Figure(
            NAME,
            f"trivial view (/healthz), {CLIENTS} clients: requests/s",
            round(probe.per_second, 1),
            "req/s",
        ),
        Figure(NAME, "trivial view latency p50", ms(percentile(probe.latencies, 50)), "ms"),
        Figure(NAME, "trivial view latency p95", ms(percentile(probe.latencies, 95)), "ms"),
        Figure(NAME, "trivial view CPU per request (gunicorn + PostgreSQL)", round(cpu, 2), "ms"),
        Figure(NAME, "trivial view probe: clients' CPU, share of the machine", round(100 * clients, 1), "%"),
        Figure.check(
            NAME, "trivial view probe: failed requests", sum(probe.failures.values()), "requests", at_most=0
        ),
    ]


def journey_figures(
    *,
    tally: Tally,
    elapsed: float,
    cpu: dict[str, float],
    sessions: dict[str, float],
    trivial_rps: float,
    cores: int,
) -> list[Figure]:
    """The journey storm's throughput, latency and CPU, with the ratio targets."""
    orders = len(tally.orders)
    last_order_at = max((t for t, _ in tally.orders), default=elapsed)
    orders_per_second = orders / last_order_at if last_order_at else 0.0
    posts = tally.latencies.get("place order", [])

    def lat(step: str, p: int) -> float:
        return ms(percentile(tally.latencies.get(step, []), p))

    def per_order(group: str) -> float:
        return round(cpu.get(group, 0.0) / max(orders, 1) * 1000, 1)

    floor = round(trivial_rps / TRIVIAL_REQUESTS_PER_ORDER, 1)
    return [
        Figure(NAME, "customers (purchase attempts)", tally.started, "customers"),
        Figure(NAME, "orders placed", orders, "orders"),
        Figure.check(
            NAME,
            f"orders per second while stock lasted (>= trivial view's req/s / {TRIVIAL_REQUESTS_PER_ORDER})",
            round(orders_per_second, 1),
            "orders/s",
            at_least=floor,
        ),
        Figure(
            NAME,
            "trivial-view requests per second / orders per second",
            round(trivial_rps / orders_per_second, 1) if orders_per_second else float("inf"),
            "ratio",
        ),
        Figure(
            NAME,
            "checkout POSTs answered per second, whole storm",
            round(len(posts) / elapsed, 1),
            "requests/s",
        ),
        Figure(NAME, "checkout POST latency p50", ms(percentile(posts, 50)), "ms"),
        Figure.check(NAME, "checkout POST latency p95", ms(percentile(posts, 95)), "ms", at_most=POST_P95_MS),
        Figure(
            NAME,
            "checkout POST latency p95, orders placed",
            ms(percentile(tally.order_post_latencies, 95)),
            "ms",
        ),
        Figure(NAME, "product page latency p95", lat("product page", 95), "ms"),
        Figure(NAME, "add to cart latency p95", lat("add to cart", 95), "ms"),
        Figure(NAME, "checkout page latency p95", lat("checkout page", 95), "ms"),
        Figure(NAME, "order page latency p95", lat("order page", 95), "ms"),
        Figure(
            NAME,
            "machine CPU busy during the storm",
            round(100 * cpu["machine, all processes"] / (elapsed * cores), 1),
            "%",
        ),
        Figure(
            NAME, "of which other programs", round(100 * cpu["other programs"] / (elapsed * cores), 1), "%"
        ),
        Figure.check(
            NAME,
            "CPU per order, gunicorn + PostgreSQL",
            round(per_order("gunicorn") + per_order(PG), 1),
            "ms",
            at_most=CPU_PER_ORDER_MS,
        ),
        Figure(NAME, "gunicorn CPU per order", per_order("gunicorn"), "ms"),
        Figure(NAME, "PostgreSQL CPU per order", per_order(PG), "ms"),
        Figure(
            NAME,
            f"client CPU per order ({CLIENTS} threads, this process)",
            per_order("clients (this process)"),
            "ms",
        ),
        Figure(
            NAME,
            "DB sessions waiting for a lock, average",
            round(sum(v for k, v in sessions.items() if k.startswith("waiting for a lock")), 2),
            "sessions",
        ),
    ]


def ledger_figure(count: int) -> Figure:
    return Figure.check(NAME, "ledger discrepancies (all stock items)", count, "stock items", at_most=0)


def storm_correctness(
    *, tally: Tally, db: dict[str, int], sent: int, on_hand: int, limit: int
) -> list[Figure]:
    return _correctness("", tally=tally, db=db, sent=sent, on_hand=on_hand, limit=limit)


def place_storm_figures(
    *,
    tally: Tally,
    window: float,
    rounds: int,
    cpu: dict[str, float],
    db: dict[str, int],
    sent: int,
    on_hand: int,
    limit: int,
) -> list[Figure]:
    """The second phase's figures, every name starting with "place-order storm:"; only the correctness
    checks carry targets (the issue's throughput and latency targets are on the journey storm)."""
    orders = len(tally.orders)
    posts = tally.latencies.get("place order", [])
    print(
        f"   place-order storm: {tally.started:,} customers, {rounds} rounds, {orders:,} orders in {window:.2f} s "
        f"measured, {tally.refused_before_checkout:,} refused before checkout, "
        f"{sum(tally.refused_at_checkout.values()):,} at checkout, {sum(tally.server_errors.values())} 5xx, "
        f"{_failed(tally)} other failures",
        flush=True,
    )
    print_outcomes(tally)
    for name in ("place order", "order page"):
        values = tally.latencies.get(name, [])
        if values:
            print(
                f"     {name:14} n={len(values):5,}  p50 {ms(percentile(values, 50)):7.1f} ms  "
                f"p95 {ms(percentile(values, 95)):7.1f} ms  max {ms(max(values)):7.1f} ms"
            )
    for name, seconds in cpu.items():
        per_order = f", {seconds / orders * 1000:6.1f} ms per order" if orders else ""
        print(f"     CPU in the measured windows: {name:28} {seconds:6.1f} s{per_order}")
    prefix = "place-order storm: "

    def per_order(group: str) -> float:
        return round(cpu.get(group, 0.0) / max(orders, 1) * 1000, 1)

    return [
        Figure(NAME, f"{prefix}rounds (all clients press Place order at once)", rounds, "rounds"),
        Figure(NAME, f"{prefix}customers (purchase attempts)", tally.started, "customers"),
        Figure(NAME, f"{prefix}orders placed", orders, "orders"),
        Figure(
            NAME,
            f"{prefix}orders per second in the measured windows",
            round(orders / max(window, 1e-9), 1),
            "orders/s",
        ),
        Figure(NAME, f"{prefix}checkout POST latency p50", ms(percentile(posts, 50)), "ms"),
        Figure(NAME, f"{prefix}checkout POST latency p95", ms(percentile(posts, 95)), "ms"),
        Figure(
            NAME,
            f"{prefix}order page latency p95",
            ms(percentile(tally.latencies.get("order page", []), 95)),
            "ms",
        ),
        Figure(NAME, f"{prefix}gunicorn CPU per order (POST + order page)", per_order("gunicorn"), "ms"),
        Figure(NAME, f"{prefix}PostgreSQL CPU per order", per_order(PG), "ms"),
        *_correctness(prefix, tally=tally, db=db, sent=sent, on_hand=on_hand, limit=limit),
    ]


def inprocess_figures(steps: dict[str, StepFigures], *, sent: int, orders: int) -> list[Figure]:
    """The journey through Django's test client: the POST with its targets, the other steps as figures."""
    prefix = "in process: "
    post = steps["place order"]
    figures = [
        Figure(NAME, f"{prefix}guests timed (each a new session)", len(post.seconds), "guests"),
        Figure.check(
            NAME, f"{prefix}place-order POST median", post.median_ms, "ms", at_most=INPROCESS_POST_MS
        ),
        Figure.check(
            NAME,
            f"{prefix}place-order POST queries (most of {len(post.queries)} guests)",
            max(post.queries),
            "queries",
            at_most=INPROCESS_POST_QUERIES,
        ),
    ]
    for step in (*STEPS, WHOLE):
        if step == "place order":
            continue
        figures += [
            Figure(NAME, f"{prefix}{step} median", steps[step].median_ms, "ms"),
            Figure(NAME, f"{prefix}{step} queries (most)", max(steps[step].queries), "queries"),
        ]
    figures.append(
        Figure.check(NAME, f"{prefix}confirmation emails sent by the worker", sent, "emails", at_least=orders)
    )
    return figures
