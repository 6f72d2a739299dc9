"""Sentry (config/observability/sentry.py): with SENTRY_DSN set, an error in a view and one in a task
reach the DSN's server, each tagged with its request id; unset, nothing is sent. The server is a small HTTP receiver on loopback; the shop runs in a
child process, so Sentry's hooks never enter this test process."""

import gzip
import json
import os
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# No database, or subprocesses with settings of their own: the same on either database (conftest.py).
pytestmark = pytest.mark.sqlite_run


BASE_DIR = Path(__file__).resolve().parents[2]

CHILD = """
import io, json, sys
from wsgiref.util import setup_testing_defaults

from config.wsgi import application  # the real WSGI entry point, as gunicorn calls it
import sentry_sdk
from django.conf import settings
from django.test.utils import override_settings

environ = {"PATH_INFO": "/crash/", "HTTP_X_REQUEST_ID": "req-sentry-1", "HTTP_COOKIE": "sessionid=secret-session",
           "HTTP_HOST": "testserver", "wsgi.input": io.BytesIO(b"")}
setup_testing_defaults(environ)
status = []
# No collectstatic here: the error page links static files without the manifest.
plain_static = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(ROOT_URLCONF="crash_urls", STORAGES=plain_static):
    body = application(environ, lambda s, headers, exc_info=None: status.append(s))
    b"".join(body)
    body.close()

from config.celery import app


@app.task
def failing_task():
    raise KeyError("crash in a task")


# A task sent by a request (its message carries the request's id), run in this process.
failing_task.apply(headers={"shop_request_id": "req-task-7"})
client = sentry_sdk.get_client()
sentry_sdk.flush(timeout=10)
print(json.dumps({"status": int(status[0].split()[0]), "active": client.is_active(),
                  "rate": client.options.get("traces_sample_rate"),
                  "integrations": sorted(set(client.integrations) & {"celery", "django", "redis"})}))
"""

CRASH_URLS = """
from django.urls import path

from config import urls as config_urls

def crash(request):
    raise ZeroDivisionError("crash for sentry")


urlpatterns = [path("crash/", crash), *config_urls.urlpatterns]
"""


class Receiver:
    """Keeps every envelope posted to it: a list of (item header, item payload) per envelope."""

    def __init__(self) -> None:
        self.envelopes: list[list[tuple[dict, dict]]] = []
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                encoding = self.headers.get("Content-Encoding")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "br":  # sentry-sdk's choice when brotli is installed, as here
                    import brotli

                    body = brotli.decompress(body)
                outer.paths.append(self.path)
                outer.envelopes.append(_items(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def segments(self) -> list[str]:
        return [
            span["name"] for spans in self.events("span") for span in spans["items"] if span["is_segment"]
        ]

    def events(self, item_type: str) -> list[dict]:
        return [
            payload
            for envelope in self.envelopes
            for header, payload in envelope
            if header["type"] == item_type
        ]


def _items(body: bytes) -> list[tuple[dict, dict]]:
    lines = body.split(b"\n")
    items, index = [], 1  # line 0: the envelope's header
    while index < len(lines) and lines[index]:
        header = json.loads(lines[index])
        payload = lines[index + 1]
        items.append((header, json.loads(payload) if payload.startswith(b"{") else {}))
        index += 2
    return items


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def run_shop(tmp_path: Path, **env: str) -> dict:
    (tmp_path / "crash_urls.py").write_text(CRASH_URLS)
    child_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{BASE_DIR}",
        "DATABASE_URL": f"sqlite:///{tmp_path / uuid.uuid4().hex}.sqlite3",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "0",
        "SENTRY_DSN": "",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=BASE_DIR,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_an_error_in_a_view_reaches_sentry_without_personal_data(receiver, tmp_path):
    said = run_shop(
        tmp_path,
        SENTRY_DSN=f"http://publickey@127.0.0.1:{receiver.port}/42",
        SENTRY_ENVIRONMENT="staging-test",
        SENTRY_TRACES_SAMPLE_RATE="1.0",
    )

    assert said == {"status": 500, "active": True, "rate": 1.0, "integrations": ["celery", "django", "redis"]}
    task_event, event = sorted(receiver.events("event"), key=lambda e: e["exception"]["values"][0]["type"])
    assert receiver.paths[0] == "/api/42/envelope/"
    assert event["environment"] == "staging-test"
    (exception,) = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("ZeroDivisionError", "crash for sentry")
    assert event["tags"]["request_id"] == "req-sentry-1"
    assert event["transaction"] == "/crash/"
    assert event["request"]["url"] == "http://testserver/crash/"
    assert event["request"]["headers"]["X-Request-Id"] == "req-sentry-1"
    assert "secret-session" not in json.dumps(event)  # no cookies (data_collection)
    assert "user" not in event  # no signed-in user, no client address
    (task_exception,) = task_event["exception"]["values"]
    assert (task_exception["type"], task_exception["value"]) == ("KeyError", "'crash in a task'")
    assert task_event["tags"]["request_id"] == "req-task-7"
    assert task_event["transaction"] == "shop.failing_task"
    # SENTRY_TRACES_SAMPLE_RATE=1: the request and the task are sent as performance traces too
    # (sentry-sdk 3 sends spans; each one's root is a "segment").
    assert sorted(receiver.segments()) == ["/crash/", "shop.failing_task"]


def test_no_trace_at_rate_zero_and_nothing_at_all_without_a_dsn(receiver, tmp_path):
    dsn = f"http://publickey@127.0.0.1:{receiver.port}/42"
    with ThreadPoolExecutor(max_workers=2) as pool:  # both at once, to one receiver
        sampled_out, off = pool.map(lambda env: run_shop(tmp_path, **env), [{"SENTRY_DSN": dsn}, {}])

    assert (sampled_out["status"], sampled_out["active"], sampled_out["rate"]) == (500, True, 0.0)
    assert off["status"] == 500 and off["active"] is False
    assert (len(receiver.events("event")), receiver.segments()) == (2, [])  # the first's errors only
