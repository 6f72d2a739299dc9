"""config/gunicorn.conf.py is the one truth about the web process: gunicorn reads its environment
variables, the Procfile and the docs start gunicorn with it, and nothing else names a worker class."""

import os
import re
import runpy
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

# No database, or subprocesses with settings of their own: the same on either database (conftest.py).
pytestmark = pytest.mark.sqlite_run

ROOT = Path(__file__).resolve().parents[2]
CONF = "config/gunicorn.conf.py"


def _gunicorn(*args: str, env: dict) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", CONF, *args, "config.wsgi"]


def _printed_config(env: dict) -> dict[str, str]:
    done = subprocess.run(
        _gunicorn("--print-config", env=env),
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(re.findall(r"^(\w+)\s+= (.*)$", done.stdout, flags=re.MULTILINE))


def test_gunicorn_reads_each_variable_from_the_config_file():
    config = _printed_config(
        {
            "BIND_HOST": "0.0.0.0",
            "PORT": "8123",
            "WEB_CONCURRENCY": "3",
            "WEB_THREADS": "5",
            "WEB_TIMEOUT": "40",
            "WEB_GRACEFUL_TIMEOUT": "20",
            "FORWARDED_ALLOW_IPS": "10.0.0.1,10.0.0.2",
        }
    )

    assert {key: config[key] for key in ("bind", "workers", "worker_class", "threads")} == {
        "bind": "['0.0.0.0:8123']",
        "workers": "3",
        "worker_class": "gthread",
        "threads": "5",
    }
    assert (config["timeout"], config["graceful_timeout"]) == ("40", "20")
    assert config["forwarded_allow_ips"] == "['10.0.0.1', '10.0.0.2']"


def test_the_defaults(monkeypatch):
    for name in (
        "BIND_HOST",
        "PORT",
        "WEB_CONCURRENCY",
        "WEB_THREADS",
        "WEB_TIMEOUT",
        "WEB_GRACEFUL_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)

    config = runpy.run_path(str(ROOT / CONF))

    assert (config["bind"], config["workers"], config["threads"]) == ("127.0.0.1:8000", 2, 4)
    assert (config["timeout"], config["graceful_timeout"], config["worker_class"]) == (30, 30, "gthread")
    assert config["forwarded_allow_ips"] == "127.0.0.1,::1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_started_with_it_gunicorn_runs_that_many_gthread_workers(tmp_path):
    log = tmp_path / "gunicorn.log"
    env = {**os.environ, "PORT": str(_free_port()), "WEB_CONCURRENCY": "2", "WEB_THREADS": "2"}
    with log.open("w") as out:
        proc = subprocess.Popen(_gunicorn(env=env), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and log.read_text().count("Booting worker") < 2:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        text = log.read_text()
        assert "Using worker: gthread" in text
        assert text.count("Booting worker") == 2
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_procfile_and_the_docs_start_gunicorn_with_it_and_name_no_other_worker_class():
    procfile = (ROOT / "Procfile").read_text()
    operations = (ROOT / "docs" / "operations.md").read_text()
    readme = (ROOT / "README.md").read_text()

    [web] = [line for line in procfile.splitlines() if line.startswith("web:")]
    assert web == "web: exec gunicorn -c config/gunicorn.conf.py config.wsgi"
    assert "gunicorn -c config/gunicorn.conf.py config.wsgi" in operations
    for text in (procfile, operations, readme):
        assert "--worker-class" not in text and "--threads" not in text and "gunicorn config.wsgi" not in text
