"""The one place the shop talks to Stripe: the official SDK, called with the shop's keys.

Every call returns plain values (`Intent`) or raises `StripeDeclined` / `StripeUnavailable`, so the
services above never handle SDK objects or SDK exceptions. Amounts cross this boundary in the
currency's smallest unit (`to_minor` / `from_minor`), computed from `Decimal` prices, never floats.

`settings.STRIPE_API_BASE` points the SDK at another server with Stripe's API: `localstripe` in
`make run` and the tests (docs/payments.md lists what it does differently from Stripe). Every call
that creates or moves money carries an idempotency key made by the caller from its database row,
so a retried call is answered with the first call's result by Stripe.
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import stripe
from django.conf import settings

# Currencies Stripe counts in whole units (https://docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)


class StripeDeclined(Exception):
    """Stripe answered, and said no: a declined card, a failed authentication, a refused capture."""

    def __init__(self, message: str, *, code: str = "", intent_id: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code
        self.intent_id = intent_id


class StripeUnavailable(Exception):
    """Stripe could not be reached or answered with an error of its own: the call may be retried
    with the same idempotency key."""


@dataclass(frozen=True)
class Intent:
    """What the shop needs of a PaymentIntent or SetupIntent."""

    id: str
    status: str
    amount: int = 0  # smallest currency unit
    currency: str = ""
    customer: str = ""
    payment_method: str = ""
    client_secret: str = ""
    error_code: str = ""
    error_message: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def authorized(self) -> bool:
        return self.status in ("requires_capture", "succeeded")

    @property
    def needs_action(self) -> bool:
        return self.status == "requires_action"


def to_minor(amount: Decimal, currency: str) -> int:
    if currency.lower() in ZERO_DECIMAL:
        return int(amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def from_minor(amount: int, currency: str) -> Decimal:
    if currency.lower() in ZERO_DECIMAL:
        return Decimal(amount)
    return (Decimal(amount) / 100).quantize(Decimal("0.01"))


def client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        # A card payment exists but this process has no key (a shell without make run's settings):
        # say so instead of calling Stripe without one.
        raise StripeUnavailable("Stripe is not configured here: set STRIPE_SECRET_KEY (docs/payments.md)")
    options = {}
    if settings.STRIPE_API_BASE:
        options["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, max_network_retries=2, **options)


def _id(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.get("id", "")


def _intent(obj) -> Intent:
    obj = obj.to_dict() if hasattr(obj, "to_dict") else obj
    error = obj.get("last_payment_error") or obj.get("last_setup_error") or {}
    return Intent(
        id=obj["id"],
        status=obj.get("status") or "",
        amount=obj.get("amount") or 0,
        currency=obj.get("currency") or "",
        customer=_id(obj.get("customer")),
        payment_method=_id(obj.get("payment_method")),
        client_secret=obj.get("client_secret") or "",
        error_code=(error.get("code") or "") if error else "",
        error_message=(error.get("message") or "") if error else "",
        metadata=dict(obj.get("metadata") or {}),
    )


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except stripe.CardError as exc:
        error = exc.json_body.get("error", {}) if isinstance(exc.json_body, dict) else {}
        intent = error.get("payment_intent") or {}
        raise StripeDeclined(
            exc.user_message or "Your card was declined.",
            code=exc.code or "card_declined",
            intent_id=_id(intent),
        ) from exc
    except stripe.InvalidRequestError as exc:
        # A request Stripe refuses as it stands (e.g. capturing an intent already cancelled).
        raise StripeDeclined(exc.user_message or str(exc), code=exc.code or "invalid_request") from exc
    except stripe.StripeError as exc:
        raise StripeUnavailable(str(exc)) from exc


# --- customers and saved cards -------------------------------------------------------------------


def customer_create(*, email: str, name: str, key: str) -> str:
    customer = _call(
        client().v1.customers.create,
        params={"email": email, "name": name[:200]} if name else {"email": email},
        options={"idempotency_key": key},
    )
    return customer["id"]


def setup_intent_create(*, customer: str, key: str) -> Intent:
    """A SetupIntent that saves the card the customer enters for charges while they are away."""
    return _intent(
        _call(
            client().v1.setup_intents.create,
            params={"customer": customer, "usage": "off_session", "payment_method_types": ["card"]},
            options={"idempotency_key": key},
        )
    )


def setup_intent_get(intent_id: str) -> Intent:
    return _intent(_call(client().v1.setup_intents.retrieve, intent_id))


# --- payments ------------------------------------------------------------------------------------


def payment_intent_create(
    *,
    amount: int,
    currency: str,
    customer: str,
    payment_method: str,
    capture_manual: bool,
    off_session: bool,
    key: str,
    metadata: dict,
) -> Intent:
    """Create and confirm a payment on a saved card in one call.

    `capture_manual`: an authorization, captured later (at most once, for at most its amount).
    `off_session`: the customer is not on the site (a charge when their stock arrives); the bank
    may refuse or ask for authentication, which is `StripeDeclined` (code `authentication_required`)
    or an intent in `requires_action`.
    """
    params = {
        "amount": amount,
        "currency": currency.lower(),
        "customer": customer,
        "payment_method": payment_method,
        "capture_method": "manual" if capture_manual else "automatic",
        # Cards only: Stripe then needs no return_url to confirm on the server (with its automatic
        # payment methods, a redirecting method could be chosen, and confirming would ask for one).
        "payment_method_types": ["card"],
        "confirm": True,
        "metadata": {k: str(v) for k, v in metadata.items()},
    }
    if off_session:
        params["off_session"] = True
    return _intent(_call(client().v1.payment_intents.create, params=params, options={"idempotency_key": key}))


def payment_intent_get(intent_id: str) -> Intent:
    return _intent(_call(client().v1.payment_intents.retrieve, intent_id))


def payment_intent_capture(intent_id: str, *, amount: int, key: str) -> Intent:
    """Capture `amount` of an authorization; Stripe releases the rest of it at the same time."""
    return _intent(
        _call(
            client().v1.payment_intents.capture,
            intent_id,
            params={"amount_to_capture": amount},
            options={"idempotency_key": key},
        )
    )


def payment_intent_cancel(intent_id: str, *, key: str) -> Intent:
    """Release an authorization that will not be captured."""
    return _intent(_call(client().v1.payment_intents.cancel, intent_id, options={"idempotency_key": key}))


def refund_create(intent_id: str, *, amount: int, key: str) -> str:
    refund = _call(
        client().v1.refunds.create,
        params={"payment_intent": intent_id, "amount": amount},
        options={"idempotency_key": key},
    )
    return refund["id"]


# --- webhooks ------------------------------------------------------------------------------------


def webhook_event(payload: bytes, signature: str) -> dict:
    """The event Stripe signed, as a dict; ValueError when the payload or its signature is not valid."""
    try:
        event = stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except stripe.SignatureVerificationError as exc:
        raise ValueError(f"bad signature: {exc}") from exc
    return event.to_dict() if hasattr(event, "to_dict") else dict(event)
