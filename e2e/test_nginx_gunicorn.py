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

import random
import re
import signal
import time

import pytest

from e2e.deployed_shop import ROOT, deployed_shop
from e2e.helpers import wait_until
from e2e.nginx_client import HOST, csrf_from, nginx_or_skip
from shop.tests.factories import VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture(autouse=True)
def _needs_nginx():
    nginx_or_skip()


@pytest.fixture
def deployed(transactional_db, static_root, tmp_path):
    with deployed_shop(
        tmp_path=tmp_path,
        static_root=static_root,
        media_root=tmp_path / "media",
        shop_env={"LOGIN_RATE_PER_IP": "2/h"},
    ) as shop:
        yield shop


def test_the_web_unit_behind_nginx_with_the_documented_settings(deployed):
    shop = deployed
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
    # nginx writes its access log line as it finishes the request, which may be just after the
    # client has the response (a busy CI run once read the log before it)
    wait_until(
        lambda: any(entry["uri"] == "/" for entry in shop.nginx.access_log()), "nginx logged the request", 10
    )
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
