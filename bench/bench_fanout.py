"""Back-in-stock fan-out: 100,000 confirmed subscriptions of one variant notified in one wave.

Creates a variant with enough free units that ratio x units covers every
subscription, bulk-creates the subscriptions, then times one
`back_in_stock_process` pass (lock, pick, create the notification rows, close
the subscriptions, commit, publish). Two real `celery -A config worker`
processes (each with Celery's thread pool, two batches at a time: an email
spends most of its time waiting for the SMTP server and PostgreSQL;
BENCH_FANOUT_THREADS=1 for one batch at a time, the solo pool) (on Redis when REDIS_URL is set, else on the filesystem broker)
send the emails to a local aiosmtpd server running in a thread of this
process. Reports:

* seconds to create the notification rows (target <= 10 s),
* seconds the pass spent publishing after commit, and how many broker messages
  it published (one `dispatch_notifications` since the dispatcher; before it,
  one `send_notifications` per batch of 100: 1,000 messages, ~1 s),
* emails per second at the SMTP server, first to last email (target >= 500);
  the worker processes, PostgreSQL and the SMTP server share the machine's
  cores, so this is bounded by their CPU per email together,
* CPU seconds per email of the two workers (user + system, from /proc, over
  the whole send: Celery, the dispatch task, rendering, SMTP, marking rows)
  and of the SMTP server's thread: what each side costs, which wall-clock
  figures on a busy machine do not show. A real MTA would run elsewhere; this
  one is a Python server (aiosmtpd) and costs about as much per email as the
  shop's worker does,
* peak RSS of this process and of each worker (target < 250 MB each),
* that every recipient got exactly one email with List-Unsubscribe headers.

It uses the database of DATABASE_URL as given, creates its own rows (tagged
with a random id) and deletes them at the end. `--quick`: 5,000 subscriptions.
"""

import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from bench.core import Figure

NAME = "fanout"
SUBSCRIPTIONS = 100_000
QUICK_SUBSCRIPTIONS = 5_000
WORKERS = 2
# Each worker process sends this many batches at once (Celery's thread pool): an email's time is
# mostly waiting for the SMTP server's reply and PostgreSQL, and threads overlap those waits.
# BENCH_FANOUT_THREADS=1 runs the workers with the solo pool instead (one batch at a time).
THREADS = int(os.environ.get("BENCH_FANOUT_THREADS", "2"))
ROOT = Path(__file__).resolve().parent.parent


class SmtpSink:
    """A real SMTP server (aiosmtpd) that only counts: recipients, and messages with RFC 8058 headers."""

    def __init__(self):
        import logging
        import socket

        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # it logs every SMTP command

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.recipients: Counter[str] = Counter()
        self.received = 0  # kept as a count: polling must not sum 100,000 counters five times a second
        self.with_unsubscribe = 0
        self.first_at = self.last_at = None
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        headers = envelope.content.split(b"\r\n\r\n", 1)[0]
        now = time.monotonic()
        with self.lock:
            self.recipients.update(envelope.rcpt_tos)
            self.received += len(envelope.rcpt_tos)
            if (
                b"\nList-Unsubscribe:" in headers
                and b"\nList-Unsubscribe-Post: List-Unsubscribe=One-Click" in headers
            ):
                self.with_unsubscribe += 1
            self.first_at = self.first_at or now
            self.last_at = now
        return "250 OK"

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) of the server's thread so far."""
        thread = self.controller._thread
        return _cpu_seconds(f"/proc/self/task/{thread.native_id}/stat") if thread else None

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.received >= count:
                return True
            time.sleep(0.2)
        return False


class _PublishTimer:
    """Times the pass's publishing (on commit) of send tasks, to report it apart from creating the rows."""

    def __enter__(self):
        from notifications.tasks import dispatch_notifications, send_notifications

        self.originals = {task: task.delay for task in (dispatch_notifications, send_notifications)}
        self.seconds, self.messages = 0.0, 0

        def timed(original):
            def timed_delay(*args, **kwargs):
                start = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    self.seconds += time.perf_counter() - start
                    self.messages += 1

            return timed_delay

        for task, original in self.originals.items():
            task.delay = timed(original)
        return self

    def __exit__(self, *exc):
        for task, original in self.originals.items():
            task.delay = original


def _cpu_seconds(stat_path: str) -> float | None:
    """utime + stime of a process or thread from its /proc stat file (Linux), in seconds."""
    try:
        fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float | None:
    """The high-water mark of a process's resident memory (Linux /proc), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _start_workers(queue: str, smtp_port: int, logs: Path) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        # What the workers publish themselves (the dispatch task's send batches, retries) stays on
        # the benchmark's queue.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        # WARNING on Redis: a log line per task would cost the figure; the workers are pinged instead.
        "LOG_LEVEL": "WARNING" if os.environ.get("REDIS_URL") else "INFO",
    }
    procs = []
    for n in range(WORKERS):
        log = logs / f"worker-{n}.log"
        procs.append(
            subprocess.Popen(
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
                    f"bench-{n}-{queue}@%h",
                    # One process per worker either way, so its RSS is the worker's memory.
                    *(
                        ["--pool", "solo"]
                        if THREADS <= 1
                        else ["--pool", "threads", "--concurrency", str(THREADS)]
                    ),
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
        )
    deadline = time.monotonic() + 60
    if os.environ.get("REDIS_URL"):
        _wait_pinged(procs, queue=queue, logs=logs, deadline=deadline)
    else:  # the filesystem broker has no broadcast: the workers log at INFO (env above) and say " ready."
        for n, proc in enumerate(procs):
            log = logs / f"worker-{n}.log"
            while " ready." not in log.read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"celery worker {n} did not start:\n{log.read_text()}")
                time.sleep(0.2)
    return procs


def _wait_pinged(procs: list[subprocess.Popen], *, queue: str, logs: Path, deadline: float) -> None:
    """Return once each worker answers a ping on the broker. At LOG_LEVEL=WARNING the shop's logging
    config does not print celery's " ready." line (INFO)."""
    from config.celery import app

    host = socket.gethostname()
    waiting = {f"bench-{n}-{queue}@{host}": (n, proc) for n, proc in enumerate(procs)}
    while waiting:
        for reply in app.control.ping(destination=list(waiting), timeout=0.5):
            waiting.pop(next(iter(reply)), None)
        for n, proc in waiting.values():
            if proc.poll() is not None or time.monotonic() > deadline:
                log = logs / f"worker-{n}.log"
                raise RuntimeError(f"celery worker {n} did not start:\n{log.read_text()}")


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _setup(*, tag: str, count: int, units: int):
    """A variant with `units` free and `count` confirmed subscriptions, oldest first."""
    from django.db import transaction
    from django.utils import timezone

    from inventory.models import Warehouse
    from inventory.services import stock_adjust
    from inventory.tasks import stock_arrived
    from notifications.models import BackInStockSubscription, SubscriptionStatus
    from shop.models import Category, Product, Variant

    category = Category.objects.create(name=f"Bench {tag}", slug=f"bench-fanout-{tag}")
    product = Product.objects.create(
        name=f"Bench kettle {tag}", slug=f"bench-fanout-{tag}", category=category
    )
    variant = Variant.objects.create(product=product, sku=f"BENCH-FANOUT-{tag}", price=Decimal("34.50"))
    warehouse = Warehouse.objects.create(name=f"Bench {tag}", code=f"bf{tag}")
    original = stock_arrived.delay_on_commit
    stock_arrived.delay_on_commit = lambda **kw: None  # the wave below is started and timed by hand
    try:
        stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=units)
    finally:
        stock_arrived.delay_on_commit = original
    start = timezone.now() - timedelta(days=30)
    with transaction.atomic():
        for first in range(0, count, 5000):  # in chunks, so setting up does not inflate peak memory
            BackInStockSubscription.objects.bulk_create(
                [
                    BackInStockSubscription(
                        variant=variant,
                        email=f"fan{n}@{tag}.bench.invalid",
                        status=SubscriptionStatus.ACTIVE,
                        confirmed_at=start + timedelta(milliseconds=n),
                    )
                    for n in range(first, min(first + 5000, count))
                ]
            )
    return variant, warehouse


def _cleanup(*, tag: str, variant, warehouse) -> None:
    from django.db import connection, transaction

    from inventory.models import StockItem, StockMovement
    from notifications.models import BackInStockSubscription, Notification

    with transaction.atomic(), connection.cursor() as cursor:
        # Plain DELETEs of the benchmark's own rows: the ORM would load 100,000 rows to cascade.
        cursor.execute(
            f"DELETE FROM {Notification._meta.db_table} WHERE recipient LIKE %s", [f"%@{tag}.bench.invalid"]
        )
        cursor.execute(
            f"DELETE FROM {BackInStockSubscription._meta.db_table} WHERE variant_id = %s", [variant.pk]
        )
        items = list(StockItem.objects.filter(variant=variant).values_list("pk", flat=True))
        # The ledger refuses deletes on purpose; these are the benchmark's own rows only.
        cursor.execute(f"DELETE FROM {StockMovement._meta.db_table} WHERE variant_id = %s", [variant.pk])
        StockItem.objects.filter(pk__in=items).delete()
        product, category = variant.product, variant.product.category
        variant.delete()  # wave state, low-stock state and allocation requests cascade
        product.delete()
        category.delete()
        warehouse.delete()


def run(args) -> list[Figure]:
    from django.conf import settings
    from django.db import connection

    from config.celery import app
    from notifications.models import Notification
    from notifications.services import back_in_stock_process

    count = QUICK_SUBSCRIPTIONS if args.quick else SUBSCRIPTIONS
    ratio = settings.BACK_IN_STOCK_NOTIFY_RATIO
    units = -(-count // ratio)  # ratio x units >= count: one wave notifies everyone
    tag = uuid.uuid4().hex[:8]
    broker = "Redis" if settings.REDIS_URL else "filesystem broker"
    print(f"   {count:,} subscriptions, {units:,} free units, ratio {ratio}, {connection.vendor}, {broker}")

    t = time.perf_counter()
    variant, warehouse = _setup(tag=tag, count=count, units=units)
    print(f"   set up in {time.perf_counter() - t:.1f} s")
    sink = SmtpSink()
    sink.controller.start()
    queue = f"bench-fanout-{tag}"
    previous_queue, previous_eager = app.conf.task_default_queue, app.conf.task_always_eager
    app.conf.task_default_queue, app.conf.task_always_eager = queue, False
    workers: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory() as logs:
            workers = _start_workers(queue, sink.port, Path(logs))

            workers_cpu_before = [_cpu_seconds(f"/proc/{proc.pid}/stat") for proc in workers]
            sink_cpu_before = sink.cpu_seconds()
            publish = _PublishTimer()
            t = time.perf_counter()
            with publish:
                notified = back_in_stock_process(variant_ids=[variant.pk]).get(variant.pk, 0)
            pass_seconds = time.perf_counter() - t
            create_seconds = pass_seconds - publish.seconds
            print(
                f"   wave pass {pass_seconds:.1f} s: {notified:,} rows created and committed in "
                f"{create_seconds:.1f} s, {publish.messages:,} broker messages published in {publish.seconds:.2f} s"
            )

            all_arrived = sink.wait_for(count, timeout=max(120.0, count / 50))
            time.sleep(3)  # a duplicate would arrive in this time
            send_seconds = (sink.last_at - sink.first_at) if sink.first_at else float("inf")
            worker_peaks = [_peak_rss_mb(proc.pid) for proc in workers]
            workers_cpu = sum(
                (_cpu_seconds(f"/proc/{proc.pid}/stat") or 0.0) - (before or 0.0)
                for proc, before in zip(workers, workers_cpu_before, strict=True)
            )
            sink_cpu = (sink.cpu_seconds() or 0.0) - (sink_cpu_before or 0.0)
            print(
                f"   CPU: workers {workers_cpu:.1f} s ({workers_cpu / count * 1000:.2f} ms/email), "
                f"SMTP server {sink_cpu:.1f} s ({sink_cpu / count * 1000:.2f} ms/email)"
            )
            if not all_arrived:
                print(f"   only {sink.received:,} of {count:,} emails arrived; worker logs:")
                for log in sorted(Path(logs).glob("*.log")):
                    print(log.read_text()[-3000:])
            _stop(workers)
            workers = []
        expected = {f"fan{n}@{tag}.bench.invalid" for n in range(count)}
        once = sum(1 for email in expected if sink.recipients.get(email) == 1)
        duplicates = sum(n - 1 for n in sink.recipients.values() if n > 1)
        sent_rows = Notification.objects.filter(
            recipient__endswith=f"@{tag}.bench.invalid", status="sent"
        ).count()
        own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux; before cleanup
    finally:
        _stop(workers)
        sink.controller.stop()
        app.conf.task_default_queue, app.conf.task_always_eager = previous_queue, previous_eager
        _cleanup(tag=tag, variant=variant, warehouse=warehouse)

    figures = [
        Figure.check(NAME, "subscriptions notified in one wave", notified, "subscriptions", at_least=count),
        Figure.check(NAME, "create notification rows (one pass)", round(create_seconds, 2), "s", at_most=10),
        Figure(NAME, "publish after commit (in the pass)", round(publish.seconds, 2), "s"),
        Figure(NAME, "broker messages published by the pass", publish.messages, "messages"),
        Figure.check(
            NAME,
            f"emails per second, {WORKERS} workers",
            round(count / send_seconds, 1),
            "emails/s",
            at_least=500,
        ),
        Figure(NAME, "worker CPU per email (both workers)", round(workers_cpu / count * 1000, 3), "ms"),
        Figure(NAME, "SMTP server (aiosmtpd) CPU per email", round(sink_cpu / count * 1000, 3), "ms"),
        Figure.check(NAME, "recipients with exactly one email", once, "recipients", at_least=count),
        Figure.check(NAME, "duplicate emails", duplicates, "emails", at_most=0),
        Figure.check(
            NAME, "emails with List-Unsubscribe headers", sink.with_unsubscribe, "emails", at_least=count
        ),
        Figure.check(NAME, "notification rows marked sent", sent_rows, "rows", at_least=count),
        Figure.check(NAME, "peak RSS, bench process", round(own_peak, 1), "MB", at_most=250),
    ]
    for n, peak in enumerate(worker_peaks):
        if peak is not None:
            figures.append(Figure.check(NAME, f"peak RSS, worker {n + 1}", round(peak, 1), "MB", at_most=250))
    return figures
