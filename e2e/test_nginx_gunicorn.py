"""The web unit as deployed: shop-web.service's own command behind the kit's nginx site, with the settings
docs/deploy.md writes in /etc/shop/shop.env and nothing else in the environment (as systemd starts it).

e2e/test_nginx.py checks the site in front of the in-process live server, whose settings the test sets;
this one runs the ExecStart line of the rendered unit (gunicorn with config/gunicorn.conf.py) in a
clean environment: production settings (DEBUG off, so the HTTPS redirect, secure cookies and HSTS are
on by default), USE_X_FORWARDED_PROTO=1 and RATELIMIT_IP_META_KEY=HTTP_X_REAL_IP read from it. gunicorn
needs the test database from another process: PostgreSQL (and Redis, the cache its throttle uses),
so it runs in CI's second run. Clients connect from loopback addresses chosen at random for the run,
because the throttle counters live in that shared Redis.
"""

import os
import random
import re
import shlex
import signal
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy.nginx_process import Nginx, free_port, self_signed_certificate
from deploy.render import render_nginx, render_systemd
from e2e.nginx_client import HOST, NginxClient, csrf_from, nginx_or_skip
from shop.tests.factories import VariantFactory

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(autouse=True)
def _needs_nginx():
    nginx_or_skip()


@dataclass
class DeployedShop(NginxClient):
    command: list[str] = field(default_factory=list)
    web: subprocess.Popen | None = None
    log: Path | None = None


def _unit_environment(unit: str) -> dict:
    """The unit's own Environment= assignments (the EnvironmentFile's, read later, override them)."""
    lines = [
        line.removeprefix("Environment=") for line in unit.splitlines() if line.startswith("Environment=")
    ]
    return dict(word.split("=", 1) for line in lines for word in shlex.split(line))


def _unit_command(unit: str, env: dict) -> list[str]:
    """The unit's ExecStart as systemd runs it: words, with $NAME replaced by that variable's words."""
    (line,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    words = []
    for word in shlex.split(line.removeprefix("ExecStart=")):
        words += env.get(word[1:], "").split() if word.startswith("$") else [word]
    return words


@pytest.fixture
def deployed_shop(transactional_db, static_root, tmp_path):
    from conftest import database_url_for_subprocess

    web_port, https_port, http_port = free_port(), free_port(), free_port()
    cert, key = self_signed_certificate(tmp_path, HOST)
    # /etc/shop/shop.env as docs/deploy.md writes it, for this machine's test run.
    shop_env = {
        "SECRET_KEY": "a-test-key-" + "x" * 56,
        "ALLOWED_HOSTS": HOST,
        "SHOP_BASE_URL": f"https://{HOST}:{https_port}",
        "USE_X_FORWARDED_PROTO": "1",
        "RATELIMIT_IP_META_KEY": "HTTP_X_REAL_IP",
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "STATIC_ROOT": str(static_root),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "SHOP_CACHE_NAMESPACE": os.environ["SHOP_CACHE_NAMESPACE"],  # this test's page-cache keys
        "LOGIN_RATE_PER_IP": "2/h",
    }
    unit = render_systemd(root=ROOT, env_dir=tmp_path, bind=f"127.0.0.1:{web_port}")["shop-web.service"]
    assert _unit_environment(unit) == {"BIND_HOST": "127.0.0.1", "PORT": str(web_port)}
    environment = {**_unit_environment(unit), **shop_env}
    command = _unit_command(unit, environment)
    log = tmp_path / "gunicorn.log"
    web = subprocess.Popen(
        command,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **environment},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    site = render_nginx(
        server_name=HOST,
        upstreams=[f"127.0.0.1:{web_port}"],
        static_root=static_root,
        media_root=tmp_path / "media",
        tls_cert=cert,
        tls_key=key,
        https_port=https_port,
        http_port=http_port,
        listen_address="127.0.0.1",
    )
    nginx = Nginx.start(site=site, folder=tmp_path / "nginx", ports=[https_port, http_port])

    shop = DeployedShop(
        nginx=nginx,
        https_port=https_port,
        http_port=http_port,
        context=ssl.create_default_context(cafile=str(cert)),
        command=command,
        web=web,
        log=log,
    )
    try:
        deadline = time.monotonic() + 30
        while shop.https("GET", "/healthz").status != 200:
            if web.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer through nginx:\n{log.read_text()}")
            time.sleep(0.2)
        yield shop
    finally:
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGKILL)  # the group this fixture started, and only it
            web.wait(timeout=10)
        nginx.stop()


def test_the_web_unit_behind_nginx_with_the_documented_settings(deployed_shop):
    shop = deployed_shop
    VariantFactory(product__name="Walnut desk", product__slug="walnut-desk", product__category__slug="desks")
    assert shop.command == [
        f"{ROOT}/.venv/bin/gunicorn",
        "-c",
        f"{ROOT}/config/gunicorn.conf.py",
        "config.wsgi",
    ]

    home = shop.https("GET", "/")
    assert home.status == 200  # no redirect loop: the shop trusts nginx's X-Forwarded-Proto
    assert home.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    (logged,) = [entry for entry in shop.nginx.access_log() if entry["uri"] == "/"]
    assert home.headers["X-Request-ID"] == logged["request_id"]  # one id in nginx's log and the shop's
    # The page names collectstatic's hashed file, which nginx serves with the year-long cache.
    stylesheet = re.search(r'href="(/static/css/shop\.[0-9a-f]{12}\.css)"', home.data.decode()).group(1)
    response = shop.https("GET", stylesheet)
    assert (response.status, response.headers["Cache-Control"]) == (
        200,
        "public, max-age=31536000, immutable",
    )
    product = shop.https("GET", "/p/walnut-desk/")
    assert product.status == 200
    assert f'"url": "https://{HOST}:{shop.https_port}/p/walnut-desk/"' in product.data.decode()

    # The login throttle counts by the address nginx tells (LOGIN_RATE_PER_IP=2/h); gunicorn itself
    # sees every request come from 127.0.0.1.
    first, second = (f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{n}" for n in (1, 2))
    login = shop.https("GET", "/accounts/login/", source=first)
    assert login.headers["Set-Cookie"].count("; Secure") == 1
    cookie, token = csrf_from(login)
    form = f"username=nobody&password=wrong&csrfmiddlewaretoken={token}".encode()

    def post(source: str, origin: str = shop.origin, **headers) -> int:
        headers = {
            "Cookie": f"csrftoken={cookie}",
            "Content-Type": "application/x-www-form-urlencoded",
            **headers,
        }
        return shop.https(
            "POST", "/accounts/login/", source=source, body=form, headers={"Origin": origin, **headers}
        ).status

    assert post(first, origin=f"http://{HOST}:{shop.https_port}") == 403
    assert [post(first) for _ in range(3)] == [200, 200, 429]
    assert post(second, **{"X-Real-IP": first, "X-Forwarded-For": first}) == 200

    # systemctl stop: SIGTERM, and gunicorn is gone well within the unit's TimeoutStopSec (40 s).
    started = time.monotonic()
    shop.web.send_signal(signal.SIGTERM)
    assert shop.web.wait(timeout=40) == 0
    assert time.monotonic() - started < 10
    assert "Shutting down: Master" in shop.log.read_text()
