"""`manage.py localstripe`: the fake Stripe of `make run` (the Procfile's stripe process).

When STRIPE_API_BASE names this machine (make run's default, http://127.0.0.1:8420), it runs
localstripe there (config/testing_stripe.py), its data kept in var/localstripe.pickle, waits until
it answers, and registers the shop's webhook (SHOP_BASE_URL + /payments/stripe/webhook/, signed
with STRIPE_WEBHOOK_SECRET), so payments made on the checkout page come back as events as they
would from Stripe. Otherwise (Stripe itself, or a server someone else runs) it has nothing to run
and waits idle: honcho stops every process as soon as one exits.

SIGTERM and SIGINT (Ctrl+C, honcho stopping) stop it and its server cleanly, exit code 0.
"""

import signal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.testing_stripe import (
    SHOP_WEBHOOK_ID,
    LocalStripe,
    LocalStripeError,
    loopback_address,
    webhook_url,
)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def localstripe_plan() -> tuple[tuple[str, int] | None, str]:
    """(address to run localstripe on, or None; what the command says it does), from the settings."""
    address = loopback_address(settings.STRIPE_API_BASE)
    if address is not None:
        return address, f"localstripe (a fake Stripe) at {settings.STRIPE_API_BASE}"
    if settings.STRIPE_API_BASE:
        return None, f"STRIPE_API_BASE={settings.STRIPE_API_BASE} is not this machine: no local server"
    if settings.STRIPE_ENABLED:
        return None, "using Stripe itself (STRIPE_API_BASE is empty): no local server"
    return None, "card payments are off (no STRIPE_SECRET_KEY / STRIPE_PUBLISHABLE_KEY): no local server"


class Command(BaseCommand):
    help = (
        "Run localstripe when STRIPE_API_BASE is a loopback address and register the shop's webhook "
        "with it; otherwise wait idle (for honcho). Stops on SIGTERM / Ctrl+C."
    )

    requires_system_checks = []  # it reads four settings; the web process runs the checks

    def add_arguments(self, parser):
        parser.add_argument(
            "--store",
            type=Path,
            default=None,
            help="file the server keeps its customers and payments in (default: var/localstripe.pickle)",
        )
        parser.add_argument("--from-scratch", action="store_true", help="forget what the store file holds")

    def handle(self, *args, store: Path | None = None, from_scratch: bool = False, **options):
        address, plan = localstripe_plan()
        self._say(plan)
        if address is None:
            self._wait_for_stop_signal()
            return

        server: LocalStripe | None = None
        stop_requested = []

        def stop(signum, frame):
            stop_requested.append(signum)
            if server is not None and server.process.poll() is None:
                server.process.send_signal(signal.SIGTERM)

        for signum in STOP_SIGNALS:
            signal.signal(signum, stop)

        host, port = address
        store = store or settings.VAR_DIR / "localstripe.pickle"
        store.parent.mkdir(parents=True, exist_ok=True)
        try:
            server = LocalStripe.start(host=host, port=port, store=store, from_scratch=from_scratch)
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {host}:{port} ({exc}): is another localstripe running?"
            ) from exc
        if stop_requested:  # a signal came before there was a server to pass it to
            stop(stop_requested[0], None)
        try:
            server.wait_ready(timeout=30)
            self._register_webhook(server)
        except (LocalStripeError, OSError) as exc:
            server.stop()
            if stop_requested:  # stopped while starting
                return
            raise CommandError(str(exc)) from exc

        returncode = server.process.wait()
        if stop_requested:
            self._say("localstripe stopped.")
            return
        raise CommandError(f"localstripe exited by itself with code {returncode}")

    def _register_webhook(self, server: LocalStripe) -> None:
        if not settings.STRIPE_WEBHOOK_SECRET:
            self._say(
                self.style.WARNING("STRIPE_WEBHOOK_SECRET is empty: no webhook registered, no events sent")
            )
            return
        url = webhook_url(settings.SHOP_BASE_URL)
        server.register_webhook(url, settings.STRIPE_WEBHOOK_SECRET, id=SHOP_WEBHOOK_ID)
        self._say(f"localstripe ready at {server.base_url}; its events go to {url}")

    def _say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()  # honcho reads a pipe: show each line as it happens

    def _wait_for_stop_signal(self) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        signal.sigwait(STOP_SIGNALS)
