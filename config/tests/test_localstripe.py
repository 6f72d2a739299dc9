"""What localstripe (the suite's and `make run`'s fake Stripe) does with the calls the shop makes.

The shop's payment code is written against Stripe's API and tested against localstripe: these tests
pin down the behaviour it relies on, through the official SDK (stripe.StripeClient) and through the
browser's side (`stripe_settings`, what Stripe.js would post). They also cover the wiring around
it: `manage.py localstripe` (the Procfile's stripe process) and the fixture's own server.
"""

import hashlib
import hmac
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import stripe

from config.testing_stripe import CARD_EXPIRY, _keep_store_in, loopback_address, webhook_url
from shop.management.commands.localstripe import localstripe_plan

# No database, or subprocesses with settings of their own: the same on either database (conftest.py).
pytestmark = pytest.mark.sqlite_run

BASE_DIR = Path(__file__).resolve().parents[2]

GOOD = "4242424242424242"
DECLINED = "4000000000000002"  # declined when it is saved (SetupIntent)
AUTHENTICATE = "4000002500003155"  # 3-D Secure: the customer must confirm with the bank
DECLINED_LATER = "4000000000000341"  # saved fine, declined when charged


def saved_card(account, card_number: str) -> tuple[str, str]:
    """(customer id, payment method id) of a card saved through a SetupIntent, as the checkout does."""
    client = account.client()
    customer = client.v1.customers.create(params={"email": "alice@example.com"})
    setup = client.v1.setup_intents.create(
        params={"customer": customer.id, "usage": "off_session", "payment_method_types": ["card"]}
    )
    confirmed = account.confirm_setup(setup.client_secret, card_number)
    if confirmed.get("status") == "requires_action":
        confirmed = account.authenticate_setup(setup.client_secret)
    assert confirmed["status"] == "succeeded", confirmed
    return customer.id, confirmed["payment_method"]


# --- saving a card (SetupIntent) --------------------------------------------------------------


def test_a_good_card_is_saved(stripe_settings):
    client = stripe_settings.client()
    customer = client.v1.customers.create(params={"email": "alice@example.com"})
    setup = client.v1.setup_intents.create(
        params={"customer": customer.id, "usage": "off_session", "payment_method_types": ["card"]}
    )
    assert setup.status == "requires_payment_method"
    assert setup.client_secret.startswith(f"{setup.id}_secret_")

    confirmed = stripe_settings.confirm_setup(setup.client_secret, GOOD)

    assert confirmed["status"] == "succeeded"
    assert confirmed["next_action"] is None
    assert client.v1.setup_intents.retrieve(setup.id).status == "succeeded"
    card = client.v1.payment_methods.retrieve(confirmed["payment_method"])
    assert (card.type, card.card.last4, card.card.exp_month, card.card.exp_year) == (
        "card",
        "4242",
        CARD_EXPIRY["exp_month"],
        CARD_EXPIRY["exp_year"],
    )


def test_a_declined_card_is_refused_when_saved(stripe_settings):
    client = stripe_settings.client()
    customer = client.v1.customers.create(params={"email": "alice@example.com"})
    setup = client.v1.setup_intents.create(params={"customer": customer.id, "payment_method_types": ["card"]})

    confirmed = stripe_settings.confirm_setup(setup.client_secret, DECLINED)

    assert confirmed["error"]["code"] == "card_declined"
    assert confirmed["error"]["message"] == "Your card was declined."
    assert client.v1.setup_intents.retrieve(setup.id).status == "canceled"


def test_a_3d_secure_card_is_saved_once_the_customer_authenticates(stripe_settings):
    client = stripe_settings.client()
    customer = client.v1.customers.create(params={"email": "alice@example.com"})
    setup = client.v1.setup_intents.create(params={"customer": customer.id, "payment_method_types": ["card"]})

    confirmed = stripe_settings.confirm_setup(setup.client_secret, AUTHENTICATE)

    assert confirmed["status"] == "requires_action"
    assert confirmed["next_action"]["type"] == "use_stripe_sdk"
    authenticated = stripe_settings.authenticate_setup(setup.client_secret)
    assert authenticated["status"] == "succeeded"
    assert client.v1.setup_intents.retrieve(setup.id).status == "succeeded"


def test_a_3d_secure_card_is_not_saved_when_the_customer_fails_to_authenticate(stripe_settings):
    client = stripe_settings.client()
    setup = client.v1.setup_intents.create(params={"payment_method_types": ["card"]})
    assert stripe_settings.confirm_setup(setup.client_secret, AUTHENTICATE)["status"] == "requires_action"

    failed = stripe_settings.authenticate_setup(setup.client_secret, success=False)

    assert failed["status"] == "canceled"


def test_the_setup_confirmation_needs_the_intents_own_client_secret(stripe_settings):
    client = stripe_settings.client()
    setup = client.v1.setup_intents.create(params={"payment_method_types": ["card"]})

    confirmed = stripe_settings.confirm_setup(f"{setup.id}_secret_not-this-one", GOOD)

    assert "error" in confirmed
    assert client.v1.setup_intents.retrieve(setup.id).status == "requires_payment_method"


# --- charging (PaymentIntent) -----------------------------------------------------------------


def test_a_saved_card_is_authorized_then_captured_in_part_then_refunded(stripe_settings):
    client = stripe_settings.client()
    customer, card = saved_card(stripe_settings, GOOD)

    intent = client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "eur",
            "customer": customer,
            "payment_method": card,
            "capture_method": "manual",
            "confirm": True,
            "off_session": True,
        }
    )
    assert intent.status == "requires_capture"

    captured = client.v1.payment_intents.capture(intent.id, params={"amount_to_capture": 3000})
    assert captured.status == "succeeded"
    # localstripe sends latest_charge as the whole Charge (Stripe itself: its id, unless expanded).
    assert isinstance(captured.latest_charge, stripe.Charge)
    charge = client.v1.charges.retrieve(captured.latest_charge.id)
    # localstripe records a partial capture as the whole amount charged and the rest refunded
    # (Stripe itself: amount_captured 3000, amount_refunded 0): compare the money kept, not the fields.
    assert (charge.amount, charge.captured, charge.amount_refunded) == (5000, True, 2000)

    refund = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000})
    assert (refund.status, refund.amount, refund.charge) == ("succeeded", 1000, charge.id)
    assert client.v1.charges.retrieve(charge.id).amount_refunded == 3000


def test_an_authorization_is_cancelled(stripe_settings):
    client = stripe_settings.client()
    customer, card = saved_card(stripe_settings, GOOD)
    intent = client.v1.payment_intents.create(
        params={
            "amount": 2000,
            "currency": "eur",
            "customer": customer,
            "payment_method": card,
            "capture_method": "manual",
            "confirm": True,
        }
    )

    cancelled = client.v1.payment_intents.cancel(intent.id)

    assert cancelled.status == "canceled"


def test_a_card_declined_off_session_raises_card_error(stripe_settings):
    client = stripe_settings.client()
    customer, card = saved_card(stripe_settings, DECLINED_LATER)

    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(
            params={
                "amount": 2500,
                "currency": "eur",
                "customer": customer,
                "payment_method": card,
                "confirm": True,
                "off_session": True,
            }
        )

    assert declined.value.code == "card_declined"
    assert declined.value.user_message == "Your card was declined."


def test_a_payment_needing_3d_secure_goes_through_once_the_customer_authenticates(stripe_settings):
    client = stripe_settings.client()
    customer, card = saved_card(stripe_settings, AUTHENTICATE)
    intent = client.v1.payment_intents.create(
        params={
            "amount": 1500,
            "currency": "eur",
            "customer": customer,
            "payment_method": card,
            "capture_method": "manual",
            "confirm": True,
        }
    )
    assert intent.status == "requires_action"

    authenticated = stripe_settings.authenticate_payment(intent.client_secret)

    assert authenticated["status"] == "requires_capture"
    failed_intent = client.v1.payment_intents.create(
        params={
            "amount": 1500,
            "currency": "eur",
            "customer": customer,
            "payment_method": card,
            "confirm": True,
        }
    )
    failed = stripe_settings.authenticate_payment(failed_intent.client_secret, success=False)
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "payment_intent_authentication_failure"


# --- events (webhooks) ------------------------------------------------------------------------


class Receiver(BaseHTTPRequestHandler):
    received: list

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers["Stripe-Signature"], body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_events_are_posted_signed_as_stripe_signs_them(stripe_settings):
    """The SDK's own check (what the shop's webhook view runs) accepts localstripe's signature."""
    received = []
    handler = type("Handler", (Receiver,), {"received": received})
    receiver = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        stripe_settings.register_webhook(f"http://127.0.0.1:{receiver.server_port}/payments/stripe/webhook/")
        customer, card = saved_card(stripe_settings, GOOD)
        intent = stripe_settings.client().v1.payment_intents.create(
            params={
                "amount": 700,
                "currency": "eur",
                "customer": customer,
                "payment_method": card,
                "confirm": True,
            }
        )
        deadline = time.monotonic() + 10  # localstripe waits a second before it posts
        expected = (b'"payment_intent.succeeded"', intent.id.encode())
        while time.monotonic() < deadline and not any(
            all(x in body for x in expected) for _, body in received
        ):
            time.sleep(0.05)
    finally:
        receiver.shutdown()
        receiver.server_close()

    # An event goes to every webhook registered when it is posted: earlier tests' events come too.
    events = [
        stripe.Webhook.construct_event(body, sig, stripe_settings.webhook_secret) for sig, body in received
    ]
    ours = [(event.type, event.data.object.id) for event in events if event.data.object.id == intent.id]
    assert ours == [("payment_intent.succeeded", intent.id)]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(received[0][1], received[0][0], "whsec_someone_else")


def test_the_signature_is_stripes_scheme():
    """t=<timestamp>,v1=<HMAC-SHA256 of "<timestamp>.<payload>"> (what the test above receives)."""
    payload, secret, timestamp = b'{"id": "evt_1"}', "whsec_test", int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()

    event = stripe.Webhook.construct_event(payload, f"t={timestamp},v1={mac}", secret)

    assert event.id == "evt_1"


# --- the test fixture's server ----------------------------------------------------------------


def test_the_test_server_is_private_to_this_run(stripe_server):
    """On a loopback port of its own, its data in memory only (no --store)."""
    host, port = loopback_address(stripe_server.base_url)

    assert host == "127.0.0.1"
    assert f"localstripe: listening on 127.0.0.1:{port}" in stripe_server.log()
    assert "--store" not in stripe_server.process.args


def test_the_store_goes_to_its_own_file_or_nowhere(tmp_path, monkeypatch):
    """Instead of localstripe's /tmp/localstripe.pickle, shared by every server on the machine."""
    from localstripe import resources

    for name in ("try_load_from_disk", "dump_to_disk"):
        monkeypatch.setattr(resources.Store, name, getattr(resources.Store, name))  # restored after
    store_file = tmp_path / "store.pickle"

    _keep_store_in(store_file)
    store = resources.Store()
    store["customer:cus_1"] = {"email": "kept@example.com"}
    reloaded = resources.Store()
    reloaded.try_load_from_disk()
    assert dict(reloaded) == {"customer:cus_1": {"email": "kept@example.com"}}

    _keep_store_in(None)
    monkeypatch.setattr("pickle.dump", lambda *args, **kwargs: pytest.fail("memory only, yet pickled"))
    store["customer:cus_2"] = {"email": "not-kept@example.com"}
    empty = resources.Store()
    empty.try_load_from_disk()
    assert dict(empty) == {}


def test_stripe_settings_point_the_shop_at_the_server(stripe_settings, settings):
    policy = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]

    assert settings.STRIPE_ENABLED is True
    assert stripe_settings.base_url == settings.STRIPE_API_BASE
    assert f"{stripe_settings.base_url}/js.stripe.com/v3/" == settings.STRIPE_JS_URL
    assert (settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY, settings.STRIPE_WEBHOOK_SECRET) == (
        "sk_test_x",
        "pk_test_x",
        "whsec_test",
    )
    assert policy["script-src"] == ["'self'", stripe_settings.base_url]
    assert policy["connect-src"] == ["'self'", stripe_settings.base_url]


def test_without_stripe_settings_card_payments_are_off(settings):
    """Keys in the developer's environment never reach a test (config/settings.py ignores them)."""
    assert (settings.STRIPE_ENABLED, settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE) == (False, "", "")
    assert settings.PAYMENT_TEST_GATEWAY is True


# --- manage.py localstripe (the Procfile's stripe process) ------------------------------------


@pytest.mark.parametrize(
    ("api_base", "address"),
    [
        ("http://127.0.0.1:8420", ("127.0.0.1", 8420)),
        ("http://localhost:8421/", ("127.0.0.1", 8421)),
        ("http://[::1]:8422", ("::1", 8422)),
        ("http://127.0.0.1", ("127.0.0.1", 80)),
        ("", None),
        ("https://api.stripe.com", None),
        ("http://10.0.0.5:8420", None),
        ("not a url", None),
    ],
)
def test_localstripe_runs_only_for_a_loopback_api_base(api_base, address):
    assert loopback_address(api_base) == address


def test_the_command_says_what_it_runs(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:8420"
    assert localstripe_plan() == (("127.0.0.1", 8420), "localstripe (a fake Stripe) at http://127.0.0.1:8420")

    settings.STRIPE_API_BASE = ""
    settings.STRIPE_ENABLED = True
    assert localstripe_plan() == (None, "using Stripe itself (STRIPE_API_BASE is empty): no local server")

    settings.STRIPE_ENABLED = False
    assert localstripe_plan()[0] is None


def test_the_webhook_url_is_the_shops_own():
    assert webhook_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/payments/stripe/webhook/"
    assert webhook_url("https://shop.example.com/") == "https://shop.example.com/payments/stripe/webhook/"


def test_the_procfile_runs_the_command():
    lines = dict(
        line.split(":", 1) for line in (BASE_DIR / "Procfile").read_text().splitlines() if line.strip()
    )

    assert lines["stripe"].strip() == "exec python manage.py localstripe"


def _command(tmp_path, **env) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "STRIPE_SECRET_KEY": "sk_test_localstripe",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_localstripe",
        "STRIPE_WEBHOOK_SECRET": "whsec_localstripe",
        "SHOP_BASE_URL": "http://127.0.0.1:8011",
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "localstripe", "--store", str(tmp_path / "store.pickle")],
        cwd=BASE_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until(process: subprocess.Popen, text: str, timeout: float = 30) -> str:
    seen = []
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        for line in process.stdout:
            seen.append(line)
            if text in line:
                return "".join(seen)
    finally:
        timer.cancel()
    raise AssertionError(f"{text!r} never came:\n{''.join(seen)}")


def test_the_command_runs_localstripe_registers_the_webhook_and_stops_cleanly_on_ctrl_c(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = _command(tmp_path, STRIPE_API_BASE=f"http://127.0.0.1:{port}")
    try:
        started = _read_until(process, "localstripe ready at")
        client = stripe.StripeClient(
            "sk_test_localstripe", base_addresses={"api": f"http://127.0.0.1:{port}"}
        )
        client.v1.customers.create(params={"email": "kept@example.com"})

        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    finally:
        process.kill()

    output = started + rest
    assert f"localstripe (a fake Stripe) at http://127.0.0.1:{port}" in output
    assert f"localstripe ready at http://127.0.0.1:{port}; its events go to " in output
    assert "http://127.0.0.1:8011/payments/stripe/webhook/" in output
    assert '"POST /_config/webhooks/shop HTTP/1.1" 200' in output
    assert "localstripe stopped." in output
    assert "Traceback" not in output
    assert process.returncode == 0
    assert (tmp_path / "store.pickle").exists()  # kept for the next `make run`


def test_the_command_waits_idle_when_there_is_nothing_to_run(tmp_path):
    process = _command(tmp_path, STRIPE_API_BASE="")
    try:
        started = _read_until(process, "no local server")
        time.sleep(0.2)
        assert process.poll() is None  # honcho would stop every process if this one ended

        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    finally:
        process.kill()

    assert "using Stripe itself (STRIPE_API_BASE is empty): no local server" in started
    assert "Traceback" not in started + rest
    assert process.returncode == 0
