"""Render the deploy kit (docs/deploy.md): the nginx site and the systemd units for one machine.

    python -m deploy.render --out /tmp/shop-deploy --server-name shop.example.com \\
        --tls-cert /etc/letsencrypt/live/shop.example.com/fullchain.pem \\
        --tls-key /etc/letsencrypt/live/shop.example.com/privkey.pem \\
        --upstream 10.0.0.11:8000 --upstream 10.0.0.12:8000

writes `<out>/nginx/shop.conf` and `<out>/systemd/*`, to copy into /etc/nginx/sites-available/ and
/etc/systemd/system/. The files in deploy/nginx/ and deploy/systemd/ are Django templates (Django's
template engine on its own, no settings); the test (e2e/test_nginx.py) and `make scale-test` run
nginx with the same template.
"""

import argparse
import re
import sys
from pathlib import Path

from django.template import Context, Engine

DEPLOY_DIR = Path(__file__).resolve().parent
ROOT = DEPLOY_DIR.parent
SYSTEMD_UNITS = [
    "shop.target",
    "shop-web.service",
    "shop-worker@.service",
    "shop-beat.service",
    "shop-localstripe.service",
]
# Written into every service: the processes may write only under var/ (and MEDIA_ROOT when it lives
# elsewhere), see a private /tmp and no home folders, and never gain privileges.
HARDENING = """NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths={paths}
"""


class RenderError(ValueError):
    """A value the kit cannot be rendered with; the message says which and why."""


def _render(template: Path, context: dict) -> str:
    engine = Engine(autoescape=False)
    return engine.from_string(template.read_text()).render(Context(context, autoescape=False, use_l10n=False))


def _absolute(name: str, value: str | Path) -> str:
    path = Path(value)
    if not path.is_absolute():
        raise RenderError(f"{name} must be an absolute path, not {value!r}")
    return str(path).rstrip("/") or "/"


def render_nginx(
    *,
    server_name: str,
    upstreams: list[str],
    static_root: str | Path,
    tls_cert: str | Path,
    tls_key: str | Path,
    media_root: str | Path | None = None,
    media_url: str = "/media/",
    https_port: int = 443,
    http_port: int = 80,
    listen_address: str = "",
    max_upload: str = "32m",
    media_cache_seconds: int = 86400,
    acme_root: str | Path = "/var/www/letsencrypt",
) -> str:
    """The nginx site (deploy/nginx/shop.conf). `media_root` None: media are on the object store.

    `listen_address` empty listens on every address (IPv4 and IPv6); the tests give 127.0.0.1.
    """
    if not upstreams:
        raise RenderError("at least one web node (--upstream host:port) is needed")
    if not server_name.strip():
        raise RenderError("a server name (--server-name shop.example.com) is needed")
    if not re.fullmatch(r"[0-9]+[kKmMgG]?", max_upload):
        raise RenderError(
            f"the upload limit is a size in nginx's units, like 32m or 500k, not {max_upload!r}"
        )
    if not (media_url.startswith("/") and media_url.endswith("/")) or media_url == "/":
        raise RenderError(f"the media URL must look like /media/, not {media_url!r}")
    return _render(
        DEPLOY_DIR / "nginx" / "shop.conf",
        {
            "server_name": server_name.strip(),
            "upstreams": upstreams,
            "static_root": _absolute("the static root", static_root),
            "media_root": _absolute("the media root", media_root) if media_root else "",
            "media_url": media_url,
            "tls_cert": _absolute("the TLS certificate", tls_cert),
            "tls_key": _absolute("the TLS key", tls_key),
            "acme_root": _absolute("the ACME challenge folder", acme_root),
            "https_port": https_port,
            "http_port": http_port,
            "listen_address": listen_address,
            "listen_prefix": f"{listen_address}:" if listen_address else "",
            # The port clients use, when it is not the default one: in redirects and the Host header.
            "public_port": "" if https_port == 443 else f":{https_port}",
            "max_upload": max_upload,
            "media_cache_seconds": media_cache_seconds,
        },
    )


def render_systemd(
    *,
    root: str | Path,
    user: str = "shop",
    group: str | None = None,
    env_dir: str | Path = "/etc/shop",
    bind: str = "127.0.0.1:8000",
    media_root: str | Path | None = None,
    worker_stop_timeout: int = 600,
) -> dict[str, str]:
    """The unit files, by file name (deploy/systemd/). `root` is the checkout with its `.venv`."""
    root = _absolute("the shop's folder (--root)", root)
    env_dir = _absolute("the settings folder (--env-dir)", env_dir)
    bind_host, _, bind_port = bind.rpartition(":")
    if not bind_host or not bind_port.isdigit():
        raise RenderError(f"gunicorn's address is host:port, like 127.0.0.1:8000, not {bind!r}")
    writable = [f"{root}/var"]
    if media_root and not _absolute("the media root", media_root).startswith(f"{root}/var/"):
        writable.append(_absolute("the media root", media_root))
    context = {
        "root": root,
        "user": user,
        "group": group or user,
        "env_dir": env_dir,
        "env_file": f"{env_dir}/shop.env",
        "bind_host": bind_host,
        "bind_port": bind_port,
        "worker_stop_timeout": worker_stop_timeout,
        "hardening": HARDENING.format(paths=" ".join(writable)),
    }
    return {name: _render(DEPLOY_DIR / "systemd" / name, context) for name in SYSTEMD_UNITS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the shop's nginx site and systemd units.")
    parser.add_argument("--out", type=Path, required=True, help="folder to write nginx/ and systemd/ into")
    parser.add_argument("--server-name", required=True, help="public host name(s), e.g. shop.example.com")
    parser.add_argument(
        "--upstream",
        action="append",
        default=[],
        help="a web node's gunicorn, host:port; repeat for several (default 127.0.0.1:8000)",
    )
    parser.add_argument("--root", default="/srv/shop", help="the checkout, with its .venv (/srv/shop)")
    parser.add_argument("--user", default="shop", help="the system user the processes run as (shop)")
    parser.add_argument("--env-dir", default="/etc/shop", help="folder of shop.env (/etc/shop)")
    parser.add_argument("--bind", default="127.0.0.1:8000", help="where this machine's gunicorn listens")
    parser.add_argument("--static-root", help="STATIC_ROOT (default <root>/staticfiles)")
    parser.add_argument(
        "--media-root", help="MEDIA_ROOT served by nginx (default <root>/var/media); omit with --object-store"
    )
    parser.add_argument("--media-url", default="/media/", help="MEDIA_URL as a path (/media/)")
    parser.add_argument(
        "--object-store", action="store_true", help="media live on the object store: nginx serves none"
    )
    parser.add_argument("--tls-cert", required=True, help="certificate chain (fullchain.pem)")
    parser.add_argument("--tls-key", required=True, help="its private key (privkey.pem)")
    parser.add_argument("--max-upload", default="32m", help="largest request body nginx accepts (32m)")
    parser.add_argument(
        "--media-cache-seconds",
        type=int,
        default=86400,
        help="Cache-Control max-age of media: MEDIA_CACHE_SECONDS",
    )
    args = parser.parse_args(argv)

    root = args.root.rstrip("/")
    media_root = None if args.object_store else (args.media_root or f"{root}/var/media")
    try:
        site = render_nginx(
            server_name=args.server_name,
            upstreams=args.upstream or ["127.0.0.1:8000"],
            static_root=args.static_root or f"{root}/staticfiles",
            media_root=media_root,
            media_url=args.media_url,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            max_upload=args.max_upload,
            media_cache_seconds=args.media_cache_seconds,
        )
        units = render_systemd(
            root=root, user=args.user, env_dir=args.env_dir, bind=args.bind, media_root=media_root
        )
    except RenderError as exc:
        print(f"deploy.render: {exc}", file=sys.stderr)
        return 2
    (args.out / "nginx").mkdir(parents=True, exist_ok=True)
    (args.out / "systemd").mkdir(parents=True, exist_ok=True)
    (args.out / "nginx" / "shop.conf").write_text(site)
    for name, text in units.items():
        (args.out / "systemd" / name).write_text(text)
    print(
        f"wrote {args.out / 'nginx' / 'shop.conf'} and {len(units)} systemd units in {args.out / 'systemd'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
