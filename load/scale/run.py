"""`make scale-test`: the locust scenario through nginx to two web nodes and two worker nodes; one of each dies.

    python -m load.scale [--duration 90] [--users 24] [--kill-at 47]

1. Creates a PostgreSQL database for the run (scale_<pid>, on SCALE_POSTGRES_URL's server), migrates
   it, empties the Redis database given to the run (SCALE_REDIS_URL), starts moto's S3 server as the
   object store, and an SMTP server (aiosmtpd, in this process) that records every message.
2. Starts two web nodes (gunicorn) and two worker nodes (Celery; beat runs on the first), each its
   own process group with its own var/ folder, and nginx in front (deploy/nginx_process.py, the
   deploy kit's site with both web nodes as upstreams, TLS with a self-signed certificate).
3. Runs load/locustfile.py's Shopper through nginx for --duration seconds; half way, stock arrives
   for the backordered items; at --kill-at seconds, SIGKILLs the second web node's and the second
   worker node's process groups. The run goes on with the survivors.
4. Waits for the surviving worker (and beat's sweeps) to drain: every outbox row sent, no
   allocation request pending, no line waiting beside free stock. Then checks the books: failures
   against nginx's log (which node held each failed request at the kill), oversold units, ledger
   drift, emails lost or duplicated (the outbox rows against the SMTP server's X-Notification-Id
   headers), the allocation backlog. Prints one table, writes bench/results/scale.json, exits 1
   when a target is missed. Drops the database and empties the Redis database at the end.
"""

import argparse
import json
import logging
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench.core import print_table, setup_django, write_json
from load.run import ROOT, _books, _locust, _print_endpoints, _receive_stock, _server_env, _setup
from load.scale import cluster
from load.scale.report import (
    NAME,
    cut_off_at_kill,
    email_books,
    exit_code,
    failure_books,
    figures,
    tasks_finished,
)

DURATION = int(os.environ.get("SCALE_DURATION", "90"))
USERS = int(os.environ.get("SCALE_USERS", "24"))
POSTGRES_URL = os.environ.get("SCALE_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SCALE_REDIS_URL", "redis://127.0.0.1:6379/13")
DRAIN_TIMEOUT = int(os.environ.get("SCALE_DRAIN_TIMEOUT", "180"))
# Rows a dead worker left in "sending" are sent again by beat's sweep after this long (default 600 s:
# longer than the run). A documented knob (README settings table), set on the worker nodes.
SENDING_TIMEOUT_SECONDS = "20"


T0 = time.monotonic()


def _say(what: str) -> None:
    print(f"   {time.monotonic() - T0:5.0f} s: {what}", flush=True)


def _drained(sink) -> tuple[bool, dict]:
    """Every outbox row sent and received, no allocation request, no unit waiting beside free stock."""
    from inventory.models import AllocationRequest
    from notifications.models import Notification, NotificationStatus

    rows = Notification.objects.exclude(status=NotificationStatus.CANCELLED)
    state = {
        "unsent": rows.exclude(status=NotificationStatus.SENT).count(),
        "rows": rows.count(),
        "received": len({m["X-Notification-Id"] for m in list(sink.messages)}),
        "requests": AllocationRequest.objects.count(),
    }
    done = state["unsent"] == 0 and state["received"] >= state["rows"] and state["requests"] == 0
    return done, state


def _drain(sink, catalog: dict, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        done, state = _drained(sink)
        if done and _books(catalog)["waiting_beside_free"] == 0:
            break
        time.sleep(1)
    waited = time.monotonic() - start
    time.sleep(3)  # a second send of a row would show in this time
    print(f"   drained after {waited:.0f} s: {_drained(sink)[1]}", flush=True)
    return waited


def _emails_unmarked(sink) -> set[int]:
    """Rows the SMTP server has received that are not marked sent (taken just after a kill: the dead
    worker's, besides any a live worker is marking this very moment)."""
    from django.db import connection

    from notifications.models import Notification, NotificationStatus

    received = {int(m["X-Notification-Id"]) for m in list(sink.messages)}
    try:
        sent = set(Notification.objects.filter(status=NotificationStatus.SENT).values_list("pk", flat=True))
    finally:
        connection.close()  # this thread's
    return received - sent


def _node_env(args, *, db_url: str, sink_url: str, origin: str, store) -> dict:
    env = _server_env("unused")
    env.pop("CELERY_TASK_DEFAULT_QUEUE")  # the settings' queues, on a Redis database of the run's own
    env.update(
        {
            "DATABASE_URL": db_url,
            "REDIS_URL": args.redis_url,
            "SHOP_TEST_HARNESS": "1",
            "USE_X_FORWARDED_PROTO": "1",
            "SHOP_BASE_URL": origin,
            "EMAIL_URL": sink_url,
            "NOTIFICATIONS_SENDING_TIMEOUT_SECONDS": SENDING_TIMEOUT_SECONDS,
            **(store.env if store else {}),
        }
    )
    return env


def run(args, work: Path) -> tuple[list, dict]:
    from django.conf import settings
    from django.core.management import call_command

    from config.celery import app
    from deploy.nginx_process import Nginx, free_port, self_signed_certificate
    from deploy.render import render_nginx
    from faults.harness import SmtpSink
    from inventory.models import AllocationRequest
    from inventory.selectors import ledger_discrepancies
    from notifications.models import Notification
    from orders.models import Order

    call_command("migrate", "--noinput", verbosity=0)
    _say("migrated")
    store = None if not getattr(settings, "MEDIA_ON_OBJECT_STORE", False) else args.store
    shared_media = None if store else work / "shared-media"
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command
    sink = SmtpSink()
    sink.start()
    https_port = args.https_port
    origin = f"https://localhost:{https_port}"
    env = _node_env(args, db_url=os.environ["DATABASE_URL"], sink_url=sink.url, origin=origin, store=store)
    tag = uuid.uuid4().hex[:8]
    catalog = _setup(tag)
    static_build = cluster.static_build(env, ROOT / "var" / "scale-static")
    _say("catalog made, static files collected")
    queues = cluster.celery_queues()
    app.conf.task_always_eager = False  # the delivery's allocation pass goes to the workers
    nodes, nginx = [], None
    try:
        starts = []
        for name in ("web-a", "web-b", "worker-a", "worker-b"):
            var = cluster.node_folder(work, name, static_build)
            node_env = cluster.node_env(env, var, shared_media=shared_media)
            if name.startswith("web"):
                starts.append((cluster.web_node, (name, var, node_env, free_port()), {}))
            else:
                starts.append(
                    (cluster.worker_node, (name, var, node_env, queues), {"beat": name == "worker-a"})
                )
        nodes = cluster.start_together(starts)
        web_a, web_b, worker_a, worker_b = nodes
        cert, key = self_signed_certificate(work, host="localhost")
        site = render_nginx(
            server_name="localhost",
            upstreams=[web_a.address, web_b.address],
            static_root=static_build,
            media_root=shared_media,
            tls_cert=cert,
            tls_key=key,
            https_port=https_port,
            http_port=free_port(),
            listen_address="127.0.0.1",
            acme_root=work / "acme",
        )
        nginx = Nginx.start(site=site, folder=work / "nginx", ports=[https_port], workers=2)
        _say(
            f"nginx on {origin} -> web nodes {web_a.address}, {web_b.address}; workers on {', '.join(queues)}; "
            f"media: {'object store (moto) ' + store.url if store else 'shared MEDIA_ROOT ' + str(shared_media)}"
        )
        catalog_path = work / "catalog.json"
        catalog_path.write_text(json.dumps(catalog))
        started = time.time()
        delivery = threading.Timer(args.duration / 2, _receive_stock, args=(catalog, tag))

        def kill_b() -> None:
            web_b.kill(), worker_b.kill()
            in_flight.update(_emails_unmarked(sink))
            _say(
                f"SIGKILLed web node B ({web_b.address}) and worker node B, {len(web_b.procs + worker_b.procs)} "
                f"groups; emails received but not marked sent: {sorted(in_flight) or 'none'}"
            )

        in_flight: set[int] = set()

        kill = threading.Timer(args.kill_at, kill_b)
        delivery.start()
        kill.start()
        mixed = _locust(
            "ScaleShopper",
            users=args.users,
            seconds=args.duration,
            host=origin,
            catalog=catalog_path,
            out=work,
            locustfile=ROOT / "load" / "scale" / "locustfile.py",
            extra_env={"SCALE_ORIGIN": origin, "PYTHONPATH": str(ROOT)},
        )
        delivery.join()
        kill.join()
        _say("locust finished")
        waited = _drain(sink, catalog, args.drain_timeout)
        held = cluster.redis_unacked(args.redis_url)  # the survivors are idle now
        _say(f"broker messages still unacknowledged (the killed worker's): {held or 'none'}")
        access_log = nginx.access_log()
    finally:
        if nginx:
            nginx.stop()
        for node in nodes:
            node.stop()
        sink.stop()

    _print_endpoints(f"mixed scenario through nginx, {args.users} shoppers, {args.duration} s", mixed)
    for node in nodes:
        log = (node.folder / ("gunicorn.log" if node.address else "worker.log")).read_text()
        if "Traceback" in log:
            print(f"   {node.name} logged errors; the end of its log:\n{log[-3000:]}")
    rows = list(Notification.objects.values_list("pk", "status"))
    received = [m["X-Notification-Id"] for m in sink.messages]
    result = figures(
        locust=mixed["Aggregated"],
        failures=failure_books(access_log, killed=web_b.address, kill_at=web_b.killed_at),
        emails=email_books(rows, received, frozenset(in_flight)),
        books=_books(catalog),
        drift=len(ledger_discrepancies()),
        backlog=AllocationRequest.objects.count(),
        orders=Order.objects.filter(email__endswith=f"@{catalog['email_domain']}").count(),
        drained_seconds=waited,
        held_by_killed=len(held),
        cut_off=cut_off_at_kill(mixed["_failures"], kill_at=web_b.killed_at),
        names={web_a.address: "web node A", web_b.address: "web node B (killed)"},
        tasks={
            "worker node A": tasks_finished((worker_a.folder / "worker.log").read_text()),
            "worker node B (killed)": tasks_finished((worker_b.folder / "worker.log").read_text()),
        },
    )
    extra = {
        "load average (1 min) at the start and the end": [args.load_at_start, round(os.getloadavg()[0], 1)],
        "duration_s": args.duration,
        "users": args.users,
        "killed": {
            "web node": web_b.address,
            "web node killed at s": round(web_b.killed_at - started, 2) if web_b.killed_at else None,
            "web node killed at (Unix time)": web_b.killed_at,
            "worker node killed at s": round(worker_b.killed_at - started, 2) if worker_b.killed_at else None,
        },
        "broker messages unacknowledged at the end (tasks)": held,
        "web nodes": [web_a.address, web_b.address],
        "gunicorn per web node": f"{cluster.WEB_WORKERS} workers x {cluster.WEB_THREADS} threads",
        "celery per worker node": f"concurrency {cluster.WORKER_CONCURRENCY}, queues {queues}",
        "media": "object store (moto S3 server)"
        if store
        else "shared MEDIA_ROOT (no object store in the settings)",
        "failures": mixed["_failures"],
    }
    return result, extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Scale test: 2 web + 2 worker nodes behind nginx, one of each killed."
    )
    parser.add_argument(
        "--duration", type=int, default=DURATION, help=f"seconds of the scenario ({DURATION})"
    )
    parser.add_argument("--users", type=int, default=USERS, help=f"simulated shoppers ({USERS})")
    parser.add_argument(
        "--kill-at", type=float, help="seconds into the run to kill (default: half way + 2 s)"
    )
    parser.add_argument(
        "--redis-url", default=REDIS_URL, help=f"a Redis database the run may empty ({REDIS_URL})"
    )
    parser.add_argument(
        "--postgres-url", default=POSTGRES_URL, help="the PostgreSQL server to create the run's database on"
    )
    parser.add_argument(
        "--drain-timeout", type=int, default=DRAIN_TIMEOUT, help="seconds to wait for the worker"
    )
    args = parser.parse_args(argv)
    args.kill_at = args.kill_at if args.kill_at is not None else args.duration / 2 + 2

    from deploy.nginx_process import NginxMissing, free_port, nginx_binary

    try:
        nginx_binary()
    except NginxMissing as exc:
        print(f"scale-test: {exc}")
        return 2
    name = f"scale_{os.getpid()}"
    db_url = cluster.database_create(args.postgres_url, name)
    print(
        f"   database {name}, Redis {args.redis_url}, {args.users} shoppers for {args.duration} s, kill at {args.kill_at:.0f} s; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    args.https_port = free_port()
    args.load_at_start = round(os.getloadavg()[0], 1)  # other programs on the machine take CPU too
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        work = Path(tmp)
        args.store = None
        try:
            cluster.redis_flush(args.redis_url)
            args.store = cluster.object_store_start(work, free_port(), f"scale-{os.getpid()}")
            os.environ.update(
                {
                    "DATABASE_URL": db_url,
                    "REDIS_URL": args.redis_url,
                    "SHOP_TEST_HARNESS": "1",
                    # The queues as in production (mail, stock, default), routed by the settings: the
                    # Redis database is the run's own (bench.core turns routing off for the benchmarks).
                    "CELERY_ROUTE_QUEUES": "1",
                    **args.store.env,
                }
            )
            os.environ["SHOP_BASE_URL"] = f"https://localhost:{args.https_port}"
            setup_django()
            result, extra = run(args, work)
        finally:
            from django.db import connections

            connections.close_all()
            if args.store:
                cluster._stop(args.store.proc)
            cluster.database_drop(args.postgres_url, name)
            cluster.redis_flush(args.redis_url)
    path = write_json(NAME, result, extra=extra)
    print(f"   figures written to {path}\n")
    print_table(result)
    return exit_code(result)
