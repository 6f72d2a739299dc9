"""The processes a benchmark runs the shop in: gunicorn (DEBUG=0, production settings), a Celery worker.

Shared by the checkout, API and pages benchmarks, so that their figures come from the same server
setup: gunicorn gthread workers on a free loopback port, the database and Redis of this process (or a
throwaway database), static files collected, the harness's test card gateway. Also a throwaway
database for benchmarks that seed their own shop, and `ANALYZE`: this machine's PostgreSQL runs
without autovacuum, so freshly written tables have no planner statistics until a benchmark gives
them some, as a real server's autovacuum would.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
START_TIMEOUT = 180  # seconds for gunicorn or a worker to come up (a busy machine imports slowly)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_application_name(url: str, name: str) -> str:
    """The database URL with an application_name, so pg_stat_activity tells the shop's sessions apart."""
    return f"{url}{'&' if '?' in url else '?'}application_name={name}"


def server_env(queue: str) -> dict:
    """The environment of the shop's processes: production settings over plain HTTP on loopback."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or "bench-" + uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "CELERY_TASK_DEFAULT_QUEUE": queue,  # this run's tasks go to this run's worker only
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_URL": "dummymail://",
        "LOG_LEVEL": "WARNING",
    }


_collected: list[bool] = []


def collectstatic(env: dict) -> None:
    """DEBUG=0 serves hashed names from the manifest: without it every page would be a 500. Once per
    process: it compresses every file (a minute or two on two busy cores), and the static sources do
    not change during a run."""
    if _collected:
        return
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    _collected.append(True)
    print(f"   collectstatic in {time.perf_counter() - t:.1f} s", flush=True)


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # gunicorn and celery shut down their children on TERM
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this benchmark started, and only it
        proc.wait(timeout=10)


def start_gunicorn(
    env: dict,
    port: int,
    log: Path,
    *,
    workers: int = 3,
    threads: int = 2,
    worker_class: str = "gthread",
    keepalive: str = "30",
) -> subprocess.Popen:
    """gunicorn on 127.0.0.1:`port`, returned once /healthz answers 200."""
    cmd = [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    cmd += ["--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads)]
    cmd += ["--keep-alive", keepalive]  # seconds; 0: a new connection for every request
    cmd += ["--backlog", "2048", "--log-level", "warning"]
    proc = start(cmd, env, log)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz", headers={"Host": f"127.0.0.1:{port}"})
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)


def start_worker(env: dict, queue: str, log: Path) -> subprocess.Popen:
    """A solo-pool Celery worker consuming only `queue`, returned once it says it is ready."""
    cmd = [str(BIN / "celery"), "-A", "config", "worker", "-Q", queue, "-n", f"{queue}@%h"]
    cmd += ["--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    cmd += ["--loglevel", "INFO"]
    env = {**env, "LOG_LEVEL": "INFO"}  # the shop's logging config: its " ready." line is INFO
    proc = start(cmd, env, log)
    deadline = time.monotonic() + START_TIMEOUT
    while " ready." not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"celery worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return proc


def forget_queue(queue: str) -> None:
    """Drop this run's (empty) queue binding from Redis; nothing else is touched."""
    from django.conf import settings

    if not settings.REDIS_URL:
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(queue, f"_kombu.binding.{queue}")
    client.close()


def throwaway_database(suffix: str):
    """Point the default connection at a new, migrated database `<name>_<suffix>_<pid>`.

    Returns its name and the function that drops it (and points the connection back)."""
    from django.db import connection

    connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_{suffix}_{os.getpid()}"
    original = connection.settings_dict["NAME"]
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
    print(f"   database: {name} (migrated fresh)", flush=True)
    return name, lambda: connection.creation.destroy_test_db(original, verbosity=0)


def database_url(name: str) -> str:
    """DATABASE_URL with another database name, for the processes serving a throwaway database."""
    from urllib.parse import urlsplit

    return urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}").geturl()


def analyze(*tables: str) -> float:
    """`ANALYZE` the given tables (all of the database's when none): the planner statistics autovacuum
    would have gathered on a real server. Returns the seconds it took."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))
    return time.perf_counter() - started
