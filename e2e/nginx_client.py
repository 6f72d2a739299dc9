"""What the nginx tests share (e2e/test_nginx.py, e2e/test_nginx_gunicorn.py): the skip without nginx, a
client that connects from a chosen loopback address, and a form's CSRF tokens."""

import http.client
import os
import re
import socket
import ssl
from dataclasses import dataclass
from http.cookies import SimpleCookie

import pytest

from deploy.nginx_process import Nginx, NginxMissing, nginx_binary

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
HOST = "localhost"


def nginx_or_skip() -> None:
    """Skip the test without nginx (`make nginx-deps`); with REQUIRE_SERVICES=1 fail it instead."""
    try:
        nginx_binary()
    except NginxMissing as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but the nginx test {exc}", pytrace=False)
        pytest.skip(str(exc))


@dataclass
class NginxClient:
    """Requests to the kit's nginx on loopback ports, over TLS with the test's certificate or plain HTTP."""

    nginx: Nginx
    https_port: int
    http_port: int
    context: ssl.SSLContext

    @property
    def origin(self) -> str:
        return f"https://{HOST}:{self.https_port}"

    def https(
        self,
        method: str,
        path: str,
        *,
        source: str = "127.0.0.2",
        sni: str = HOST,
        host: str | None = None,
        headers: dict | None = None,
        body: bytes | None = None,
    ) -> http.client.HTTPResponse:
        """One request over TLS from the loopback address `source`; the response, its body read."""
        sock = socket.create_connection(
            ("127.0.0.1", self.https_port), timeout=10, source_address=(source, 0)
        )
        conn = http.client.HTTPConnection("127.0.0.1", self.https_port, timeout=10)
        conn.sock = self.context.wrap_socket(sock, server_hostname=sni)
        conn.request(
            method, path, body=body, headers={"Host": host or f"{HOST}:{self.https_port}", **(headers or {})}
        )
        response = conn.getresponse()
        response.data = response.read()
        conn.close()
        return response

    def http(self, path: str, *, host: str = HOST) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        response.data = response.read()
        conn.close()
        return response


def csrf_from(response: http.client.HTTPResponse) -> tuple[str, str]:
    """The csrftoken cookie and the form's token from a page with a form."""
    cookie = SimpleCookie(response.headers["Set-Cookie"])["csrftoken"]
    assert cookie["secure"] is True
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.data.decode()).group(1)
    return cookie.value, token
