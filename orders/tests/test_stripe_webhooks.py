"""Stripe's webhook endpoint (orders.views.stripe_webhook, orders.services.stripe_events): signed
events only, each once, out of order harmless; the payments, refunds and disputes it records.

Events are signed here as Stripe (and localstripe) signs them: `t=<time>,v1=<HMAC-SHA256 of
"<time>.<body>" with the endpoint's secret>`. localstripe never sends refunds or disputes, so those
events are built from the objects localstripe holds (a refund's Charge) or by hand (a dispute).
"""

import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from config.testing import run_together
from inventory.services import stock_adjust
from orders.models import (
    CardCharge,
    ChargePurpose,
    ChargeStatus,
    OrderEvent,
    PaymentTransaction,
    StripeEvent,
    TransactionKind,
)
from orders.services import card_payment_amounts, order_ship, stock_arrived_process
from orders.services.cancellation import order_cancel_by_customer
from shop.tests.factories import VariantFactory

from .cards import CARD_3DS, card_place
from .helpers import allow_backorders, give_stock

URL = "/payments/stripe/webhook/"
SECRET = "whsec_test"  # the stripe_settings fixture's


def signature(body: bytes, secret: str = SECRET, at: int | None = None) -> str:
    at = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def event(kind: str, obj: dict, *, event_id: str | None = None) -> dict:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2024-06-20",
        "data": {"object": obj},
    }


def deliver(client: Client, body, *, secret: str = SECRET, header: str | None = None):
    body = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {} if header == "" else {"HTTP_STRIPE_SIGNATURE": header or signature(body, secret)}
    return client.post(URL, data=body, content_type="application/json", **headers)


@pytest.fixture
def webhook_settings(settings):
    """Card payments on, with the endpoint's secret; no Stripe server (events that ask none)."""
    settings.STRIPE_ENABLED = True
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    return settings


@pytest.fixture
def goods(db):
    in_stock = VariantFactory(price=Decimal("20.00"))
    waiting = VariantFactory(price=Decimal("30.00"))
    warehouse = give_stock(in_stock, 5)
    allow_backorders(waiting)
    return in_stock, waiting, warehouse


def intent_of(stripe, intent_id: str) -> dict:
    return stripe.client().v1.payment_intents.retrieve(intent_id).to_dict()


def waiting_charge_needing_3ds(stripe, goods):
    """A card order whose waiting unit got stock: its off-session charge waits for 3-D Secure."""
    _, waiting, warehouse = goods
    order = card_place(stripe, [(waiting, 1)], card=CARD_3DS).order
    stock_adjust(variant_id=waiting.pk, warehouse_id=warehouse.pk, quantity_change=1)
    stock_arrived_process(variant_ids=[waiting.pk])
    charge = CardCharge.objects.get(payment__order=order, purpose=ChargePurpose.ALLOCATION)
    assert charge.status == ChargeStatus.REQUIRES_ACTION and charge.stripe_id
    return order, charge


def authorize_transactions(payment) -> list:
    return list(
        PaymentTransaction.objects.filter(payment=payment, kind=TransactionKind.AUTHORIZE, success=True)
        .order_by("pk")
        .values_list("amount", "gateway_reference")
    )


# --- the endpoint --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_signed_event_is_stored_once_and_an_unknown_type_does_nothing(webhook_settings, client):
    body = event("customer.created", {"id": "cus_1", "object": "customer"}, event_id="evt_unknown")
    response = deliver(client, body)
    assert response.status_code == 200
    assert response.json() == {"received": "evt_unknown", "duplicate": False}
    row = StripeEvent.objects.get()
    assert (row.event_id, row.type, row.payload["data"]["object"]["id"]) == (
        "evt_unknown",
        "customer.created",
        "cus_1",
    )
    assert row.processed_at is not None and row.result == "ignored: not an event the shop acts on"

    again = deliver(client, body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert StripeEvent.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "how",
    ["wrong secret", "no header", "garbled header", "too old", "body changed", "not json", "not an event"],
)
def test_a_delivery_stripe_did_not_sign_is_refused_and_nothing_is_kept(webhook_settings, client, how):
    body = json.dumps(event("charge.refunded", {"id": "ch_1", "object": "charge"})).encode()
    match how:
        case "wrong secret":
            response = deliver(client, body, secret="whsec_other")
        case "no header":
            response = deliver(client, body, header="")
        case "garbled header":
            response = deliver(client, body, header="v1=abc")
        case "too old":
            response = deliver(client, body, header=signature(body, at=int(time.time()) - 3600))
        case "body changed":
            response = deliver(client, body.replace(b"ch_1", b"ch_2"), header=signature(body))
        case "not json":
            response = deliver(client, b"{not json")
        case "not an event":
            response = deliver(client, b"[1, 2]")
    assert response.status_code == 400
    assert StripeEvent.objects.count() == 0


@pytest.mark.django_db
def test_without_a_webhook_secret_every_event_is_refused(webhook_settings, client):
    body = json.dumps(event("customer.created", {"id": "cus_1"})).encode()
    webhook_settings.STRIPE_WEBHOOK_SECRET = ""
    assert deliver(client, body, header=signature(body, secret="")).status_code == 400
    assert StripeEvent.objects.count() == 0


@pytest.mark.django_db
def test_with_card_payments_off_the_endpoint_is_not_there(settings, client):
    settings.STRIPE_ENABLED = False
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    assert deliver(client, event("customer.created", {"id": "cus_1"})).status_code == 404
    assert StripeEvent.objects.count() == 0


@pytest.mark.django_db
def test_only_post_and_no_login_or_csrf_token_needed(webhook_settings):
    client = Client(enforce_csrf_checks=True)
    assert reverse("stripe_webhook") == URL
    assert client.get(URL).status_code == 405
    assert deliver(client, event("customer.created", {"id": "cus_1"})).status_code == 200


# --- payments --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_3ds_finished_away_from_the_shop_is_recorded_once_and_an_older_failure_undoes_nothing(
    stripe_settings, goods, client
):
    order, charge = waiting_charge_needing_3ds(stripe_settings, goods)
    payment = order.payment
    before = authorize_transactions(payment)
    failed = event("payment_intent.payment_failed", intent_of(stripe_settings, charge.stripe_id))

    # The customer confirms with their bank from the emailed link: Stripe now holds the money.
    stripe_settings.authenticate_payment(intent_of(stripe_settings, charge.stripe_id)["client_secret"])
    succeeded = event("payment_intent.succeeded", intent_of(stripe_settings, charge.stripe_id))
    assert deliver(client, succeeded).status_code == 200
    assert deliver(client, succeeded).json()["duplicate"] is True  # Stripe's retry

    charge.refresh_from_db()
    payment.refresh_from_db()
    assert charge.status == ChargeStatus.AUTHORIZED and charge.grace_ends_at is None
    assert payment.amount_authorized == Decimal("30.00")
    assert authorize_transactions(payment) == [*before, (Decimal("30.00"), charge.stripe_id)]
    assert StripeEvent.objects.get(event_id=succeeded["id"]).result == (
        f"{order.number}: charge {charge.pk} authorized (Stripe: requires_capture)"
    )

    # The failure from before the customer confirmed arrives last: it changes nothing.
    assert deliver(client, failed).status_code == 200
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.AUTHORIZED
    assert authorize_transactions(payment) == [*before, (Decimal("30.00"), charge.stripe_id)]
    assert StripeEvent.objects.get(event_id=failed["id"]).result.endswith(
        "already authorized; Stripe says requires_capture"
    )
    assert card_payment_amounts(payment)["authorized"] == payment.amount_authorized


@pytest.mark.django_db(transaction=True)
def test_a_failure_whose_answer_was_lost_marks_the_pending_charge_by_its_key(stripe_settings, goods, client):
    from orders.stripe_api import StripeDeclined, payment_intent_create

    in_stock, _, _ = goods
    order = card_place(stripe_settings, [(in_stock, 1)], card=CARD_3DS).order
    payment = order.payment
    line = order.lines.get()
    charge = CardCharge.objects.create(
        payment=payment,
        order_line=line,
        purpose=ChargePurpose.ALLOCATION,
        key="alloc:lost:1",
        units=1,
        amount=Decimal("20.00"),
    )
    # The call reached Stripe, its answer never reached us (the row has no intent id): a card
    # that needs 3-D Secure, off-session.
    try:
        intent = payment_intent_create(
            amount=2000,
            currency="eur",
            customer=payment.reference,
            payment_method=payment.stripe_payment_method,
            capture_manual=True,
            off_session=True,
            key=charge.key,
            metadata={"charge": charge.key},
        )
        intent_id = intent.id
    except StripeDeclined as exc:
        intent_id = exc.intent_id
    obj = intent_of(stripe_settings, intent_id)
    assert obj["status"] != "requires_capture"
    assert deliver(client, event("payment_intent.payment_failed", obj)).status_code == 200
    charge.refresh_from_db()
    assert charge.status in (ChargeStatus.FAILED, ChargeStatus.REQUIRES_ACTION)
    assert charge.stripe_id == intent_id and charge.grace_ends_at is not None
    assert payment.amount_authorized == Decimal(payment.amount_authorized)


@pytest.mark.django_db(transaction=True)
def test_an_intent_that_is_not_ours_is_stored_with_no_effect(stripe_settings, client):
    obj = {"id": "pi_unknown", "object": "payment_intent", "status": "succeeded", "metadata": {}}
    assert deliver(client, event("payment_intent.succeeded", obj)).status_code == 200
    assert StripeEvent.objects.get().result == "no card charge of ours for pi_unknown"
    assert not CardCharge.objects.exists()


# --- refunds -------------------------------------------------------------------------------------


def charge_refunded_event(stripe, intent_id: str) -> dict:
    """charge.refunded as Stripe sends it: the intent's Charge, with its running total refunded."""
    latest = stripe.client().v1.payment_intents.retrieve(intent_id).latest_charge
    charge = stripe.client().v1.charges.retrieve(latest if isinstance(latest, str) else latest.id)
    return event("charge.refunded", charge.to_dict())


@pytest.mark.django_db(transaction=True)
def test_a_refund_made_in_the_dashboard_is_recorded_once(stripe_settings, goods, client):
    in_stock, _, _ = goods
    order = card_place(stripe_settings, [(in_stock, 2)]).order
    order_ship(order_id=order.pk)  # captures the checkout's hold
    payment = order.payment
    (charge,) = payment.charges.all()
    # Staff refund 5.00 in Stripe's dashboard, not in the shop.
    stripe_settings.client().v1.refunds.create(params={"payment_intent": charge.stripe_id, "amount": 500})
    first = charge_refunded_event(stripe_settings, charge.stripe_id)
    assert deliver(client, first).status_code == 200
    assert deliver(client, first).json()["duplicate"] is True
    # Another event with the same total (Stripe's charge.updated-like resend): nothing new either.
    assert deliver(client, charge_refunded_event(stripe_settings, charge.stripe_id)).status_code == 200

    charge.refresh_from_db()
    payment.refresh_from_db()
    assert charge.amount_refunded == Decimal("5.00") and payment.amount_refunded == Decimal("5.00")
    assert card_payment_amounts(payment)["refunded"] == payment.amount_refunded
    refunds = PaymentTransaction.objects.filter(payment=payment, kind=TransactionKind.REFUND)
    assert [(t.amount, t.success, t.message) for t in refunds] == [
        (Decimal("5.00"), True, "refunded in Stripe's dashboard")
    ]
    (note,) = OrderEvent.objects.filter(order=order, kind="refunded")
    assert note.visible_to_customer is False
    assert (
        note.message
        == "5.00 EUR was refunded in Stripe's dashboard (not by the shop); recorded on the payment."
    )


@pytest.mark.django_db(transaction=True)
def test_a_refund_the_shop_made_itself_is_not_counted_again(stripe_settings, settings, goods, client):
    in_stock, waiting, _ = goods
    settings.PAYMENT_PLAN_DEFAULT = "now"  # everything captured at checkout: a cancellation refunds
    order = card_place(stripe_settings, [(in_stock, 1), (waiting, 1)]).order
    line = order.lines.get(variant=waiting)
    order_cancel_by_customer(order_id=order.pk, quantities={line.pk: 1}, user_id=None)
    payment = order.payment
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("30.00")
    (charge,) = payment.charges.all()

    response = deliver(client, charge_refunded_event(stripe_settings, charge.stripe_id))
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("30.00")
    assert PaymentTransaction.objects.filter(payment=payment, kind=TransactionKind.REFUND).count() == 1
    assert StripeEvent.objects.get().result == (
        f"{order.number}: refunds of charge {charge.pk} already recorded (30.00)"
    )


# --- disputes ------------------------------------------------------------------------------------


def dispute(intent_id: str, **extra) -> dict:
    return {
        "id": "dp_1",
        "object": "dispute",
        "amount": 2000,
        "currency": "eur",
        "charge": "ch_1",
        "payment_intent": intent_id,
        "reason": "fraudulent",
        "status": "needs_response",
        "evidence_details": {"due_by": 1893456000},  # 2030-01-01
        **extra,
    }


@pytest.mark.django_db(transaction=True)
def test_a_dispute_is_shown_to_staff_on_the_order_and_in_the_events_list(
    stripe_settings, goods, client, admin_client, django_assert_max_num_queries
):
    in_stock, _, _ = goods
    order = card_place(stripe_settings, [(in_stock, 1)]).order
    (charge,) = order.payment.charges.all()
    assert deliver(client, event("charge.dispute.created", dispute(charge.stripe_id))).status_code == 200
    closed = dispute(charge.stripe_id, status="lost")
    assert deliver(client, event("charge.dispute.closed", closed)).status_code == 200
    deliver(client, event("customer.created", {"id": "cus_1"}))  # not a dispute

    notes = OrderEvent.objects.filter(order=order, kind="note").order_by("pk")
    assert [(n.message, n.visible_to_customer) for n in notes] == [
        (
            "Disputed: the customer's bank disputes 20.00 EUR (fraudulent); answer in Stripe's "
            "dashboard by 1 January 2030.",
            False,
        ),
        ("Dispute closed: 20.00 EUR (fraudulent), lost.", False),
    ]
    assert order.payment.amount_refunded == 0  # a dispute moves no money of ours

    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert "Disputed: the customer&#x27;s bank disputes 20.00 EUR" in page.content.decode()

    url = reverse("admin:orders_stripeevent_changelist") + "?kind=disputes"
    with django_assert_max_num_queries(8):
        listing = admin_client.get(url)
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 2
    assert {e.type for e in listing.context["cl"].result_list} == {
        "charge.dispute.created",
        "charge.dispute.closed",
    }
    row = StripeEvent.objects.get(type="charge.dispute.created")
    detail = admin_client.get(reverse("admin:orders_stripeevent_change", args=[row.pk]))
    assert detail.status_code == 200 and "dp_1" in detail.content.decode()
    assert admin_client.post(reverse("admin:orders_stripeevent_delete", args=[row.pk])).status_code == 403


# --- two deliveries at once; localstripe delivering for real --------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_event_at_once_have_one_effect(stripe_settings, goods):
    order, charge = waiting_charge_needing_3ds(stripe_settings, goods)
    before = authorize_transactions(order.payment)
    stripe_settings.authenticate_payment(intent_of(stripe_settings, charge.stripe_id)["client_secret"])
    body = json.dumps(
        event("payment_intent.succeeded", intent_of(stripe_settings, charge.stripe_id))
    ).encode()

    responses = run_together([lambda: deliver(Client(), body), lambda: deliver(Client(), body)])

    assert [r.status_code for r in responses] == [200, 200]
    assert sorted(r.json()["duplicate"] for r in responses) == [False, True]
    assert StripeEvent.objects.count() == 1
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.AUTHORIZED
    assert authorize_transactions(order.payment) == [*before, (Decimal("30.00"), charge.stripe_id)]
    order.payment.refresh_from_db()
    assert order.payment.amount_authorized == Decimal("30.00")


# Exclusive: it registers the endpoint within the second localstripe waits before posting, a window
# that other tests' load stretched past (the event went to no endpoint).
@pytest.mark.exclusive
@pytest.mark.django_db(transaction=True)
def test_localstripe_posts_a_payment_to_the_running_shop(stripe_settings, goods, live_server):
    """The real thing: localstripe signs and posts payment_intent.succeeded to the shop's endpoint
    when a parcel's capture goes through (it sends nothing for a hold: a manual capture's intent
    succeeds when captured). The shop recorded the capture itself: the event adds nothing."""
    in_stock, _, _ = goods
    order = card_place(stripe_settings, [(in_stock, 1)]).order
    (charge,) = order.payment.charges.all()
    order_ship(order_id=order.pk)  # captures the hold through the SDK
    # Registered now, within the second localstripe waits before it posts: on SQLite the live
    # server shares this thread's connection, so no request of its may arrive while this thread is
    # inside a transaction (the checkout's or the shipment's).
    stripe_settings.register_webhook(live_server.url + URL)
    payment = order.payment
    payment.refresh_from_db()
    captured = payment.amount_captured
    assert captured == Decimal("20.00") + order.shipping_cost

    deadline = time.monotonic() + 10  # localstripe waits a second before it posts
    row = None
    # Until it is processed: on SQLite the live server shares this thread's connection, so the row can
    # be seen inside the request's transaction, before the same request marks it processed.
    while (row is None or row.processed_at is None) and time.monotonic() < deadline:
        time.sleep(0.1)
        row = StripeEvent.objects.filter(
            type="payment_intent.succeeded", payload__data__object__id=charge.stripe_id
        ).first()
    assert row is not None, stripe_settings.server.log()[-3000:]
    assert row.processed_at is not None
    assert row.result == f"{order.number}: charge {charge.pk} already captured; Stripe says succeeded"
    payment.refresh_from_db()
    assert payment.amount_captured == captured
    assert card_payment_amounts(payment)["captured"] == captured
