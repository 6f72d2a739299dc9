"""The real processes a fault test starts and breaks: redis-server, gunicorn, Celery workers, SMTP.

Every process is started in its own process group (session), so a test can
SIGKILL a whole worker (the main process and its pool children) and nothing
else. Nothing here touches the machine's shared Redis or PostgreSQL.
"""

import email
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

from config.testing import CookieJar

ROOT = Path(__file__).resolve().parent.parent
REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll `condition()` until it returns something truthy; return it, or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# --- redis-server ------------------------------------------------------------------------------


class RedisServer:
    """A private, memory-only redis-server on a free port, which the test may stop and start again."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not installed")
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            + ["--dir", str(self.workdir), "--logfile", str(self.workdir / f"redis-{self.port}.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self.ping, timeout=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        """Stop it the way a crash or a restart would: whatever it held is gone (no persistence)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def ping(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


# --- gunicorn and Celery workers -------------------------------------------------------------------


class Processes:
    """gunicorn and Celery workers of one test, with the production settings of faults.settings."""

    def __init__(self, logs: Path, base_env: dict):
        self.logs = logs
        self.base_env = base_env
        self.started: list[subprocess.Popen] = []

    def _start(self, name: str, cmd: list[str], extra_env: dict | None) -> tuple[subprocess.Popen, Path]:
        log = self.logs / f"{name}-{len(self.started)}.log"
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**self.base_env, **(extra_env or {})},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc.log = log  # type: ignore[attr-defined]
        self.started.append(proc)
        return proc, log

    def gunicorn(self, *, extra_env: dict | None = None, threads: int = 2) -> str:
        """Start gunicorn (one process, `threads` threads); return its base URL once /healthz answers."""
        port = free_port()
        cmd = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"]
        cmd += ["--workers", "1", "--worker-class", "gthread", "--threads", str(threads), "--timeout", "60"]
        proc, log = self._start("gunicorn", cmd, extra_env)

        def healthy() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                return conn.getresponse().status == 200
            except OSError:
                return False

        wait_until(healthy, timeout=60, interval=0.2, what="gunicorn /healthz")
        return f"http://127.0.0.1:{port}"

    def worker(self, *, extra_env: dict | None = None, concurrency: int = 1) -> subprocess.Popen:
        """Start a Celery worker (prefork) on the default queue; return it once it is ready."""
        cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "celery"]
        cmd += ["-n", f"faults-{uuid.uuid4().hex[:8]}@%h", "--concurrency", str(concurrency)]
        cmd += ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        proc, log = self._start("worker", cmd, extra_env)

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"celery worker exited:\n{log.read_text()[-3000:]}")
            return " ready." in log.read_text()

        wait_until(ready, timeout=60, interval=0.2, what="the Celery worker")
        return proc

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        """SIGKILL the whole process group this test started: no shutdown, no acknowledgement."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


# --- an SMTP server that may answer slowly ----------------------------------------------------------


class SmtpSink:
    """aiosmtpd on a free port, keeping every message; `delay` seconds before each 250 reply.

    The message is recorded before the delay: like a real server, it has taken
    the message even if the client dies before reading the reply.
    """

    def __init__(self, delay: float = 0.0):
        from aiosmtpd.controller import Controller

        self.delay = delay
        self.messages: list = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                import asyncio

                with sink.lock:
                    sink.messages.append(email.message_from_bytes(envelope.content))
                if sink.delay:
                    await asyncio.sleep(sink.delay)
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def recipients(self) -> list[str]:
        with self.lock:
            return [m["To"] for m in self.messages]


# --- a browser without JavaScript ------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
KEY_RE = re.compile(r'name="idempotency_key" value="([^"]+)"|value="([^"]+)"[^>]*name="idempotency_key"')


@dataclass
class Page:
    status: int
    url: str
    text: str
    seconds: float


class Browser:
    """Cookies and redirects, as a customer's browser would; every response comes back, 5xx included."""

    def __init__(self, base: str):
        self.base = base
        self.cookies = CookieJar()

    def request(self, method: str, path: str, fields: dict | None = None, *, follow: bool = True) -> Page:
        started = time.perf_counter()
        url = urljoin(self.base, path)
        for _ in range(5):
            parts = urlsplit(url)
            headers = {"Accept": "text/html"}
            if cookie := self.cookies.header():
                headers["Cookie"] = cookie
            body = None
            if fields is not None:
                body = urlencode(fields)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                headers["Referer"] = url
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=90)
            try:
                conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body, headers)
                response = conn.getresponse()
                text = response.read().decode()
            finally:
                conn.close()
            self.cookies.update(response.headers)
            location = response.headers.get("Location")
            if not (follow and location and response.status in (301, 302, 303)):
                return Page(response.status, url, text, time.perf_counter() - started)
            url, method, fields = urljoin(url, location), "GET", None
        raise AssertionError(f"too many redirects from {path}")

    def get(self, path: str) -> Page:
        return self.request("GET", path)

    def post(self, path: str, fields: dict, *, follow: bool = True) -> Page:
        return self.request("POST", path, fields, follow=follow)


def csrf_token(page: Page) -> str:
    match = CSRF_RE.search(page.text)
    assert match, f"no CSRF token on {page.url} ({page.status})"
    return match.group(1)


def idempotency_key(page: Page) -> str:
    match = KEY_RE.search(page.text)
    assert match, f"no idempotency key on {page.url}"
    return match.group(1) or match.group(2)


def add_to_cart(browser: Browser, *, product_path: str, variant_id: int, quantity: int = 1) -> None:
    page = browser.get(product_path)
    assert page.status == 200, page.text[-2000:]
    added = browser.post(
        "/orders/cart/add/",
        {
            "csrfmiddlewaretoken": csrf_token(page),
            "variant": variant_id,
            "quantity": quantity,
            "next": product_path,
        },
    )
    assert added.status == 200 and urlsplit(added.url).path == "/orders/cart/", (added.url, added.status)


def checkout_fields(page: Page, *, email_address: str) -> dict:
    return {
        "csrfmiddlewaretoken": csrf_token(page),
        "idempotency_key": idempotency_key(page),
        "email": email_address,
        "full_name": "Fault Tester",
        "address_line1": "1 Queue Street",
        "address_line2": "",
        "city": "London",
        "postcode": "N1 9GU",
        "country": "GB",
        "shipping_method": "standard",
        "ship_policy": "split",
        "payment_method": "test_card",
        "card_number": "4242424242424242",
        "accept_backorder_terms": "on",
    }
