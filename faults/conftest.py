"""Fixtures of the fault tests: a private Redis, the shop's processes, the test process's broker.

The tests are marked `postgres` and `redis` (the suite-wide conftest skips them
without those services, or fails them under REQUIRE_SERVICES=1) and `faults`
(`pytest -m faults` runs only them). The Redis they use is their own
redis-server on a free port, never REDIS_URL's.
"""

import os
import uuid
from contextlib import contextmanager

import pytest

from conftest import REQUIRE_SERVICES, database_url_for_subprocess

from .harness import REDIS_SERVER, Processes, RedisServer, SmtpSink


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own on a free port; stopped at teardown whatever happened."""
    if REDIS_SERVER is None:
        message = "the fault tests start their own redis-server: install Redis (apt-get install redis-server)"
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {message}", pytrace=False)
        pytest.skip(message)
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def shop_processes(tmp_path, private_redis):
    """Start gunicorn and Celery workers on the test database and the private Redis.

    `.gunicorn(extra_env=...)` returns the base URL, `.worker(extra_env=...)`
    the worker's Popen; `.kill(proc)` SIGKILLs a worker's whole process group.
    All are stopped at teardown; their logs are in the test's tmp_path.
    """
    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "faults.settings",
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": private_redis.url,
        "DEBUG": "0",
        "SECRET_KEY": f"faults-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "CELERY_TASK_DEFAULT_QUEUE": "celery",
        "EMAIL_URL": "dummymail://",
        "LOG_LEVEL": "INFO",
        "CONN_MAX_AGE": "60",
    }
    processes = Processes(tmp_path, base_env)
    yield processes
    processes.stop_all()


class ProcessBroker:
    """This test process publishing to the private Redis (not eager), as the web process would."""

    def __init__(self, url: str):
        self.url = url

    @contextmanager
    def publishing(self):
        """Inside: on-commit task hooks of this process publish to the private Redis."""
        from config.celery import app

        saved = {
            key: getattr(app.conf, key) for key in ("broker_url", "task_always_eager", "task_default_queue")
        }
        saved_pools = (app._pool, app.amqp._producer_pool)
        app.conf.broker_url, app.conf.task_always_eager, app.conf.task_default_queue = (
            self.url,
            False,
            "celery",
        )
        app._pool = app.amqp._producer_pool = None
        try:
            yield app
        finally:
            # The private pool stays in kombu's registry (closing it there would break a later swap).
            for key, value in saved.items():
                setattr(app.conf, key, value)
            app._pool, app.amqp._producer_pool = saved_pools

    def send(self, task_name: str, **kwargs) -> None:
        """Send a task by name, as beat does (e.g. a sweep)."""
        with self.publishing() as app:
            app.send_task(task_name, kwargs=kwargs, queue="celery")


@pytest.fixture
def broker(private_redis):
    return ProcessBroker(private_redis.url)


@pytest.fixture
def smtp_sink():
    """A real SMTP server; set `.delay` for slow replies. Point workers at it with EMAIL_URL=sink.url."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()
