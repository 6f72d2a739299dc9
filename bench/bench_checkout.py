"""Checkout storm: 32 customers at once buy one hot SKU through the real HTTP stack, judged against the trivial view.

gunicorn serves the shop (DEBUG=0, static files collected, the database and Redis of this process)
and a real `celery -A config worker` sends the confirmation emails (to Django's dummy email backend)
from a private queue. 32 client threads, each with its own keep-alive connection, play new guest
customers one after another: product page -> add to cart -> checkout page (CSRF token and
idempotency key read from the HTML) -> place the order (test card, backorder terms accepted) -> the
order page. The parts are in bench/checkout/.

The run, in order:

1. The hot SKUs (one per storm, one for the in-process journey) are created and the database
   `ANALYZE`d: this machine's PostgreSQL runs without autovacuum, and a real server's would have
   gathered the planner statistics.
2. The trivial-view probe: the same 32 clients GET /healthz with no think time against the same
   gunicorn for a few seconds. Its requests/s is the floor the journey is judged against.
3. The journey storm: the hot SKU has ON_HAND units and a backorder limit of LIMIT; the clients make
   ATTEMPTS purchase attempts of one unit each, more than ON_HAND + LIMIT, so the first orders are
   allocated, the next ones backordered and the rest refused (before checkout when sold out, or by the
   checkout POST when the last units went while the customer was on the checkout page). Targets:
   orders per second while stock lasted >= the trivial view's requests/s / 25 (a journey of five
   requests may cost 25 trivial ones), CPU per order of gunicorn and PostgreSQL together <= 45 ms,
   the place-order POST's p95 <= 400 ms; 0 5xx, 0 oversold, 0 ledger discrepancies, every order
   the clients saw in the database, every confirmation email sent.
4. The place-order storm (figures prefixed "place-order storm:"): in rounds, every client prepares
   a customer with a cart (not measured), then all of them press "Place order" at the same moment;
   measured from that moment to the last answer of the round. Only correctness targets.
5. In process (figures prefixed "in process:"): the same journey through Django's test client on
   PostgreSQL, DEBUG off, one new guest at a time, each step timed; the place-order POST's median
   <= 12 ms and its queries <= 12 (bench/checkout/inprocess.py).

Where the time went is printed too: CPU seconds per order of gunicorn, the worker, PostgreSQL and
the clients (from /proc, so other programs on the machine show up as such), and what the shop's
database sessions were doing (pg_stat_activity every 0.1 s).

Needs PostgreSQL (DATABASE_URL); on SQLite it refuses to run. Creates its own rows (tagged with a
random id) and leaves them in place: the ledger does not allow deleting movements, and other data
is never touched. gunicorn runs 3 gthread workers x 2 threads; change it for experiments with
BENCH_CHECKOUT_WORKERS, BENCH_CHECKOUT_THREADS, BENCH_CHECKOUT_WORKER_CLASS (sync or gthread),
BENCH_CHECKOUT_CLIENTS, BENCH_CHECKOUT_KEEPALIVE.
"""

import os
import tempfile
import uuid
from pathlib import Path

from bench import servers
from bench.checkout import (
    CLIENTS,
    GUNICORN_CLASS,
    GUNICORN_KEEPALIVE,
    GUNICORN_THREADS,
    GUNICORN_WORKERS,
    NAME,
    figures,
    inprocess,
)
from bench.checkout.client import Tally, ms, percentile, print_outcomes
from bench.checkout.meters import CpuMeter, SessionSampler
from bench.checkout.rows import database_checks, hot_sku, wait_for_emails
from bench.checkout.storm import place_storm, storm, trivial_probe
from bench.core import Figure

# (units on hand, backorder limit, purchase attempts, time bound in seconds, trivial probe seconds,
# guests timed in process)
FULL = (200, 100, 400, 180.0, 15.0, 150)
QUICK = (40, 20, 80, 60.0, 4.0, 20)


def _print_storm(*, tally: Tally, elapsed: float, cpu: dict, sessions: dict) -> None:
    orders = len(tally.orders)
    last_order_at = max((t for t, _ in tally.orders), default=elapsed)
    print(
        f"   {tally.started:,} customers in {elapsed:.1f} s: {orders:,} orders (the last at "
        f"{last_order_at:.1f} s), {tally.refused_before_checkout:,} refused before checkout (sold out), "
        f"{sum(tally.refused_at_checkout.values()):,} at checkout, {sum(tally.server_errors.values())} 5xx",
        flush=True,
    )
    print_outcomes(tally)
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
            f"     {name:14} n={len(values):5,}  p50 {ms(percentile(values, 50)):7.1f} ms  "
            f"p95 {ms(percentile(values, 95)):7.1f} ms  max {ms(max(values)):7.1f} ms"
        )


def _print_inprocess(steps: dict) -> None:
    print("   in process (Django's test client, one guest at a time):")
    for step, figures_of_step in steps.items():
        print(
            f"     {step:14} median {figures_of_step.median_ms:7.2f} ms  "
            f"queries {min(figures_of_step.queries)}-{max(figures_of_step.queries)}"
        )


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

    on_hand, limit, attempts, bound, probe_seconds, guests = QUICK if args.quick else FULL
    load_average = os.getloadavg()[0]
    tag = uuid.uuid4().hex[:8]
    domain, domain2, domain3 = f"{tag}.bench.invalid", f"{tag}p.bench.invalid", f"{tag}i.bench.invalid"
    queue = f"bench-checkout-{tag}"
    broker = "Redis" if settings.REDIS_URL else "filesystem broker"
    print(
        f"   {CLIENTS} clients, {attempts:,} purchase attempts (bound {bound:.0f} s); hot SKU: {on_hand} on hand, "
        f"backorder limit {limit}; gunicorn --workers {GUNICORN_WORKERS} --worker-class {GUNICORN_CLASS} "
        f"--threads {GUNICORN_THREADS}; CONN_MAX_AGE {connection.settings_dict.get('CONN_MAX_AGE')}; worker "
        f"on {broker}; {os.cpu_count()} CPUs, load average {load_average:.2f}; tag {tag}",
        flush=True,
    )
    ledger_before = {d.stock_item_id for d in ledger_discrepancies()}
    product, variant, item = hot_sku(tag=tag, on_hand=on_hand, limit=limit)
    # The place-order storm buys its own hot SKU, with the same stock and limit; the in-process
    # journey one with stock for every guest.
    product2, variant2, item2 = hot_sku(tag=f"{tag}p", on_hand=on_hand, limit=limit)
    product3, variant3, _ = hot_sku(tag=f"{tag}i", on_hand=inprocess.total_orders(guests) + 10, limit=0)
    print(f"   ANALYZE in {servers.analyze():.1f} s", flush=True)
    tally, tally2 = Tally(attempts=attempts, bound=bound), Tally(attempts=attempts, bound=bound)
    env = servers.server_env(queue)
    servers.collectstatic(env)

    web = worker = None
    sampler = SessionSampler(application_name=queue)
    timeout = 60 if args.quick else 120
    with tempfile.TemporaryDirectory() as logs:
        web_log, worker_log = Path(logs) / "gunicorn.log", Path(logs) / "worker.log"
        try:
            worker = servers.start_worker(env, queue, worker_log)
            port = servers.free_port()
            web_env = {
                **env,
                "DATABASE_URL": servers.with_application_name(os.environ["DATABASE_URL"], queue),
            }
            web = servers.start_gunicorn(
                web_env,
                port,
                web_log,
                workers=GUNICORN_WORKERS,
                threads=GUNICORN_THREADS,
                worker_class=GUNICORN_CLASS,
                keepalive=GUNICORN_KEEPALIVE,
            )

            def meter() -> CpuMeter:
                return CpuMeter(web=web, worker=worker)

            print(f"   gunicorn on 127.0.0.1:{port}, worker ready; the trivial-view probe", flush=True)
            probe = trivial_probe(port=port, seconds=probe_seconds, meter_factory=meter)
            print(
                f"   trivial view: {probe.per_second:.1f} requests/s with {CLIENTS} clients, p95 "
                f"{ms(percentile(probe.latencies, 95)):.1f} ms, {sum(probe.failures.values())} failed; storm starts",
                flush=True,
            )
            storm_meter = meter()
            storm_meter.start()
            sampler.start()
            elapsed = storm(
                port=port,
                tally=tally,
                product_path=product.get_absolute_url(),
                variant_id=variant.pk,
                domain=domain,
            )
            cpu = storm_meter.stop()
            sessions = sampler.stop()
            print(
                "   place-order storm: customers prepare their carts, then press Place order together",
                flush=True,
            )
            window2, rounds2, cpu2 = place_storm(
                port=port,
                tally=tally2,
                meter_factory=meter,
                product_path=product2.get_absolute_url(),
                variant_id=variant2.pk,
                domain=domain2,
            )
            servers.stop(web)
            web = None
            if tally.server_errors or tally2.server_errors:
                print("   server errors; the end of the gunicorn log:")
                print(web_log.read_text()[-4000:])
            sent, waited = wait_for_emails(domain, len(tally.orders), timeout=timeout)
            print(
                f"   {sent:,} of {len(tally.orders):,} confirmation emails sent {waited:.1f} s after the storm"
            )
            sent2, _ = wait_for_emails(domain2, len(tally2.orders), timeout=timeout)
            print(f"   place-order storm: {sent2:,} of {len(tally2.orders):,} confirmation emails sent")
            print(f"   in process: {guests} guests through Django's test client", flush=True)
            steps = inprocess.measure(
                product_path=product3.get_absolute_url(),
                variant_id=variant3.pk,
                domain=domain3,
                guests=guests,
                queue=queue,
            )
            sent3, _ = wait_for_emails(domain3, inprocess.total_orders(guests), timeout=timeout)
            if (
                sent < len(tally.orders)
                or sent2 < len(tally2.orders)
                or sent3 < inprocess.total_orders(guests)
            ):
                print(worker_log.read_text()[-3000:])
        finally:
            sampler.stop_event.set()
            servers.stop(web)
            servers.stop(worker)
            try:
                servers.forget_queue(queue)
            except Exception as exc:  # noqa: BLE001 - tidying only
                print(f"   could not drop the queue {queue}: {exc}")

    _print_storm(tally=tally, elapsed=elapsed, cpu=cpu, sessions=sessions)
    db = database_checks(item=item, variant=variant, on_hand=on_hand, limit=limit, tally=tally, domain=domain)
    db2 = database_checks(
        item=item2, variant=variant2, on_hand=on_hand, limit=limit, tally=tally2, domain=domain2
    )
    ledger_after = ledger_discrepancies()
    for d in ledger_after:
        if d.stock_item_id not in ledger_before:
            print(f"     ledger: {d}")
    print(f"   ledger discrepancies: {len(ledger_after)} ({len(ledger_before)} before the run)", flush=True)
    _print_inprocess(steps)
    return [
        *figures.setup_figures(load_average=load_average),
        *figures.probe_figures(probe, cores=os.cpu_count() or 1),
        *figures.journey_figures(
            tally=tally,
            elapsed=elapsed,
            cpu=cpu,
            sessions=sessions,
            trivial_rps=probe.per_second,
            cores=os.cpu_count() or 1,
        ),
        *figures.storm_correctness(tally=tally, db=db, sent=sent, on_hand=on_hand, limit=limit),
        figures.ledger_figure(len(ledger_after)),
        *figures.inprocess_figures(steps, sent=sent3, orders=inprocess.total_orders(guests)),
        *figures.place_storm_figures(
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
