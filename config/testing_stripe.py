"""localstripe, a fake Stripe API server, for `make run` and the test suite.

Two users: the test suite (conftest.py's `stripe_server`, one server per test run on a free port,
nothing kept on disk) and `manage.py localstripe` (the Procfile's stripe process under `make run`,
its customers and payments kept in var/localstripe.pickle across restarts).

Why not plain `python -m localstripe`: it pickles its whole store to /tmp/localstripe.pickle after
every write, one file for every server on the machine, so two test runs (or a test run and
`make run`) would overwrite each other's data; and it listens on every interface ('::'). So
the server runs as `python -m config.testing_stripe --fd N [--store PATH]`: localstripe's
own aiohttp application, its store file replaced (or turned off), on a socket the parent bound on
the loopback interface and hands over, so the port is known, and taken, before the child starts.

The child stops on SIGTERM or SIGINT (twice is fine), and by itself when its parent is gone, so
a killed test run or `make run` leaves no server behind holding its port.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
# Where the shop receives Stripe's events (orders' urls); localstripe posts them there too.
WEBHOOK_PATH = "/payments/stripe/webhook/"
# The id `manage.py localstripe` registers the shop's webhook under (registering again replaces it).
SHOP_WEBHOOK_ID = "shop"
# What a browser's Stripe.js sends for a card (localstripe-v3.js sends the element's values).
CARD_EXPIRY = {"exp_month": 12, "exp_year": 2030, "cvc": "123"}


class LocalStripeError(RuntimeError):
    """localstripe did not start, or refused a configuration call."""


def loopback_address(api_base: str) -> tuple[str, int] | None:
    """(host, port) to run localstripe on when STRIPE_API_BASE names this machine, else None.

    None for an empty base (Stripe itself) and for any other host: the shop is then pointed at a
    Stripe (or a fake one) that someone else runs.
    """
    if not api_base:
        return None
    parts = urlsplit(api_base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if parts.hostname == "localhost":
        return ("127.0.0.1", port)
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None
    return (str(address), port) if address.is_loopback else None


def webhook_url(shop_base_url: str) -> str:
    """The address localstripe posts the shop's events to."""
    return shop_base_url.rstrip("/") + WEBHOOK_PATH


class LocalStripe:
    """A running localstripe process (see the module's docstring); `start()` makes one."""

    def __init__(self, process: subprocess.Popen, base_url: str, log_path: Path | None):
        self.process = process
        self.base_url = base_url
        self.log_path = log_path

    @classmethod
    def start(
        cls,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        store: Path | None = None,
        log_path: Path | None = None,
        from_scratch: bool = False,
    ) -> LocalStripe:
        """Bind host:port (0: a free port), start the server on it; `wait_ready()` waits for it.

        `store`: the file its data is kept in across restarts (None: memory only); `from_scratch`
        forgets what the file holds. Output goes to `log_path`, or to this process's own streams.
        Raises OSError when the port is taken.
        """
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            bound_port = sock.getsockname()[1]
            command = [sys.executable, "-m", "config.testing_stripe", "--fd", str(sock.fileno())]
            if store is not None:
                command += ["--store", str(store)]
            if from_scratch:
                command.append("--from-scratch")
            log: IO[bytes] | None = log_path.open("ab") if log_path is not None else None
            try:
                process = subprocess.Popen(
                    command,
                    cwd=BASE_DIR,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                    pass_fds=[sock.fileno()],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT if log is not None else None,
                )
            finally:
                if log is not None:
                    log.close()
        finally:
            sock.close()  # the child has its own copy
        shown_host = f"[{host}]" if family == socket.AF_INET6 else host
        return cls(process, f"http://{shown_host}:{bound_port}", log_path)

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Return once the server answers; raise LocalStripeError (with its log) if it never does."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise LocalStripeError(
                    f"localstripe exited with code {self.process.returncode} before answering:\n{self.log()}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/js.stripe.com/v3/", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise LocalStripeError(f"localstripe did not answer within {timeout:.0f} s:\n{self.log()}")
            time.sleep(0.05)

    def post(self, path: str, data: dict[str, Any]) -> tuple[int, Any]:
        """POST `data` as JSON (as Stripe.js does); (status, decoded JSON body or None)."""
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(data).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        try:
            return status, json.loads(body) if body else None
        except ValueError:
            return status, body.decode(errors="replace")

    def register_webhook(
        self, url: str, secret: str, *, id: str = SHOP_WEBHOOK_ID, events: list[str] | None = None
    ) -> None:
        """Have localstripe post its events (all, or only `events`) to `url`, signed with `secret`.

        Registering the same `id` again replaces it; `events=[]` turns it off.
        """
        data: dict[str, Any] = {"url": url, "secret": secret}
        if events is not None:
            data["events"] = events
        status, body = self.post(f"/_config/webhooks/{id}", data)
        if status != 200:
            raise LocalStripeError(f"localstripe refused the webhook {url}: {status} {body}")

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait, then SIGKILL; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@dataclass
class StripeTestAccount:
    """A test's Stripe account on the suite's localstripe: its keys, the SDK client, and what a
    customer's browser (Stripe.js, localstripe-v3.js) would send. conftest.py's `stripe_settings`
    returns one, with the shop's settings pointed at it."""

    server: LocalStripe
    secret_key: str = "sk_test_x"
    publishable_key: str = "pk_test_x"
    webhook_secret: str = "whsec_test"
    _webhook_ids: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def client(self):
        """A `stripe.StripeClient` on this account, as the shop's code builds one."""
        import stripe

        return stripe.StripeClient(self.secret_key, base_addresses={"api": self.base_url})

    def confirm_setup(self, client_secret: str, card_number: str) -> dict:
        """What Stripe.js's confirmCardSetup posts for a card typed into the card element.

        Returns the server's JSON: the SetupIntent (`status` "succeeded", or "requires_action" for a
        3-D Secure card: then `authenticate_setup`), or `{"error": {...}}` for a declined card.
        """
        setup_intent = client_secret.split("_secret_")[0]
        _, body = self.server.post(
            f"/v1/setup_intents/{setup_intent}/confirm",
            {
                "key": self.publishable_key,
                "use_stripe_sdk": True,
                "client_secret": client_secret,
                "payment_method_data": {"type": "card", "card": {"number": card_number, **CARD_EXPIRY}},
            },
        )
        return body

    def authenticate_setup(self, client_secret: str, success: bool = True) -> dict:
        """The customer completes (or fails) the 3-D Secure step of a SetupIntent: the server's JSON."""
        setup_intent = client_secret.split("_secret_")[0]
        action = "confirm" if success else "cancel"
        _, body = self.server.post(
            f"/v1/setup_intents/{setup_intent}/{action}",
            {"key": self.publishable_key, "use_stripe_sdk": True, "client_secret": client_secret},
        )
        return body

    def authenticate_payment(self, client_secret: str, success: bool = True) -> dict:
        """The customer completes (or fails) the 3-D Secure step of a PaymentIntent (confirmCardPayment)."""
        payment_intent = client_secret.split("_secret_")[0]
        _, body = self.server.post(
            f"/v1/payment_intents/{payment_intent}/_authenticate?success={'true' if success else 'false'}",
            {"key": self.publishable_key, "client_secret": client_secret},
        )
        return body

    def register_webhook(self, url: str, secret: str | None = None) -> None:
        """Have the server post every event to `url` (e.g. a live server's webhook view), signed with
        `secret` (default: this account's webhook secret); turned off again when the test ends."""
        webhook_id = f"test-{uuid.uuid4().hex}"
        self.server.register_webhook(url, secret or self.webhook_secret, id=webhook_id)
        self._webhook_ids.append(webhook_id)

    def close(self) -> None:
        """Turn off this test's webhooks: the server outlives the test and its live server."""
        if not self._webhook_ids:
            return
        for webhook_id in self._webhook_ids:
            with contextlib.suppress(LocalStripeError, OSError):
                self.server.register_webhook("http://127.0.0.1:9/", "off", id=webhook_id, events=[])
        self._webhook_ids.clear()
        # localstripe posts an event a second after it happens: let a post already on its way land
        # before the next test starts (a live server on SQLite shares the next test's connection).
        time.sleep(1.5)


# --- The child process ------------------------------------------------------------------------


def _keep_store_in(path: Path | None) -> None:
    """Point localstripe's store at `path` instead of /tmp/localstripe.pickle; None: memory only."""
    import pickle

    from localstripe import resources

    store_class = resources.Store
    for name in ("try_load_from_disk", "dump_to_disk"):
        if not callable(getattr(store_class, name, None)):  # localstripe changed: look again
            raise LocalStripeError(f"localstripe.resources.Store has no {name}()")
    if path is None:
        store_class.try_load_from_disk = lambda self: None
        store_class.dump_to_disk = lambda self: None
        return

    def load(self) -> None:
        try:
            with path.open("rb") as f:
                saved = pickle.load(f)
        except FileNotFoundError:
            return
        except Exception as exc:  # noqa: BLE001 - a file from another localstripe version: start empty
            print(f"localstripe: cannot read {path} ({exc}); starting empty", flush=True)
            return
        self.clear()
        self.update(saved)

    def dump(self) -> None:
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as f:
            pickle.dump(dict(self), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)  # a reader never sees half a file

    store_class.try_load_from_disk = load
    store_class.dump_to_disk = dump


def _stripe_js_in_a_block_middleware():
    from aiohttp import web

    @web.middleware
    async def middleware(request, handler):
        """localstripe's Stripe.js stand-in declares `class Element` at the top level of a classic
        script, which replaces the browser's own `Element` for every script of the page (Bootstrap's
        `Element.prototype.querySelectorAll` then fails). Stripe's real Stripe.js declares nothing
        global but `Stripe`. Served inside a block, the class is the script's own, and `Stripe`,
        assigned without a declaration, is still global. (docs/payments.md: what localstripe does
        differently.)"""
        response = await handler(request)
        if request.path == "/js.stripe.com/v3/" and getattr(response, "text", None):
            response.text = "{\n" + response.text + "\n}\n"
        return response

    return middleware


async def _serve(sock: socket.socket, parent_pid: int) -> None:
    import asyncio
    import logging
    import signal

    from aiohttp import web
    from localstripe import server

    access_log = logging.getLogger("aiohttp.access")  # localstripe logs webhook deliveries here too
    access_log.setLevel(logging.INFO)
    access_log.addHandler(logging.StreamHandler(sys.stdout))

    server.app.middlewares.append(_stripe_js_in_a_block_middleware())
    runner = web.AppRunner(server.app, access_log=access_log)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    host, port = sock.getsockname()[:2]
    print(f"localstripe: listening on {host}:{port}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1)
        if os.getppid() != parent_pid:
            print("localstripe: parent gone, stopping", flush=True)
            break
    await runner.cleanup()
    print("localstripe: stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    import asyncio

    parser = argparse.ArgumentParser(description="localstripe on a socket its parent bound")
    parser.add_argument("--fd", type=int, required=True, help="a bound TCP socket to listen on")
    parser.add_argument("--store", type=Path, help="file to keep the data in (default: memory only)")
    parser.add_argument("--from-scratch", action="store_true", help="ignore what --store holds")
    args = parser.parse_args(argv)

    _keep_store_in(args.store)
    if args.store is not None and not args.from_scratch:
        from localstripe import resources

        resources.store.try_load_from_disk()
    sock = socket.socket(fileno=args.fd)
    asyncio.run(_serve(sock, os.getppid()))


if __name__ == "__main__":
    main()
