"""The scale test's machines, as process groups on this one: web and worker nodes, nginx, the services.

Each node is its own process group with its own folder (`<run>/<node>/var`: logs, static files,
beat's schedule, and media when there is no object store), started with the environment a
machine of the deploy kit would have. What the nodes share is only what several machines would:
a PostgreSQL database created for the run, a Redis database given to the run, and the object
store (moto's S3 server) when the settings know MEDIA_STORAGE_URL.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from load.run import BIN, ROOT, _start, _stop, _wait, answers_healthz

WEB_WORKERS = int(os.environ.get("SCALE_WEB_WORKERS", "2"))  # gunicorn workers per web node
WEB_THREADS = int(os.environ.get("SCALE_WEB_THREADS", "4"))
WORKER_CONCURRENCY = int(os.environ.get("SCALE_WORKER_CONCURRENCY", "2"))  # Celery pool per worker node


@dataclass
class Node:
    name: str
    folder: Path  # the node's var/
    procs: list[subprocess.Popen] = field(default_factory=list)
    address: str = ""  # host:port of a web node
    killed_at: float | None = None

    def kill(self) -> float:
        """SIGKILL every process group of the node, as a machine that loses power; the wall-clock time."""
        self.killed_at = time.time()
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # a group this run started, and only it
        for proc in self.procs:
            proc.wait(timeout=10)
        return self.killed_at

    def stop(self) -> None:
        for proc in self.procs:
            _stop(proc)


# --- the shared services -------------------------------------------------------------------------


def database_create(server_url: str, name: str) -> str:
    """CREATE DATABASE `name` on the server of `server_url`; the new database's URL."""
    import psycopg

    with psycopg.connect(_maintenance(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def database_drop(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_maintenance(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _maintenance(server_url: str) -> str:
    parts = urlsplit(server_url.replace("postgres://", "postgresql://", 1))
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))


def redis_flush(url: str) -> None:
    """Empty the Redis database given to the run (its cache, queues and locks), before and after."""
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


def redis_unacked(url: str) -> list[str]:
    """The tasks of messages taken by a worker and not acknowledged (kombu's "unacked" hash).

    After the drain, with the survivors idle, these are the killed worker's. Redis gives them out
    again only after the visibility timeout (an hour); beat's sweeps find the work they stood for.
    """
    import json

    import redis

    client = redis.Redis.from_url(url)
    try:
        held = client.hvals("unacked")
    finally:
        client.close()
    return sorted(json.loads(value)[0].get("headers", {}).get("task", "?") for value in held)


@dataclass
class ObjectStore:
    proc: subprocess.Popen
    url: str  # MEDIA_STORAGE_URL
    env: dict


def object_store_start(folder: Path, port: int, bucket: str) -> ObjectStore:
    """moto's S3 server (the test dependency) on `port`, with a bucket for the run's media."""
    import boto3

    log = folder / "moto.log"
    proc = _start([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], dict(os.environ), log)
    endpoint = f"http://127.0.0.1:{port}"
    keys = {"MEDIA_STORAGE_ACCESS_KEY_ID": "scale", "MEDIA_STORAGE_SECRET_ACCESS_KEY": "scale-secret"}

    def ready() -> bool:
        try:
            client = boto3.client(
                "s3",
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id=keys["MEDIA_STORAGE_ACCESS_KEY_ID"],
                aws_secret_access_key=keys["MEDIA_STORAGE_SECRET_ACCESS_KEY"],
            )
            client.create_bucket(Bucket=bucket)
            return True
        except Exception:  # noqa: BLE001 - not answering yet
            return False

    _wait("moto's S3 server", ready, proc, log)
    url = f"s3://{bucket}?endpoint_url={endpoint}&region=us-east-1&addressing_style=path"
    return ObjectStore(proc=proc, url=url, env={"MEDIA_STORAGE_URL": url, **keys})


# --- the nodes -----------------------------------------------------------------------------------


def node_folder(run: Path, name: str, static_build: Path) -> Path:
    """`<run>/<name>/var` with the node's own copy of the collected static files."""
    var = run / name / "var"
    var.mkdir(parents=True)
    shutil.copytree(static_build, var / "static")
    return var


def node_env(base: dict, var: Path, *, shared_media: Path | None) -> dict:
    env = {**base, "STATIC_ROOT": str(var / "static"), "EMAIL_FILE_PATH": str(var / "mail")}
    env["MEDIA_ROOT"] = str(shared_media) if shared_media else str(var / "media")
    return env


def web_node(name: str, var: Path, env: dict, port: int) -> Node:
    """gunicorn (master and workers: one process group) on 127.0.0.1:`port`, once /healthz answers."""
    log = var / "gunicorn.log"
    # As the Procfile and the systemd unit run it: config/gunicorn.conf.py, its values from the environment.
    env = {**env, "BIND_HOST": "127.0.0.1", "PORT": str(port)}
    env |= {"WEB_CONCURRENCY": str(WEB_WORKERS), "WEB_THREADS": str(WEB_THREADS)}
    cmd = [str(BIN / "gunicorn"), "-c", str(ROOT / "config" / "gunicorn.conf.py"), "config.wsgi"]
    proc = _start(cmd, env, log)
    _wait(f"gunicorn of {name}", lambda: answers_healthz(port), proc, log)
    return Node(name=name, folder=var, procs=[proc], address=f"127.0.0.1:{port}")


def worker_node(name: str, var: Path, env: dict, queues: list[str], *, beat: bool) -> Node:
    """A Celery worker (its own process group: the main process and its pool) and, if `beat`, beat."""
    log = var / "worker.log"
    env = {**env, "LOG_LEVEL": "INFO"}  # its " ready." line says it consumes
    cmd = [
        str(BIN / "celery"),
        "-A",
        "config",
        "worker",
        "-Q",
        ",".join(queues),
        "-n",
        f"{name}-{uuid.uuid4().hex[:6]}@%h",
    ]
    cmd += [
        "--concurrency",
        str(WORKER_CONCURRENCY),
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
    ]
    worker = _start(cmd, env, log)
    _wait(f"the Celery worker of {name}", lambda: " ready." in log.read_text(), worker, log)
    node = Node(name=name, folder=var, procs=[worker])
    if beat:
        beat_log = var / "beat.log"
        cmd = [str(BIN / "celery"), "-A", "config", "beat", "--schedule", str(var / "celerybeat-schedule")]
        node.procs.append(_start(cmd + ["--loglevel", "INFO"], env, beat_log))
    return node


def start_together(starts: list[tuple]) -> list[Node]:
    """Start the nodes at once, each (function, args, kwargs) in a thread; all of them, or none left running."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(starts)) as pool:
        futures = [pool.submit(function, *args, **kwargs) for function, args, kwargs in starts]
    failed = [f.exception() for f in futures if f.exception()]
    if failed:
        for future in futures:
            if not future.exception():
                future.result().stop()
        raise failed[0]
    return [f.result() for f in futures]


def celery_queues() -> list[str]:
    """Every queue the settings route tasks to, so that the workers consume all of them."""
    from config.celery import app

    queues = {app.conf.task_default_queue}
    for queue in app.conf.task_queues or []:
        queues.add(getattr(queue, "name", queue))
    routes = app.conf.task_routes or {}
    for route in routes.values() if isinstance(routes, dict) else []:
        if isinstance(route, dict) and route.get("queue"):
            queues.add(route["queue"])
    return sorted(queues)


def static_build(env: dict, cache: Path) -> Path:
    """The collected static files (collectstatic with the nodes' settings), made once per set of sources.

    collectstatic compresses every file (gzip and brotli) and takes over a minute on two busy cores:
    the result is kept in `cache/<digest of the source files' names, sizes and times>/`, and
    reused while no static file changes. Older builds there are removed.
    """
    import hashlib

    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list([]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    target = cache / digest.hexdigest()[:16]
    if (target / "staticfiles.json").exists():
        return target
    if cache.exists():
        shutil.rmtree(cache)
    building = cache / f"building-{os.getpid()}"
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**env, "STATIC_ROOT": str(building)},
        check=True,
    )
    building.rename(target)
    return target
