"""nginx as a foreground process with the shop's site (deploy/nginx/shop.conf), for the tests and `make scale-test`.

`Nginx.start(site, folder)` writes a top-level nginx.conf into `folder` around the rendered site (pid
file, logs, temporary folders all inside `folder`; the Debian package's mime.types), runs
`nginx -g 'daemon off;'` in its own process group, and waits until the ports answer. Its access log
(`folder/access.log`) is one JSON object a request: the time, nginx's request id (the X-Request-ID the
shop is sent), status, and which web node answered.
"""

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MIME_TYPES = Path("/etc/nginx/mime.types")
ACCESS_LOG_FORMAT = (
    '{"msec":$msec,"request_id":"$request_id","request_time":$request_time,"method":"$request_method",'
    '"uri":"$request_uri",'
    '"status":$status,"upstream":"$upstream_addr","upstream_status":"$upstream_status"}'
)
MAIN_CONF = """# Written by deploy/nginx_process.py for a test run; the site below is deploy/nginx/shop.conf.
{user}
worker_processes {workers};
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    include {mime_types};
    default_type application/octet-stream;
    sendfile on;
    log_format shop_json escape=json '{log_format}';
    access_log {folder}/access.log shop_json;
    client_body_temp_path {folder}/tmp/body;
    proxy_temp_path {folder}/tmp/proxy;
    fastcgi_temp_path {folder}/tmp/fastcgi;
    uwsgi_temp_path {folder}/tmp/uwsgi;
    scgi_temp_path {folder}/tmp/scgi;

    include {folder}/site.conf;
}}
"""


class NginxMissing(RuntimeError):
    """No nginx binary here; the message says how to install it."""


class NginxConfigError(RuntimeError):
    """`nginx -t` refused the configuration; the message is its output."""


def _write_conf(*, site: str, folder: Path, workers: int) -> None:
    """`folder`/nginx.conf (MAIN_CONF) including `folder`/site.conf, and the temporary folders."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tmp").mkdir(exist_ok=True)
    (folder / "site.conf").write_text(site)
    # nginx started by root runs its workers as `nobody`, who cannot read a test's private folders:
    # the workers run as whoever runs the test.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        MAIN_CONF.format(
            user=user, workers=workers, folder=folder, mime_types=MIME_TYPES, log_format=ACCESS_LOG_FORMAT
        )
    )


def nginx_binary() -> Path:
    """The nginx to run: NGINX_PATH, else the one on PATH, else Debian's /usr/sbin/nginx."""
    candidates = [os.environ.get("NGINX_PATH"), shutil.which("nginx"), "/usr/sbin/nginx"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise NginxMissing(
        "needs nginx (Debian package): run `make nginx-deps` as root (apt-get install nginx), "
        "or point NGINX_PATH at one"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed_certificate(folder: Path, host: str = "localhost") -> tuple[Path, Path]:
    """A certificate for `host` (and 127.0.0.1) with its key, made by the openssl command: (cert, key)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={host}"]
        + ["-addext", f"subjectAltName=DNS:{host},IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass
class Nginx:
    proc: subprocess.Popen
    folder: Path

    @classmethod
    def check(cls, *, site: str, folder: Path) -> str:
        """`nginx -t` on `site` inside the same top-level nginx.conf; its output. Raises NginxConfigError."""
        binary = nginx_binary()
        _write_conf(site=site, folder=folder, workers=1)
        result = subprocess.run(
            [
                str(binary),
                "-t",
                "-p",
                str(folder),
                "-c",
                str(folder / "nginx.conf"),
                "-e",
                str(folder / "error.log"),
            ],
            capture_output=True,
            text=True,
        )
        output = result.stdout + result.stderr
        if result.returncode:
            raise NginxConfigError(output)
        return output

    @classmethod
    def start(
        cls, *, site: str, folder: Path, ports: list[int], workers: int = 1, timeout: float = 15
    ) -> "Nginx":
        """Run nginx with `site` (a rendered deploy/nginx/shop.conf); wait until `ports` accept connections."""
        binary = nginx_binary()
        _write_conf(site=site, folder=folder, workers=workers)
        log = (folder / "nginx.out").open("w")
        proc = subprocess.Popen(
            [
                str(binary),
                "-p",
                str(folder),
                "-c",
                str(folder / "nginx.conf"),
                "-e",
                str(folder / "error.log"),
            ]
            + ["-g", "daemon off;"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        server = cls(proc=proc, folder=folder)
        deadline = time.monotonic() + timeout
        waiting = list(ports)
        while waiting:
            if proc.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"nginx did not start:\n{server.errors()}")
            try:
                socket.create_connection(("127.0.0.1", waiting[0]), timeout=1).close()
                waiting.pop(0)
            except OSError:
                time.sleep(0.05)
        return server

    def errors(self) -> str:
        text = ""
        for name in ("nginx.out", "error.log"):
            path = self.folder / name
            if path.exists():
                text += path.read_text()
        return text

    def access_log(self) -> list[dict]:
        """Every request nginx logged so far, oldest first."""
        path = self.folder / "access.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        """SIGQUIT: finish the requests in flight, then exit (SIGKILL to its group after 10 s)."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the group this object started, and only it
            self.proc.wait(timeout=5)
