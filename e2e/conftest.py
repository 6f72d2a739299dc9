"""Browser tests: Debian's Chromium, driven by Playwright, against the shop running for real.

Each test gets its own running shop (`live_shop`): gunicorn with production settings (DEBUG=0,
collected static files served by WhiteNoise, the Content-Security-Policy) on a free local port, a
Celery worker on Redis consuming a private queue, both on the PostgreSQL test database, and an
SMTP server that keeps what it receives. The browser (`browser_session`) opens pages in separate
contexts (a guest, a member of staff), records every CSP violation and JavaScript error, and
saves a screenshot of every open page to test-results/ when the test fails.

`any_live_shop` is the same shop where PostgreSQL and Redis are there, and the shop in this
process (pytest-django's live-server thread, eager tasks) on SQLite, so a test using it runs in
both CI runs (test_shop_journey.py).

Mark a test `browser` (with `postgres` and `redis` if it uses `live_shop`): without Chromium at
CHROMIUM_PATH (default /usr/bin/chromium), the playwright package or axe-core (node_modules/), it
is skipped with the command that installs them, `make browser-deps`; with REQUIRE_SERVICES=1 it
fails.
"""

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
RESULTS_DIR = ROOT / "test-results"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# Without the networking flags Chromium keeps calling Google's hosts, which this machine refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Reports each `securitypolicyviolation` event to Python (the binding survives navigations; an init
# script is injected by the browser itself, so the page's own policy does not apply to it).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__e2eCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline code"} `
    + `(${event.sourceFile || event.documentURI}:${event.lineNumber})`
  );
});
"""


def _missing_browser() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "needs the playwright package: run `make install`"
    if not os.access(CHROMIUM, os.X_OK):
        return f"needs Chromium at {CHROMIUM}: run `make browser-deps` as root (apt-get install chromium)"
    if not AXE_JS.is_file():
        return f"needs axe-core at {AXE_JS.relative_to(ROOT)}: run `make browser-deps` (npm ci)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("browser") is None:
        return
    reason = _missing_browser()
    if reason is None:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but the browser test {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """Keep each phase's report on the test item, so fixtures know at teardown whether it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(request.node, f"report_{when}", None) is not None
        and getattr(request.node, f"report_{when}").failed
        for when in ("setup", "call")
    )


def _results_dir(request: pytest.FixtureRequest) -> Path:
    path = RESULTS_DIR / re.sub(r"[^\w.-]+", "_", request.node.nodeid)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the shop, running ---------------------------------------------------------------------------


# collectstatic with the production settings, less WhiteNoise's gzip/brotli copies: the manifest of
# hashed names (what DEBUG=0 pages link to) is the same, and brotli at its best quality costs tens
# of CPU seconds per session. The server still uses CompressedManifestStaticFilesStorage and serves
# the plain files.
COLLECTSTATIC = """
import django
from django.conf import settings
from django.core.management import call_command

django.setup()
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
call_command("collectstatic", "--noinput", "-v0")
"""


@pytest.fixture(scope="session")
def static_root(request, tmp_path_factory) -> Path:
    """`collectstatic` once per session into a temporary STATIC_ROOT (hashed names and manifest); in a
    parallel run (pytest -n), once for all the workers, by the first that needs it."""
    if not hasattr(request.config, "workerinput"):
        return _collectstatic(tmp_path_factory.mktemp("static"))
    from conftest import run_folder

    folder = run_folder(request.config)
    root = folder / "static"
    with open(folder / "static.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait for the first one's files
        if not (root / "staticfiles.json").is_file():
            _collectstatic(root)
    return root


def _collectstatic(root: Path) -> Path:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "0", "STATIC_ROOT": str(root)}
    result = subprocess.run(
        [sys.executable, "-c", COLLECTSTATIC], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise RuntimeError(f"collectstatic failed:\n{result.stdout}{result.stderr}")
    return root


def subject_of(message) -> str:
    """The Subject header decoded (a non-ASCII subject, e.g. German, travels RFC 2047-encoded)."""
    return str(make_header(decode_header(message["Subject"])))


@dataclass
class LiveShop:
    url: str
    mailbox: object  # the smtp_server fixture's server
    queue: str

    def wait_for_mail(self, *, to: str, subject: str, timeout: float = 60.0):
        """The first message to `to` whose subject contains `subject`, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            for message in list(self.mailbox.messages):
                if message["To"] == to and subject in subject_of(message):
                    return message
            if time.monotonic() > deadline:
                seen = [(m["To"], subject_of(m)) for m in self.mailbox.messages]
                raise AssertionError(f"no email to {to} about {subject!r} within {timeout} s; got {seen}")
            time.sleep(0.1)


@pytest.fixture
def live_shop(transactional_db, celery_via_broker, smtp_server, static_root, tmp_path, request):
    """Returns `start()`: call it once the test's data is in the database.

    It starts a Celery worker on a private Redis queue, then gunicorn (two processes, DEBUG=0)
    publishing to that queue; both use the test database and send mail to `smtp_server`, and
    links in emails point at the gunicorn port. Stopped at teardown; their logs are copied to
    test-results/ when the test failed.
    """
    from config.celery import app

    procs: list[subprocess.Popen] = []

    def start() -> LiveShop:
        from conftest import database_url_for_subprocess

        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        shared = {
            "EMAIL_URL": smtp_server.url,
            "SHOP_BASE_URL": url,
            # Delay emails go out as soon as a slip is found (no quiet period to wait out).
            "DELAY_NOTIFY_QUIET_MINUTES": "0",
        }
        celery_via_broker(extra_env=shared)
        queue = app.conf.task_default_queue
        env = {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        env.update(
            shared,
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=database_url_for_subprocess(),
            CELERY_TASK_DEFAULT_QUEUE=queue,
            CELERY_TASK_ALWAYS_EAGER="0",
            DEBUG="0",
            STATIC_ROOT=str(static_root),
            # Production settings, less what needs HTTPS: the test server speaks plain HTTP.
            SECURE_SSL_REDIRECT="0",
            SESSION_COOKIE_SECURE="0",
            CSRF_COOKIE_SECURE="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            # Every test logs in from 127.0.0.1; the throttles are tested in config/tests.
            LOGIN_RATE_PER_IP="1000/m",
            LOGIN_RATE_PER_USERNAME="1000/m",
        )
        log = tmp_path / "gunicorn.log"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /healthz:\n{log.read_text()}")
            time.sleep(0.1)
        return LiveShop(url=url, mailbox=smtp_server, queue=queue)

    yield start

    for proc in procs:
        proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: nothing is left to finish
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    if _failed(request):
        for log in tmp_path.glob("*.log"):
            shutil.copy(log, _results_dir(request) / log.name)


@pytest.fixture
def any_live_shop(request, transactional_db, smtp_server, settings):
    """Returns `start()` -> LiveShop on whichever database this run has, so one journey runs in both of
    CI's runs.

    With PostgreSQL and a reachable Redis (CI's second run; REQUIRE_SERVICES=1 insists on them) it
    is `live_shop`: gunicorn with production settings and a real Celery worker. Otherwise (SQLite,
    CI's first run) gunicorn cannot share pytest's in-memory test database, so the shop runs in this
    process, in pytest-django's `live_server` thread (test settings, static files from the finders),
    tasks run eagerly inside the request that enqueues them, and emails go through SMTP to the same
    real `smtp_server`. Links in emails point at whichever server runs; delay emails have no quiet
    period in either case.
    """
    from conftest import _missing_service

    missing = [reason for marker in ("postgres", "redis") if (reason := _missing_service(marker))]
    if REQUIRE_SERVICES and missing:
        pytest.fail(f"REQUIRE_SERVICES=1 but {'; '.join(missing)}", pytrace=False)
    if not missing:
        return request.getfixturevalue("live_shop")

    def start() -> LiveShop:
        server = request.getfixturevalue("live_server")
        url = server.url
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost", "127.0.0.1"]
        settings.SHOP_BASE_URL = url
        settings.DELAY_NOTIFY_QUIET_MINUTES = 0
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        # a_staff_member() stores a PBKDF2 hash (what gunicorn's production settings check); the test
        # settings hash with MD5 only.
        settings.PASSWORD_HASHERS = [
            *settings.PASSWORD_HASHERS,
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        ]
        from config.celery import app

        assert app.conf.task_always_eager, "the in-process shop needs the test settings' eager tasks"
        return LiveShop(url=url, mailbox=smtp_server, queue="(eager: tasks run in the server thread)")

    return start


# --- the browser ---------------------------------------------------------------------------------


@dataclass
class BrowserSession:
    """Pages opened in one Chromium, with what went wrong in them."""

    browser: object
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    pages: dict[str, object] = field(default_factory=dict)

    def new_page(self, name: str, *, base_url: str, ignore_https_errors: bool = False):
        """A page in a fresh context (its own cookies), watched for CSP violations and script errors.

        Same-origin `/__e2e__/axe.min.js` is served from node_modules by the browser itself, so the
        accessibility checks load axe-core as an ordinary script the shop's policy allows.
        `ignore_https_errors`: accept a test's self-signed certificate (the shop behind nginx).
        """
        context = self.browser.new_context(base_url=base_url, ignore_https_errors=ignore_https_errors)
        context.set_default_timeout(15_000)
        context.route(
            f"{base_url}/__e2e__/axe.min.js",
            lambda route: route.fulfill(path=str(AXE_JS), content_type="application/javascript"),
        )
        context.expose_binding(
            "__e2eCspViolation", lambda source, text: self.csp_violations.append(f"[{name}] {text}")
        )
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.on("console", lambda message: self._console(name, page, message))
        page.on("pageerror", lambda error: self.page_errors.append(f"[{name}] {page.url}: {error}"))
        self.pages[name] = page
        return page

    def _console(self, name: str, page, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_violations.append(f"[{name}] {page.url}: console {message.type}: {message.text}")

    def assert_clean(self) -> None:
        """No page broke the Content-Security-Policy or threw a JavaScript error."""
        assert self.csp_violations == []
        assert self.page_errors == []


@pytest.fixture
def browser_session(monkeypatch, request):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)  # CI machines are busy: give pages time, fail within seconds anyway

    # Playwright's sync API keeps an asyncio loop on this thread, and Django's ORM refuses to run
    # where it sees one. The test only talks to its own database from here, so this is safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        session = BrowserSession(browser=browser)
        try:
            yield session
        finally:
            if _failed(request):
                folder = _results_dir(request)
                for name, page in session.pages.items():
                    try:
                        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
                    except Exception as exc:  # a crashed page must not hide the test's own failure
                        (folder / f"{name}.screenshot-error.txt").write_text(str(exc))
                (folder / "browser-problems.txt").write_text(
                    "\n".join(session.csp_violations + session.page_errors)
                )
            browser.close()
            # While Playwright's loop runs, Django keeps this thread's connections in a context
            # variable, apart from the ones pytest-django closes: close them here, or the test
            # database cannot be dropped at the end of the session.
            from django.db import connections

            connections.close_all()
