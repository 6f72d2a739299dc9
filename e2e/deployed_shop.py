"""The web unit as deployed, for the tests that need it (e2e/test_nginx_gunicorn.py, e2e/test_media.py):
shop-web.service's own command behind the kit's nginx site over TLS, with the settings docs/deploy.md
writes in /etc/shop/shop.env and nothing else in the environment (as systemd starts it).

`deployed_shop(...)` renders the unit and the site, starts gunicorn (production settings: DEBUG off,
USE_X_FORWARDED_PROTO=1, RATELIMIT_IP_META_KEY=HTTP_X_REAL_IP) and nginx in front of it with a
self-signed certificate for localhost, waits until /healthz answers through nginx, and stops both at
the end. gunicorn needs the test database from another process: PostgreSQL, and Redis for its cache.
"""

import os
import shlex
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from deploy.nginx_process import Nginx, free_port, self_signed_certificate
from deploy.render import render_nginx, render_systemd
from e2e.nginx_client import HOST, NginxClient

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class DeployedShop(NginxClient):
    command: list[str] = field(default_factory=list)
    web: subprocess.Popen | None = None
    log: Path | None = None


def unit_environment(unit: str) -> dict:
    """The unit's own Environment= assignments (the EnvironmentFile's, read later, override them)."""
    lines = [
        line.removeprefix("Environment=") for line in unit.splitlines() if line.startswith("Environment=")
    ]
    return dict(word.split("=", 1) for line in lines for word in shlex.split(line))


def unit_command(unit: str, env: dict) -> list[str]:
    """The unit's ExecStart as systemd runs it: words, with $NAME replaced by that variable's words."""
    (line,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    words = []
    for word in shlex.split(line.removeprefix("ExecStart=")):
        words += env.get(word[1:], "").split() if word.startswith("$") else [word]
    return words


@contextmanager
def deployed_shop(
    *, tmp_path: Path, static_root: Path, media_root: Path | None, shop_env: dict
) -> Iterator[DeployedShop]:
    """gunicorn from the rendered shop-web.service behind nginx; `shop_env` adds to (or overrides) the
    shop.env written here. `media_root`: the folder nginx serves at /media/ (MEDIA_ROOT in shop.env);
    None: media live on the object store (shop_env's MEDIA_STORAGE_URL), nginx serves none."""
    from conftest import database_url_for_subprocess

    web_port, https_port, http_port = free_port(), free_port(), free_port()
    cert, key = self_signed_certificate(tmp_path, HOST)
    # /etc/shop/shop.env as docs/deploy.md writes it, for this machine's test run.
    env_file = {
        "SECRET_KEY": "a-test-key-" + "x" * 56,
        "ALLOWED_HOSTS": HOST,
        "SHOP_BASE_URL": f"https://{HOST}:{https_port}",
        "USE_X_FORWARDED_PROTO": "1",
        "RATELIMIT_IP_META_KEY": "HTTP_X_REAL_IP",
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "STATIC_ROOT": str(static_root),
        "MEDIA_ROOT": str(media_root or tmp_path / "media"),
        "SHOP_CACHE_NAMESPACE": os.environ["SHOP_CACHE_NAMESPACE"],  # this test's page-cache keys
        **shop_env,
    }
    unit = render_systemd(root=ROOT, env_dir=tmp_path, bind=f"127.0.0.1:{web_port}")["shop-web.service"]
    assert unit_environment(unit) == {"BIND_HOST": "127.0.0.1", "PORT": str(web_port)}
    environment = {**unit_environment(unit), **env_file}
    command = unit_command(unit, environment)
    log = tmp_path / "gunicorn.log"
    web = subprocess.Popen(
        command,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **environment},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    nginx = None
    try:
        site = render_nginx(
            server_name=HOST,
            upstreams=[f"127.0.0.1:{web_port}"],
            static_root=static_root,
            media_root=media_root,
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
        deadline = time.monotonic() + 30
        while shop.https("GET", "/healthz").status != 200:
            if web.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer through nginx:\n{log.read_text()}")
            time.sleep(0.2)
        yield shop
    finally:
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGKILL)  # the group this function started, and only it
            web.wait(timeout=10)
        if nginx is not None:
            nginx.stop()
