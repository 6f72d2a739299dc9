"""Webhook delivery: 10,000 events to a local HTTP receiver, each delivered exactly once.

The events are written as the shop writes them, by `webhook_events_record` inside transactions
(an allocation batch's `backorder.allocated` events: 5 lines per order, so the events of 2,000
orders must each arrive in order), and each commit's time is noted. A real Celery worker (threads,
WORKER_CONCURRENCY tasks at once, on the benchmark's own queue) runs the delivery task each commit
asks for, signed per Standard Webhooks, to a receiver in another process: a `ThreadingHTTPServer`
on a free loopback port that verifies each signature and notes each request's `webhook-id` and
arrival time. Two runs through the same worker and receiver:

- the burst: 10,000 events, 100 a transaction, as fast as the database takes them: events
  delivered per second (first commit to last arrival), and the lag, which here is the queue;
- the steady flow: 500 events at 20 a second, 2 a transaction: the lag from a transaction's
  commit to its events' arrival when the worker keeps up (median, p95).

Both: how many arrived once, twice or never (counted by `webhook-id`), signatures that failed,
events of an order that arrived out of order. Run on PostgreSQL and Redis (the delivery lock is
SKIP LOCKED there); the events and the endpoint are deleted afterwards.

`python -m bench.bench_webhooks receive PORT SECRET LOG` is the receiver (started by the
benchmark).
"""

import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.core import Figure

NAME = "webhooks"
EVENTS = 10_000
QUICK_EVENTS = 1_000
PER_TRANSACTION = 100
# The steady run: STEADY_EVENTS events at STEADY_RATE a second, STEADY_PER_TRANSACTION per commit.
STEADY_EVENTS = 500
STEADY_RATE = 20
STEADY_PER_TRANSACTION = 2
# Targets: a burst drained at 100 events a second at least (one endpoint, the shop's default worker),
# and a steady flow's events at the receiver within 2 seconds of their commit (p95).
TARGET_RATE = 100
TARGET_STEADY_P95 = 2.0
LINES_PER_ORDER = 5
ROOT = Path(__file__).resolve().parent.parent
# The worker's concurrent tasks (the shop's default: WORKER_CONCURRENCY, 2 threads).
THREADS = int(os.environ.get("BENCH_WEBHOOKS_THREADS") or os.environ.get("WORKER_CONCURRENCY") or 2)


# --- the receiver, in its own process ----------------------------------------------------------------


def receive(port: int, secret: str, log_path: str) -> None:
    """Answer 204 to every POST; append "webhook-id<TAB>arrival time<TAB>verified<TAB>order<TAB>seq" per request."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from standardwebhooks import Webhook, WebhookVerificationError

    verifier = Webhook(secret)
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - open for the server's life
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a production receiver behind a proxy

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            arrived = time.time()
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                event = verifier.verify(body, headers)
                verified = 1
            except WebhookVerificationError:
                event, verified = json.loads(body), 0
            data = event.get("data", {})
            with lock:
                log.write(
                    f"{headers.get('webhook-id', '')}\t{arrived:.6f}\t{verified}\t"
                    f"{data.get('order', {}).get('id', '')}\t{data.get('bench_seq', '')}\n"
                )
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("listening", flush=True)
    server.serve_forever()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_receiver(port: int, secret: str, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_webhooks", "receive", str(port), secret, str(log)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if proc.stdout.readline().strip() != "listening":
        proc.kill()
        raise RuntimeError(f"the receiver did not start: {proc.stdout.read()}")
    return proc


def _start_worker(queue: str, logs: Path) -> subprocess.Popen:
    from bench.bench_fanout import _database_url

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        # The next runs a delivery run publishes stay on the benchmark's queue.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        # INFO: the worker's "ready." line is how the benchmark knows it listens.
        "LOG_LEVEL": "INFO",
    }
    log = logs / "worker.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "-n",
            f"bench-webhooks-{queue}@%h",
            "--pool",
            "threads",
            "--concurrency",
            str(THREADS),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"celery worker did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


# --- the benchmark ---------------------------------------------------------------------------------


def _write_events(count: int, tag: str, *, per_transaction: int, every: float = 0.0) -> dict[int, float]:
    """Write `count` backorder.allocated events, `per_transaction` per transaction, a transaction every
    `every` seconds (0: as fast as the database takes them); {transaction: commit time}."""
    from django.db import transaction

    from webhooks.services.events import Event, webhook_events_record

    orders = max(count // LINES_PER_ORDER, 1)
    committed: dict[int, float] = {}
    started = time.monotonic()
    for batch, first in enumerate(range(0, count, per_transaction)):
        if every:
            time.sleep(max(0.0, started + batch * every - time.monotonic()))
        with transaction.atomic():
            webhook_events_record(
                events=[
                    Event(
                        "backorder.allocated",
                        "order",
                        f"{tag}-{seq % orders}",
                        {
                            "order": {"id": f"{tag}-{seq % orders}", "number": f"B{seq % orders:06d}"},
                            "line": {"line_id": seq, "variant_id": 1, "sku": "BENCH", "quantity": 1},
                            "units": 1,
                            "line_units_allocated": 1,
                            "line_units_waiting": 0,
                            "bench_seq": seq,
                            "bench_batch": batch,
                        },
                    )
                    for seq in range(first, min(first + per_transaction, count))
                ]
            )
        committed[batch] = time.time()
    return committed


def _read_log(log: Path) -> list[tuple[str, float, bool, str, int]]:
    rows = []
    for line in log.read_text().splitlines():
        webhook_id, arrived, verified, order, seq = line.split("\t")
        rows.append((webhook_id, float(arrived), verified == "1", order, int(seq) if seq else -1))
    return rows


def _wait(log: Path, count: int, timeout: float) -> None:
    """Until `count` requests arrived (then 2 s more, for a duplicate in flight), or nothing came for 30 s."""
    deadline = time.monotonic() + timeout
    last, still = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = sum(1 for _ in log.open()) if log.exists() else 0
        if n >= count:
            time.sleep(2.0)
            return
        if n != last:
            last, still = n, time.monotonic()
        elif time.monotonic() - still > 30:
            return
        time.sleep(0.2)


def _outcome(tag: str, rows: list, committed: dict[int, float]) -> dict:
    """What arrived of the events of `tag`: once, twice, never, unverified, out of order, lags."""
    from webhooks.models import WebhookEvent

    ids = dict(WebhookEvent.objects.filter(resource_id__startswith=f"{tag}-").values_list("event_id", "data"))
    rows = [row for row in rows if row[0] in ids or row[3].startswith(f"{tag}-")]
    first: dict[str, float] = {}
    arrivals: dict[str, int] = {}
    for webhook_id, arrived, _, _, _ in rows:
        arrivals[webhook_id] = arrivals.get(webhook_id, 0) + 1
        first[webhook_id] = min(arrived, first.get(webhook_id, arrived))
    by_order: dict[str, list[tuple[float, int]]] = {}
    for webhook_id, arrived, _, order, seq in rows:
        if first.get(webhook_id) == arrived:
            by_order.setdefault(order, []).append((arrived, seq))
    out_of_order = 0
    for arrived_of in by_order.values():
        seqs = [seq for _, seq in sorted(arrived_of)]
        out_of_order += sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if b < a)
    lags = [first[w] - committed[data["bench_batch"]] for w, data in ids.items() if w in first]
    return {
        "events": len(ids),
        "once": sum(1 for w in ids if arrivals.get(w) == 1),
        "twice": sum(1 for w in ids if arrivals.get(w, 0) > 1),
        "missing": sum(1 for w in ids if w not in arrivals),
        "unknown": sum(n for w, n in arrivals.items() if w not in ids),
        "unverified": sum(1 for row in rows if not row[2]),
        "out_of_order": out_of_order,
        "span": (max(first.values()) - min(committed.values())) if first else float("inf"),
        "arrived": len(first),
        "lags": lags,
    }


def _cleanup(endpoint_id: int, tags: list[str]) -> None:
    from webhooks.models import WebhookEndpoint, WebhookEvent

    for tag in tags:
        WebhookEvent.objects.filter(resource_type="order", resource_id__startswith=f"{tag}-").delete()
    WebhookEndpoint.objects.filter(pk=endpoint_id).delete()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("inf")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(args) -> list[Figure]:
    from django.db import connection

    from config.celery import app
    from webhooks.models import WebhookEndpoint

    count = QUICK_EVENTS if args.quick else EVENTS
    steady_count = STEADY_EVENTS // (5 if args.quick else 1)
    tag = f"bw{uuid.uuid4().hex[:8]}"
    burst, steady = f"{tag}b", f"{tag}s"
    queue = f"bench-webhooks-{tag}"
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    print(
        f"   {count:,} events in a burst, {PER_TRANSACTION} per transaction, then {steady_count} at "
        f"{STEADY_RATE} events/s; worker threads {THREADS}, {connection.vendor}; load {os.getloadavg()[0]:.1f}"
    )
    previous_queue, previous_eager = app.conf.task_default_queue, app.conf.task_always_eager
    app.conf.task_default_queue, app.conf.task_always_eager = queue, False
    port = _free_port()
    endpoint = WebhookEndpoint.objects.create(
        url=f"http://127.0.0.1:{port}/hooks",
        description=f"bench {tag}",
        secret=secret,
        event_types=["backorder.allocated"],
    )
    receiver = worker = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "received.tsv"
            receiver = _start_receiver(port, secret, log)
            worker = _start_worker(queue, Path(tmp))
            # The burst: every event at once, as an allocation pass writes them
            started = time.time()
            burst_committed = _write_events(count, burst, per_transaction=PER_TRANSACTION)
            written_in = time.time() - started
            print(
                f"   burst written and committed in {written_in:.1f} s ({count / written_in:,.0f} events/s)"
            )
            _wait(log, count, timeout=max(300.0, count / 5))
            # Then a steady flow the worker keeps up with: the lag a receiver sees day to day
            steady_committed = _write_events(
                steady_count,
                steady,
                per_transaction=STEADY_PER_TRANSACTION,
                every=STEADY_PER_TRANSACTION / STEADY_RATE,
            )
            _wait(log, count + steady_count, timeout=120.0)
            rows = _read_log(log)
        b = _outcome(burst, rows, burst_committed)
        s = _outcome(steady, rows, steady_committed)
    finally:
        for proc in (worker, receiver):
            if proc is not None:
                _stop(proc)
        app.conf.task_default_queue, app.conf.task_always_eager = previous_queue, previous_eager
        # Even after a failure: a benchmark endpoint left active would receive every later event
        _cleanup(endpoint.pk, [burst, steady])
    rate = b["arrived"] / b["span"] if b["arrived"] else 0.0
    for name, o in (("burst", b), ("steady", s)):
        print(
            f"   {name}: {o['arrived']:,} of {o['events']:,} arrived in {o['span']:.1f} s; lag median "
            f"{statistics.median(o['lags']) if o['lags'] else float('inf'):.2f} s, p95 {_percentile(o['lags'], 0.95):.2f} s; "
            f"{o['twice']} twice, {o['missing']} missing, {o['unverified']} unverified, {o['out_of_order']} out of order"
        )
    return [
        Figure.check(NAME, "burst: events delivered exactly once", b["once"], "events", at_least=count),
        Figure.check(
            NAME, "events delivered twice or more (both runs)", b["twice"] + s["twice"], "events", at_most=0
        ),
        Figure.check(
            NAME,
            "events never delivered (both runs)",
            b["missing"] + b["unknown"] + s["missing"] + s["unknown"],
            "events",
            at_most=0,
        ),
        Figure.check(
            NAME, "signatures that failed to verify", b["unverified"] + s["unverified"], "requests", at_most=0
        ),
        Figure.check(
            NAME,
            "events out of order within their order",
            b["out_of_order"] + s["out_of_order"],
            "events",
            at_most=0,
        ),
        Figure(NAME, "burst: events written and committed", round(count / written_in), "events/s"),
        Figure.check(NAME, "burst: delivered", round(rate), "events/s", at_least=TARGET_RATE),
        Figure(NAME, "burst: lag commit to delivery, p95", round(_percentile(b["lags"], 0.95), 2), "s"),
        Figure.check(
            NAME, "steady: events delivered exactly once", s["once"], "events", at_least=steady_count
        ),
        Figure(
            NAME,
            f"steady {STEADY_RATE}/s: lag commit to delivery, median",
            round(statistics.median(s["lags"]), 3) if s["lags"] else float("inf"),
            "s",
        ),
        Figure.check(
            NAME,
            f"steady {STEADY_RATE}/s: lag commit to delivery, p95",
            round(_percentile(s["lags"], 0.95), 3),
            "s",
            at_most=TARGET_STEADY_P95,
        ),
    ]


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "receive":
    receive(int(sys.argv[2]), sys.argv[3], sys.argv[4])
