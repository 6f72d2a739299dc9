"""Suite-wide pytest hooks: tests that need PostgreSQL or Redis, and the suite's fake Stripe.

Mark a test `@pytest.mark.postgres` or `@pytest.mark.redis`. Where the service
is missing the test is skipped with a reason that says how to run it; with
REQUIRE_SERVICES=1 (CI's second run) a missing service fails the test instead.

A test that pays by card asks for `stripe_settings`: the shop's settings pointed at
localstripe (one server per test run, started by the first test that needs it).
"""

import fcntl
import os
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.utils import translation

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# Every process the suite starts (the browser and fault tests' gunicorn and workers) is part of a
# test run: its settings let the test card gateway run with DEBUG off (config/settings.py).
os.environ["SHOP_TEST_HARNESS"] = "1"
# Every task of a test goes to the one queue the test names (CELERY_TASK_DEFAULT_QUEUE, private to it:
# `celery_via_broker`, the browser and fault tests), never to the shared `mail` and `stock` queues of
# the production routes; config/tests/test_knobs.py tests those routes.
os.environ["CELERY_ROUTE_QUEUES"] = "0"
# A developer's real Stripe keys never reach a process the suite starts (this one ignores them
# already: config/settings.py); a test that wants Stripe uses `stripe_settings`.
for _name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"):
    os.environ.pop(_name, None)


@pytest.fixture(autouse=True)
def default_language():
    """Every test starts and ends in settings.LANGUAGE_CODE: a test client's request to a /de/ page
    leaves German active in this thread (LocaleMiddleware activates a request's language and
    nothing deactivates it; a server's next request activates its own), which would write the next
    test's dates in German (docs/i18n.md)."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def isolated_page_cache(settings, monkeypatch):
    """Each test has its own page-cache keys (shop/cache.py) and throttle counters: the cache outlives a
    test's rolled-back data and may be a Redis shared with other runs. Worker processes the test starts
    inherit the page-cache namespace."""
    namespace = f"test-{uuid.uuid4().hex}"
    settings.SHOP_CACHE_NAMESPACE = namespace
    # Throttle counters too (django-ratelimit, in the same cache): keyed by ids that start at 1 in
    # every test database, so a Redis shared with an earlier run would count its requests.
    settings.RATELIMIT_CACHE_PREFIX = f"rl:{namespace}:"
    # And which thumbnails exist (shop/media/thumbnails.py): named after their pictures, which tests
    # write under MEDIA_ROOTs of their own.
    settings.IMAGEKIT_CACHE_PREFIX = f"imagekit:{namespace}:"
    monkeypatch.setenv("SHOP_CACHE_NAMESPACE", namespace)


@pytest.fixture(autouse=True)
def vat_rates_seeded(request):
    """The VAT rates the seed migration writes (tax/migrations/0002) are there for every test that
    uses the database: a transactional test's flush removes them, and a checkout to an EU country
    without a rate is refused (docs/tax.md). One query when they are there."""
    if (
        request.node.get_closest_marker("django_db") is None
        and "_django_db_helper" not in request.fixturenames
    ):
        return
    from tax.tests.factories import rates_seed

    request.getfixturevalue("db")  # pytest-django's: transactional when the test's marker or fixtures say so
    rates_seed()


# --- parallel runs (pytest-xdist: `make test` runs `pytest -n`) ---------------------------------------
#
# Every fixture is per worker process already: pytest-django gives each worker its own test database
# (`_gw0`, `_gw1`, ... after the name config/test_settings.py makes), ports are free ones, Celery
# queues and cache keys carry a uuid of the test. What workers share is the machine: a test marked
# `exclusive` (a time window it asserts, a fault it injects and waits out) runs while no other test
# of the run does, so the others' load cannot stretch its timings. All `faults` tests are exclusive.


class RunLock:
    """A readers-writer lock shared by the workers of one xdist run (flock on two files).

    Every test holds the main lock shared; an exclusive test holds it exclusively. The turnstile
    keeps an exclusive test from waiting forever behind the others' overlapping shared holds: a
    test passes through it before taking the main lock, and an exclusive test closes it while it
    waits and runs. A worker that dies releases what it held (the kernel drops its locks).
    """

    def __init__(self, folder: Path):
        self.turnstile = os.open(folder / "exclusive-turnstile.lock", os.O_RDWR | os.O_CREAT, 0o644)
        self.main = os.open(folder / "exclusive-main.lock", os.O_RDWR | os.O_CREAT, 0o644)

    @contextmanager
    def held(self, *, exclusive: bool):
        if exclusive:
            fcntl.flock(self.turnstile, fcntl.LOCK_EX)
            fcntl.flock(self.main, fcntl.LOCK_EX)
        else:
            fcntl.flock(self.turnstile, fcntl.LOCK_SH)
            fcntl.flock(self.turnstile, fcntl.LOCK_UN)
            fcntl.flock(self.main, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(self.main, fcntl.LOCK_UN)
            if exclusive:
                fcntl.flock(self.turnstile, fcntl.LOCK_UN)


_run_lock_key = pytest.StashKey[RunLock]()


def pytest_configure(config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return  # one process: nothing runs beside a test
    config.stash[_run_lock_key] = RunLock(run_folder(config))


def run_folder(config) -> Path:
    """A folder shared by the workers of this xdist run: the controller's basetemp, in which each worker
    has its own (`popen-gw0`, ...)."""
    if config.option.basetemp:
        folder = Path(config.option.basetemp).parent
    else:
        folder = Path(tempfile.gettempdir()) / f"pytest-run-{config.workerinput['testrunuid']}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _database_use(item: pytest.Item) -> str:
    """ "commits" (a flush empties every table after it), "rolls back" or "none", as pytest-django
    tells them apart when it orders a run."""
    from django.test import TestCase, TransactionTestCase

    cls = getattr(item, "cls", None)
    if cls is not None and issubclass(cls, TransactionTestCase):
        return "rolls back" if issubclass(cls, TestCase) else "commits"
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    if "transactional_db" in fixtures or "live_server" in fixtures:
        return "commits"
    if marker is not None:
        flags = (*marker.args[:1], marker.kwargs.get("transaction"), marker.kwargs.get("reset_sequences"))
        return "commits" if any(flags) else "rolls back"
    return "rolls back" if "db" in fixtures else "none"


def _run_order(item: pytest.Item) -> int:
    """Where a test goes in a parallel run, long ones early so none is left running alone at the end.

    `--dist load` hands tests out in collection order. pytest-django orders database tests that roll
    back first, then those that commit (their flush removes the rows the migrations wrote, such as the
    staff groups, which the first kind rely on), then tests without a database: so the browser tests
    (tens of seconds each) and the slow subprocess tests came last, and one worker ran them while the
    others had finished. Kept: rolling back before committing. Moved: tests without a database (which
    may run anywhere) to the front, the browser tests to the front of the committing ones, and the
    exclusive ones to the very end, where waiting for the others costs nothing. Stable, so the order
    is the same in every worker (xdist requires it)."""
    if _database_use(item) != "commits":
        return 0
    if item.get_closest_marker("exclusive") is not None:
        return 3
    return 1 if item.get_closest_marker("browser") is not None else 2


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if item.get_closest_marker("faults") is not None:
            item.add_marker(pytest.mark.exclusive)
    if getattr(config, "workerinput", None) is not None:
        items.sort(key=_run_order)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    lock = item.config.stash.get(_run_lock_key, None)
    if lock is None:
        return (yield)
    with lock.held(exclusive=item.get_closest_marker("exclusive") is not None):
        return (yield)


def _missing_service(marker: str) -> str | None:
    if marker == "postgres":
        from django.db import connection

        if connection.vendor != "postgresql":
            return "needs PostgreSQL (row locks are real only there): set DATABASE_URL=postgres://..."
        return None
    if marker == "redis":
        url = os.environ.get("REDIS_URL")
        if not url:
            return "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0"
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            return f"Redis at {url} is unreachable: {exc}"
        return None
    return None


ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if ON_POSTGRES and item.get_closest_marker("sqlite_run") is not None:
        # CI runs the suite on both databases; a slow test whose outcome cannot depend on which one
        # (settings checked in subprocesses of their own, a memory bound of Python code) runs once.
        pytest.skip("does not depend on the database: runs in the embedded-defaults (SQLite) run")
    for marker in ("postgres", "redis"):
        if item.get_closest_marker(marker) is None:
            continue
        reason = _missing_service(marker)
        if reason is None:
            continue
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)


def pytest_report_header(config) -> list[str]:
    db = os.environ.get("DATABASE_URL", "sqlite (default)")
    return [
        f"database: {db.split('@')[-1]}",
        f"redis: {os.environ.get('REDIS_URL') or 'not set (redis tests skip)'}",
        f"REQUIRE_SERVICES={'1' if REQUIRE_SERVICES else '0'}",
    ]


def database_url_for_subprocess() -> str:
    """A DATABASE_URL pointing a child process (worker, gunicorn) at the test database."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor != "postgresql":
        raise RuntimeError("a child process can share the test database only on PostgreSQL")
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def celery_worker_process(tmp_path):
    """Start real Celery worker processes on Redis against the test database.

    Returns a function `start(queue, extra_env=None, concurrency=1)` that launches
    `celery -A config worker` consuming only `queue` (unique per test, so a stray
    worker on the same Redis cannot steal the messages) and waits until it is
    ready. Every worker started is stopped at teardown. Needs the `postgres`
    and `redis` markers on the test.
    """
    import subprocess
    import sys
    import time
    import uuid

    procs: list[subprocess.Popen] = []

    def start(queue: str, extra_env: dict | None = None, concurrency: int = 1) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url_for_subprocess(),
            "DEBUG": "1",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            **(extra_env or {}),
        }
        log = tmp_path / f"worker-{len(procs)}.log"
        name = f"test-{uuid.uuid4().hex[:8]}@%h"
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
                name,
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
            ],
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{log.read_text()}")
            if " ready." in log.read_text():
                return proc
            time.sleep(0.2)
        raise RuntimeError(f"celery worker did not become ready:\n{log.read_text()}")

    yield start

    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def celery_via_broker(celery_worker_process):
    """Send every task of this test through the real broker to a private queue and a real worker.

    Returns `start(extra_env=None, concurrency=1)`, which launches the worker
    (see `celery_worker_process`) and switches this process from eager mode to
    publishing on that worker's queue; both are restored at teardown.
    """
    import uuid

    from config.celery import app

    queue = f"test-{uuid.uuid4().hex}"
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)

    def start(extra_env: dict | None = None, concurrency: int = 1):
        # Tasks the worker itself enqueues go to the same private queue.
        env = {"CELERY_TASK_DEFAULT_QUEUE": queue, **(extra_env or {})}
        proc = celery_worker_process(queue, extra_env=env, concurrency=concurrency)
        app.conf.task_always_eager = False
        app.conf.task_default_queue = queue
        return proc

    yield start
    app.conf.task_always_eager, app.conf.task_default_queue = previous


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free local port that keeps what it receives.

    Yields an object with `.port`, `.messages` (a list of email.message.Message)
    and `.wait_for(count, timeout)`. Point a child process at it with
    EMAIL_URL=smtp://127.0.0.1:<port>.
    """
    import email
    import socket
    import threading
    import time

    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages = []
            self.lock = threading.Lock()

        async def handle_DATA(self, server, session, envelope):
            with self.lock:
                self.messages.append(email.message_from_bytes(envelope.content))
            return "250 Message accepted for delivery"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()

    class Server:
        def __init__(self):
            self.port = port
            self.messages = handler.messages
            self.url = f"smtp://127.0.0.1:{port}"

        def wait_for(self, count: int, timeout: float = 30.0) -> list:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and len(handler.messages) < count:
                time.sleep(0.1)
            return list(handler.messages)

    try:
        yield Server()
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def stripe_server(tmp_path_factory):
    """One localstripe (a fake Stripe API server, config/testing_stripe.py) for the whole test run.

    Started by the first test that asks for it (a run that needs none starts none), on a free
    loopback port, its data in memory only, so concurrent test runs on one machine never meet;
    stopped when the run ends. Yields a `config.testing_stripe.LocalStripe` (`.base_url`, `.log()`).
    Skipped when localstripe is not installed (failed with REQUIRE_SERVICES=1); a server that does
    not start fails the test with its log.
    """
    try:
        import localstripe  # noqa: F401
    except ImportError:
        reason = "needs localstripe (requirements-dev.txt): run `make install`"
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from config.testing_stripe import LocalStripe, LocalStripeError

    server = LocalStripe.start(log_path=tmp_path_factory.mktemp("localstripe") / "localstripe.log")
    try:
        server.wait_ready(timeout=30)
    except LocalStripeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def stripe_settings(settings, stripe_server):
    """The shop's Stripe settings pointed at the suite's localstripe, for this test.

    Returns a `config.testing_stripe.StripeTestAccount`: `.base_url`, the keys (`.secret_key`
    "sk_test_x", `.publishable_key` "pk_test_x", `.webhook_secret` "whsec_test"), `.client()` (a
    stripe.StripeClient), and what a customer's browser would do: `.confirm_setup(client_secret,
    card_number)`, `.authenticate_setup(client_secret, success=True)`,
    `.authenticate_payment(client_secret, success=True)`; `.register_webhook(url, secret=None)`
    sends the server's events to `url` until the test ends.
    """
    from config.csp_policy import content_security_policy
    from config.testing_stripe import StripeTestAccount

    account = StripeTestAccount(stripe_server)
    settings.STRIPE_API_BASE = account.base_url
    settings.STRIPE_SECRET_KEY = account.secret_key
    settings.STRIPE_PUBLISHABLE_KEY = account.publishable_key
    settings.STRIPE_WEBHOOK_SECRET = account.webhook_secret
    settings.STRIPE_ENABLED = True
    settings.STRIPE_JS_URL = f"{account.base_url}/js.stripe.com/v3/"
    settings.CONTENT_SECURITY_POLICY = content_security_policy(
        stripe_enabled=True, stripe_api_base=account.base_url
    )
    yield account
    account.close()


@pytest.fixture
def clock():
    """The shop's clock stopped at T0 (Monday 2 March 2026, 09:00, orders/tests/delays_helpers.py);
    tests move it with `clock.move_to(...)`. A module may define its own."""
    import time_machine

    from orders.tests.delays_helpers import T0

    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a block as if it committed on its own: its on-commit tasks (eager Celery) run at the end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
