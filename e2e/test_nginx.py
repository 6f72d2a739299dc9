"""Debian's nginx in front of the shop with the deploy kit's site (deploy/nginx/shop.conf, docs/deploy.md).

nginx runs as its own process (deploy/nginx_process.py) on free loopback ports, with a self-signed
certificate for `localhost`, two web nodes upstream (the first one dead, the second the shop in
pytest-django's live-server thread, so the same test runs on SQLite and PostgreSQL), the static files
collectstatic wrote with hashed names, and a media folder. The shop runs with what docs/deploy.md sets
behind nginx: SECURE_SSL_REDIRECT on, X-Forwarded-Proto trusted (USE_X_FORWARDED_PROTO=1), the client
address from X-Real-IP (RATELIMIT_IP_META_KEY=HTTP_X_REAL_IP). Clients connect from 127.0.0.2 and
127.0.0.3 while nginx reaches the shop from 127.0.0.1, so the address the shop throttles by can only
have come from nginx's header. Every request the shop itself handles is recorded (request_started),
so the tests say exactly which requests nginx answered alone.

Skipped without nginx (`make nginx-deps`); with REQUIRE_SERVICES=1 that fails instead.
"""

import http.client
import json
import re
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import request_started
from django.test import override_settings

from deploy.nginx_process import (
    Nginx,
    NginxConfigError,
    free_port,
    nginx_binary,
    self_signed_certificate,
)
from deploy.render import render_nginx
from e2e.nginx_client import HOST, NginxClient, csrf_from, nginx_or_skip
from shop.tests.factories import VariantFactory

# The smallest PNG (one transparent pixel); nginx serves it as it is.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def _needs_nginx():
    nginx_or_skip()


@dataclass
class Seen:
    """What the shop saw of one request it handled."""

    method: str
    path: str
    secure: bool
    host: str
    remote_addr: str
    real_ip: str
    forwarded_for: str
    request_id: str


@dataclass
class ProxiedShop(NginxClient):
    dead_node: str = ""
    live_node: str = ""
    static_root: Path | None = None
    seen: list[Seen] = field(default_factory=list)


@pytest.fixture
def proxied_shop(live_server, static_root, tmp_path):
    cert, key = self_signed_certificate(tmp_path, HOST)
    media_root = tmp_path / "media"
    (media_root / "products").mkdir(parents=True)
    (media_root / "products" / "pixel.png").write_bytes(PNG)
    acme_root = tmp_path / "acme"
    (acme_root / ".well-known" / "acme-challenge").mkdir(parents=True)
    (acme_root / ".well-known" / "acme-challenge" / "token-1").write_text("token-1.thumbprint")

    # Behind nginx, as docs/deploy.md configures the shop.
    behind_nginx = override_settings(
        ALLOWED_HOSTS=[HOST],
        SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),  # USE_X_FORWARDED_PROTO=1
        SECURE_SSL_REDIRECT=True,
        SECURE_HSTS_SECONDS=31536000,
        SECURE_HSTS_INCLUDE_SUBDOMAINS=False,
        SECURE_HSTS_PRELOAD=False,
        CSRF_COOKIE_SECURE=True,
        SESSION_COOKIE_SECURE=True,
        RATELIMIT_IP_META_KEY="HTTP_X_REAL_IP",
        MEDIA_ROOT=str(media_root),
    )
    https_port, http_port, dead_port = free_port(), free_port(), free_port()
    live_node = f"127.0.0.1:{urlsplit(live_server.url).port}"
    dead_node = f"127.0.0.1:{dead_port}"  # nothing listens there
    site = render_nginx(
        server_name=HOST,
        upstreams=[dead_node, live_node],
        static_root=static_root,
        media_root=media_root,
        tls_cert=cert,
        tls_key=key,
        https_port=https_port,
        http_port=http_port,
        listen_address="127.0.0.1",
        max_upload="1m",
        acme_root=acme_root,
    )
    context = ssl.create_default_context(cafile=str(cert))
    nginx = Nginx.start(site=site, folder=tmp_path / "nginx", ports=[https_port, http_port])
    shop = ProxiedShop(
        nginx=nginx,
        https_port=https_port,
        http_port=http_port,
        dead_node=dead_node,
        live_node=live_node,
        static_root=static_root,
        context=context,
    )

    def record(sender, environ, **kwargs):
        request = WSGIRequest(environ)
        shop.seen.append(
            Seen(
                method=request.method,
                path=request.path,
                secure=request.is_secure(),
                host=request.get_host(),
                remote_addr=request.META["REMOTE_ADDR"],
                real_ip=request.META.get("HTTP_X_REAL_IP", ""),
                forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR", ""),
                request_id=request.META.get("HTTP_X_REQUEST_ID", ""),
            )
        )

    request_started.connect(record, dispatch_uid="e2e-nginx")
    try:
        with behind_nginx:
            _reload_middleware(live_server)
            yield shop
    finally:
        _reload_middleware(live_server)
        request_started.disconnect(dispatch_uid="e2e-nginx")
        nginx.stop()


def _reload_middleware(live_server) -> None:
    """The live server (one per session) built its middleware, which reads the security settings once,
    when it started: build it again with the settings in force now."""
    handler = live_server.thread.httpd.get_app()
    while hasattr(handler, "application"):  # the static and media files handlers around Django's
        handler = handler.application
    handler.load_middleware()


def test_pages_through_nginx_see_https_the_client_address_and_survive_a_dead_node(proxied_shop, settings):
    shop = proxied_shop
    variant = VariantFactory(
        product__name="Walnut desk", product__slug="walnut-desk", product__category__slug="desks"
    )
    settings.LOGIN_RATE_PER_IP = "2/h"

    category = shop.https(
        "GET", "/c/desks/", headers={"X-Forwarded-Proto": "http", "X-Forwarded-For": "6.6.6.6"}
    )
    product = shop.https("GET", "/p/walnut-desk/", headers={"X-Real-IP": "6.6.6.6", "X-Request-ID": "mine"})

    # Both 200, not the shop's redirect to HTTPS: it knows the client came over TLS.
    assert (category.status, product.status) == (200, 200)
    assert "Walnut desk" in category.data.decode()
    assert variant.sku in product.data.decode()
    # The shop writes https links (the product's structured data) and sends HSTS, only on secure requests.
    assert f'"url": "https://{HOST}:{shop.https_port}/p/walnut-desk/"' in product.data.decode()
    assert product.headers["Strict-Transport-Security"] == "max-age=31536000"
    # The first request went to the dead node first, then to the next; the dead node is then left alone.
    log = [(entry["uri"], entry["upstream"], entry["upstream_status"]) for entry in logged(shop.nginx, 2)]
    assert log == [
        ("/c/desks/", f"{shop.dead_node}, {shop.live_node}", "502, 200"),
        ("/p/walnut-desk/", shop.live_node, "200"),
    ]

    # A form: the CSRF check passes with the https Origin (it would fail were the shop to think it was
    # served over http), and the login throttle counts by the client's address nginx tells.
    login = shop.https("GET", "/accounts/login/")
    cookie, token = csrf_from(login)
    form = urlencode(
        {"username": "nobody@example.com", "password": "wrong", "csrfmiddlewaretoken": token}
    ).encode()

    def post(*, source: str, origin: str, headers: dict | None = None) -> int:
        return shop.https(
            "POST",
            "/accounts/login/",
            source=source,
            body=form,
            headers={
                "Cookie": f"csrftoken={cookie}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": f"{origin}/accounts/login/",
                **(headers or {}),
            },
        ).status

    assert post(source="127.0.0.2", origin=f"http://{HOST}:{shop.https_port}") == 403  # not counted
    assert [post(source="127.0.0.2", origin=shop.origin) for _ in range(3)] == [200, 200, 429]
    # Another client: its own count, whatever address headers it sends itself.
    spoof = {"X-Real-IP": "127.0.0.2", "X-Forwarded-For": "127.0.0.2"}
    assert post(source="127.0.0.3", origin=shop.origin, headers=spoof) == 200

    # The shop saw every one of these over https, for the host asked, from nginx, with the client's address.
    def through_nginx(method: str, path: str, client: str) -> tuple:
        return (method, path, True, f"{HOST}:{shop.https_port}", "127.0.0.1", client, client)

    seen = [
        (s.method, s.path, s.secure, s.host, s.remote_addr, s.real_ip, s.forwarded_for) for s in shop.seen
    ]
    assert seen == [
        through_nginx("GET", "/c/desks/", "127.0.0.2"),
        through_nginx("GET", "/p/walnut-desk/", "127.0.0.2"),
        through_nginx("GET", "/accounts/login/", "127.0.0.2"),
        *[through_nginx("POST", "/accounts/login/", "127.0.0.2")] * 4,
        through_nginx("POST", "/accounts/login/", "127.0.0.3"),
    ]
    # Each with nginx's own request id (not the one a client sent), the id in nginx's access log.
    logged_ids = [entry["request_id"] for entry in logged(shop.nginx, len(shop.seen))]
    assert [s.request_id for s in shop.seen] == logged_ids
    # ... which the shop takes for its own (its log lines carry it) and sends back.
    assert product.headers["X-Request-ID"] == logged_ids[1]
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in logged_ids)
    assert len(set(logged_ids)) == 8


def test_nginx_alone_serves_files_refuses_large_bodies_redirects_http_and_ignores_other_hosts(proxied_shop):
    shop = proxied_shop
    manifest = json.loads((shop.static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["css/shop.css"]
    assert re.fullmatch(r"css/shop\.[0-9a-f]{12}\.css", hashed)

    # Static files: hashed names cached for a year, the unhashed copies for an hour.
    response = shop.https("GET", f"/static/{hashed}")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Type"] == "text/css"
    assert response.data == (shop.static_root / hashed).read_bytes()
    response = shop.https("GET", "/static/css/shop.css")
    assert (response.status, response.headers["Cache-Control"]) == (200, "public, max-age=3600")
    assert shop.https("GET", "/static/css/missing.0123456789ab.css").status == 404

    # Media: from MEDIA_ROOT, never run as a page.
    response = shop.https("GET", "/media/products/pixel.png")
    assert (response.status, response.headers["Content-Type"], response.data) == (200, "image/png", PNG)
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )

    # A body over the upload limit (1m here) is refused from its Content-Length, before it is sent on.
    conn = http.client.HTTPConnection("127.0.0.1", shop.https_port, timeout=10)
    conn.sock = shop.context.wrap_socket(
        socket.create_connection(("127.0.0.1", shop.https_port)), server_hostname=HOST
    )
    conn.putrequest("POST", "/accounts/login/", skip_host=True)
    conn.putheader("Host", f"{HOST}:{shop.https_port}")
    conn.putheader("Content-Type", "application/octet-stream")
    conn.putheader("Content-Length", str(2 * 1024 * 1024))
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()

    # Plain HTTP: a permanent redirect to the same address over HTTPS; the ACME challenge is answered.
    response = shop.http("/p/walnut-desk/?variant=SKU-1")
    assert (response.status, response.headers["Location"]) == (
        301,
        f"https://{HOST}:{shop.https_port}/p/walnut-desk/?variant=SKU-1",
    )
    response = shop.http("/.well-known/acme-challenge/token-1")
    assert (response.status, response.data) == (200, b"token-1.thumbprint")

    # Another host name: no answer on HTTP, the TLS handshake refused, no answer for its Host header.
    with pytest.raises(http.client.RemoteDisconnected):
        shop.http("/", host="other.example")
    with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
        shop.https("GET", "/", sni="other.example", host="other.example")
    with pytest.raises(http.client.RemoteDisconnected):
        shop.https("GET", "/", host="other.example")

    # None of these reached the shop.
    assert shop.seen == []
    statuses = [(entry["uri"], entry["status"], entry["upstream"]) for entry in logged(shop.nginx, 5)]
    assert statuses == [
        ("/accounts/login/", 413, ""),
        ("/p/walnut-desk/?variant=SKU-1", 301, ""),
        ("/.well-known/acme-challenge/token-1", 200, ""),
        ("/", 444, ""),
        ("/", 444, ""),
    ]


def logged(nginx, lines: int) -> list[dict]:
    """nginx's access log once it holds `lines` lines (or after 10 s): nginx writes a request's line after
    the response has gone out, so the client can read the answer before the line is there."""
    deadline = time.monotonic() + 10
    while len(entries := nginx.access_log()) < lines and time.monotonic() < deadline:
        time.sleep(0.05)
    return entries


@pytest.mark.parametrize("media", ["disk", "object store"])
def test_nginx_accepts_the_site_as_rendered_for_production(media, tmp_path):
    """`nginx -t` on the site `python -m deploy.render` writes: ports 80 and 443 on every IPv4 and IPv6
    address, two web nodes, media from disk or none (the object store)."""
    cert, key = self_signed_certificate(tmp_path, "shop.example.com")
    site = render_nginx(
        server_name="shop.example.com www.shop.example.com",
        upstreams=["10.0.0.11:8000", "10.0.0.12:8000"],
        static_root=tmp_path / "staticfiles",
        media_root=tmp_path / "media" if media == "disk" else None,
        tls_cert=cert,
        tls_key=key,
    )
    output = Nginx.check(site=site, folder=tmp_path / "nginx")
    assert "syntax is ok" in output
    assert "test is successful" in output
    with pytest.raises(NginxConfigError, match='"client_max_body_size" directive invalid value'):
        Nginx.check(
            site=site.replace("client_max_body_size 32m;", "client_max_body_size lots;"), folder=tmp_path
        )


def test_the_site_in_debians_own_nginx_conf_once_its_default_site_is_removed(tmp_path):
    """docs/deploy.md's layout: the site in sites-enabled/ under the package's nginx.conf (a copy, its
    paths moved into `tmp_path`), with Debian's default site removed; left in, nginx refuses both."""
    debian = Path("/etc/nginx")
    if not (debian / "nginx.conf").is_file() or not (debian / "sites-available" / "default").is_file():
        pytest.skip("needs Debian's nginx package files in /etc/nginx")
    etc = tmp_path / "etc"
    shutil.copytree(debian, etc, symlinks=False, ignore=shutil.ignore_patterns("sites-enabled"))
    conf = (debian / "nginx.conf").read_text().replace("/etc/nginx/", f"{etc}/")
    conf = conf.replace("/var/log/nginx/", f"{tmp_path}/").replace("/run/nginx.pid", f"{tmp_path}/nginx.pid")
    (etc / "nginx.conf").write_text(conf)
    (etc / "sites-enabled").mkdir()
    cert, key = self_signed_certificate(tmp_path, "shop.example.com")
    site = render_nginx(
        server_name="shop.example.com",
        upstreams=["127.0.0.1:8000"],
        static_root="/srv/shop/staticfiles",
        media_root="/srv/shop/var/media",
        tls_cert=cert,
        tls_key=key,
    )
    (etc / "sites-available" / "shop.conf").write_text(site)
    (etc / "sites-enabled" / "shop.conf").symlink_to(etc / "sites-available" / "shop.conf")
    (etc / "sites-enabled" / "default").symlink_to(etc / "sites-available" / "default")

    def test() -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(nginx_binary()), "-t", "-c", str(etc / "nginx.conf"), "-e", str(tmp_path / "error.log")],
            capture_output=True,
            text=True,
        )

    result = test()
    assert result.returncode == 1
    assert "a duplicate default server for 0.0.0.0:80" in result.stderr
    (etc / "sites-enabled" / "default").unlink()
    result = test()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
