"""The request id (config/observability/request_id.py), LOG_FORMAT and ADMINS (config/observability/logs.py).

A request's id is in every log line of the request and of the tasks it enqueues: eagerly in this
process (the tasks run in the request's thread), and through the message's headers to a real worker
(PostgreSQL + Redis run).
"""

import contextvars
import io
import json
import logging
import logging.config
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import path, reverse

from config import urls as config_urls
from config.observability import request_id
from config.observability.logs import admins_parse, logging_config
from config.observability.sentry import sentry_init
from shop.tests.factories import VariantFactory

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_logs():
    """The console handler of LOG_FORMAT=json, writing into a buffer; returns a function giving the
    records written so far, parsed."""
    logging.config.dictConfig(logging_config(log_format="json", level="INFO", mail_admins=False))
    (console,) = logging.getLogger().handlers
    buffer = io.StringIO()
    console.setStream(buffer)

    def records() -> list[dict]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield records
    logging.config.dictConfig(settings.LOGGING)


def notify_me(client: Client, variant, **headers):
    """A guest's "Notify me": the confirmation email is enqueued (send_notification) on commit."""
    url = reverse("notifications:subscribe", args=[variant.pk])
    return client.post(url, {"email": "grace@example.com"}, headers=headers)


def succeeded_lines(records: list[dict], task: str) -> list[dict]:
    return [r for r in records if r["logger"] == "celery.app.trace" and f"Task {task}[" in r["message"]]


# --- the id of a request --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("0f8e4c2a9b1d4e7f8a6b5c4d3e2f1a0b", True),  # nginx's $request_id
        ("lb-1:7c1d.42_x", True),
        ("", False),
        ("two words", False),
        ("a" * 129, False),
        ("id\nFAKE LOG LINE", False),
    ],
)
def test_the_proxys_id_is_kept_when_well_formed_else_a_new_one(sent, kept):
    got = request_id.request_id_from_header(sent)

    assert (got == sent) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", got)


@pytest.mark.django_db
def test_the_response_returns_the_id_and_each_request_gets_its_own(client):
    given = client.get("/healthz", headers={"X-Request-ID": "edge-42"})
    first = client.get("/healthz")
    second = client.get("/healthz")

    assert given["X-Request-ID"] == "edge-42"
    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert request_id.request_id_get() is None  # cleared once the response is finished


@pytest.mark.django_db
def test_json_lines_of_a_request_carry_its_id_and_lines_outside_carry_a_dash(json_logs):
    Client().get("/no-such-page/", headers={"X-Request-ID": "req-404"})
    logging.getLogger("shop.test").info("outside any request")

    records = json_logs()
    not_found = [r for r in records if r["logger"] == "django.request"]
    assert [(r["level"], r["message"], r["request_id"]) for r in not_found] == [
        ("WARNING", "Not Found: /no-such-page/", "req-404")
    ]
    assert {k: v for k, v in records[-1].items() if k != "time"} == {
        "level": "INFO",
        "logger": "shop.test",
        "request_id": "-",
        "message": "outside any request",
    }


@pytest.mark.django_db(transaction=True)
def test_a_task_the_request_enqueued_logs_with_the_requests_id(json_logs):
    """Eager tasks (the test settings) run at the request's commit, in its thread."""
    variant = VariantFactory()

    response = notify_me(Client(), variant, X_Request_ID="req-notify-1")

    assert response.status_code == 302
    assert len(mail.outbox) == 1  # the confirmation email: the task ran
    lines = succeeded_lines(json_logs(), "notifications.tasks.send_notification")
    assert [line["request_id"] for line in lines] == ["req-notify-1"]
    assert request_id.request_id_get() is None


def test_the_id_travels_in_the_task_messages_headers():
    """What a worker does with a message: before_task_publish writes the header in the web process;
    task_prerun, in a context of its own (the worker's), sets it from the header; postrun clears it."""

    class Request:
        shop_request_id = None
        headers = None

    class Task:
        request = Request()

    headers: dict = {}

    def publish():
        request_id._current.set("req-77")
        request_id._publish(headers=headers)

    contextvars.Context().run(publish)
    Task.request.shop_request_id = headers.get("shop_request_id")

    def work() -> tuple:
        before = request_id.request_id_get()
        request_id._prerun(task_id="t-1", task=Task)
        during = request_id.request_id_get()
        request_id._postrun(task_id="t-1")
        return before, during, request_id.request_id_get()

    assert headers == {"shop_request_id": "req-77"}
    assert contextvars.Context().run(work) == (None, "req-77", None)
    assert request_id._task_tokens == {}


# --- LOG_FORMAT and ADMINS from the environment ------------------------------------------------

PRINT = (
    "import json, logging, django; django.setup(); from django.conf import settings; print(json.dumps({"
    "'admins': settings.ADMINS, 'format': settings.LOGGING['handlers']['console']['formatter'], "
    "'request': [type(h).__name__ for h in logging.getLogger('django.request').handlers], "
    "'metrics_token': settings.METRICS_TOKEN}))"
)


def settings_in_child(**env: str) -> dict:
    child_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "ADMINS": "",
        "METRICS_TOKEN": "",
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-c", PRINT],
        cwd=BASE_DIR,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_log_format_admins_and_the_metrics_token_come_from_the_environment():
    """(What each does once set: the tests above and below, and test_observability_metrics.py.)"""
    with ThreadPoolExecutor(max_workers=3) as pool:  # three settings processes at once
        off, on, in_debug = pool.map(
            lambda env: settings_in_child(**env),
            [
                {"LOG_FORMAT": "plain"},
                {
                    "LOG_FORMAT": "json",
                    "ADMINS": "Ann Ops <ann@example.com>, pager@example.com",
                    "METRICS_TOKEN": "tok-1",
                },
                {"ADMINS": "ann@example.com", "DEBUG": "1"},
            ],
        )

    assert off == {"admins": [], "format": "plain", "request": [], "metrics_token": ""}
    assert on == {
        "admins": [["Ann Ops", "ann@example.com"], ["", "pager@example.com"]],
        "format": "json",
        "request": ["AdminEmailHandler"],
        "metrics_token": "tok-1",
    }
    assert in_debug["request"] == []  # never with DEBUG on


def test_a_bad_log_format_admin_address_or_trace_rate_is_refused_with_a_clear_message():
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT='xml': expected plain or json"):
        logging_config(log_format="xml", level="INFO", mail_admins=False)
    with pytest.raises(ImproperlyConfigured, match="'ann' is not an email address"):
        admins_parse("Ann <ann>")
    assert admins_parse("") == []
    with pytest.raises(ImproperlyConfigured, match="SENTRY_TRACES_SAMPLE_RATE=1.5: expected 0"):
        sentry_init(dsn="http://key@127.0.0.1:9/1", environment="x", traces_sample_rate=1.5)


def broken_view(request):
    raise RuntimeError("boom in a view")


# The shop's own patterns follow as they are (its customer pages are i18n_patterns, which Django
# allows only at the top of a URLconf, not through include()).
urlpatterns = [path("broken/", broken_view), *config_urls.urlpatterns]  # the ADMINS test's URLconf


@pytest.fixture
def admins_mailed(settings):
    settings.ADMINS = [("Ann", "ann@example.com")]
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    logging.config.dictConfig(logging_config(log_format="plain", level="INFO", mail_admins=True))
    yield
    logging.config.dictConfig(settings.LOGGING)


@pytest.mark.django_db
def test_a_500_is_mailed_to_admins_with_its_request_id(admins_mailed):
    client = Client(raise_request_exception=False)

    not_found = client.get("/no-such-page/")
    error = client.get("/broken/", headers={"X-Request-ID": "req-500"})

    assert (not_found.status_code, error.status_code) == (404, 500)
    assert len(mail.outbox) == 1  # the 500 only
    message = mail.outbox[0]
    assert message.to == ["ann@example.com"]
    assert message.from_email == settings.SERVER_EMAIL
    assert message.subject == "[Django] ERROR (EXTERNAL IP): Internal Server Error: /broken/"
    assert "RuntimeError at /broken/\nboom in a view\n" in message.body
    assert "HTTP_X_REQUEST_ID = 'req-500'" in message.body  # the request's headers, sent with it
    assert error["X-Request-ID"] == "req-500"


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_logs_the_task_with_the_id_of_the_request_that_enqueued_it(
    celery_via_broker, smtp_server, tmp_path
):
    celery_via_broker(extra_env={"LOG_FORMAT": "json", "EMAIL_URL": smtp_server.url})
    variant = VariantFactory()

    response = notify_me(Client(), variant, X_Request_ID="req-worker-9")

    assert response.status_code == 302
    deadline = time.monotonic() + 30
    lines: list[dict] = []
    while time.monotonic() < deadline and not lines:
        time.sleep(0.2)
        lines = [
            record
            for path in tmp_path.glob("worker-*.log")
            for record in (json.loads(x) for x in path.read_text().splitlines() if x.startswith("{"))
            if record.get("logger") == "celery.app.trace" and "send_notification[" in record["message"]
        ]
    logs = "".join(path.read_text()[-3000:] for path in tmp_path.glob("worker-*.log"))
    assert [(line["request_id"], "succeeded" in line["message"]) for line in lines] == [
        ("req-worker-9", True)
    ], logs
