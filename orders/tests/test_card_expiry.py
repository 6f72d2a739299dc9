"""Card holds in their last day are released, and the parcel is charged off-session instead, once.

localstripe never expires an authorization: the clock is moved with time-machine, and where Stripe
would refuse to capture a hold past its life, the SDK boundary says so in that test only.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from inventory.services import stock_adjust
from orders import stripe_api
from orders.models import CardCharge, ChargePurpose, ChargeStatus, OrderEvent, PaymentTransaction
from orders.selectors.payments_reconcile import card_charges_at_stripe, payment_differences
from orders.services import OrderActionError, order_ship, stock_arrived_process
from orders.services.card_expiry import card_authorizations_release_expiring
from orders.tasks import card_authorizations_renew
from shop.tests.factories import VariantFactory

from .cards import card_place
from .helpers import allow_backorders, give_stock

pytestmark = pytest.mark.django_db(transaction=True)

ZERO = Decimal("0")
EXPIRED_MESSAGE = "hold expired; charged at shipment instead"


@pytest.fixture
def goods(db):
    in_stock = VariantFactory(price=Decimal("20.00"))
    waiting = VariantFactory(price=Decimal("30.00"))
    warehouse = give_stock(in_stock, 5)
    allow_backorders(waiting)
    return in_stock, waiting, warehouse


def later(days: float, hours: float = 0):
    return time_machine.travel(timezone.now() + timedelta(days=days, hours=hours), tick=True)


def sums(payment):
    payment.refresh_from_db()
    return (
        payment.amount_authorized,
        payment.amount_captured,
        payment.amount_voided,
        payment.amount_refunded,
    )


def assert_reconciled():
    assert payment_differences().differences == []
    assert card_charges_at_stripe() == []


def test_a_ship_together_hold_past_six_days_is_released_and_the_parcel_charged_once(stripe_settings, goods):
    in_stock, waiting, warehouse = goods
    order = card_place(stripe_settings, [(in_stock, 1), (waiting, 1)], policy="together").order
    payment = order.payment
    held = Decimal("20.00") + order.shipping_cost
    (hold,) = payment.charges.all()
    assert hold.status == ChargeStatus.AUTHORIZED and hold.amount == held

    with later(days=5, hours=23):  # more than a day left: kept
        assert card_authorizations_renew() == 0
    hold.refresh_from_db()
    assert hold.status == ChargeStatus.AUTHORIZED

    with later(days=6, hours=1):  # its last day: let go, twice asked, once done
        assert card_authorizations_renew() == 1
        assert card_authorizations_renew() == 0
    hold.refresh_from_db()
    assert hold.status == ChargeStatus.RELEASED and hold.amount_released == held
    assert stripe_settings.client().v1.payment_intents.retrieve(hold.stripe_id).status == "canceled"
    assert sums(payment) == (held, ZERO, held, ZERO)
    voids = PaymentTransaction.objects.filter(payment=payment, kind="void")
    assert [(v.amount, v.success, v.message) for v in voids] == [(held, True, EXPIRED_MESSAGE)]
    (note,) = OrderEvent.objects.filter(order=order, data__card_charge=hold.pk)
    assert note.visible_to_customer is False and "released before it expired" in note.message
    assert_reconciled()

    # The waiting unit arrives (a fresh hold of its own), then everything ships together.
    with later(days=8):
        stock_adjust(variant_id=waiting.pk, warehouse_id=warehouse.pk, quantity_change=1)
        stock_arrived_process(variant_ids=[waiting.pk])
        allocation = CardCharge.objects.get(purpose=ChargePurpose.ALLOCATION)
        assert allocation.status == ChargeStatus.AUTHORIZED and allocation.amount == Decimal("30.00")
        shipment = order_ship(order_id=order.pk)
        assert card_authorizations_renew() == 0

    assert shipment.amount == Decimal("50.00") + order.shipping_cost
    (charged,) = CardCharge.objects.filter(purpose=ChargePurpose.SHIPMENT)
    assert charged.amount == held and charged.status == ChargeStatus.CAPTURED  # off-session, once
    allocation.refresh_from_db()
    assert allocation.status == ChargeStatus.CAPTURED and allocation.amount_captured == Decimal("30.00")
    # Authorized: the released hold, the allocation's and the shipment's charge; captured: the parcel.
    assert sums(payment) == (held + Decimal("30.00") + held, shipment.amount, held, ZERO)
    assert_reconciled()


def test_goods_that_shipped_were_captured_and_are_left_alone(stripe_settings, goods):
    in_stock, _, _ = goods
    order = card_place(stripe_settings, [(in_stock, 2)]).order
    order_ship(order_id=order.pk)

    with later(days=6, hours=12):
        assert card_authorizations_release_expiring().released == []

    (charge,) = order.payment.charges.all()
    assert charge.status == ChargeStatus.CAPTURED and charge.amount_released == ZERO
    assert not PaymentTransaction.objects.filter(kind="void").exists()
    assert_reconciled()


def test_a_hold_stripe_will_not_capture_stops_the_parcel_until_it_is_released(
    stripe_settings, goods, monkeypatch
):
    in_stock, _, _ = goods
    order = card_place(stripe_settings, [(in_stock, 1)]).order
    held = Decimal("20.00") + order.shipping_cost

    def refused(intent_id, *, amount, key):  # what Stripe answers for a hold it has let go
        raise stripe_api.StripeDeclined(
            "This PaymentIntent could not be captured.", code="payment_intent_unexpected_state"
        )

    monkeypatch.setattr(stripe_api, "payment_intent_capture", refused)
    with later(days=6, hours=12):
        with pytest.raises(OrderActionError, match="could not be captured"):
            order_ship(order_id=order.pk)
        assert not order.shipments.exists() and sums(order.payment) == (held, ZERO, ZERO, ZERO)

        assert card_authorizations_release_expiring().released == [order.payment.charges.get().pk]
        shipment = order_ship(order_id=order.pk)  # nothing held any more: charged off-session

    assert shipment.amount == held
    assert CardCharge.objects.filter(purpose=ChargePurpose.SHIPMENT, amount=held).count() == 1
    assert sums(order.payment) == (held + held, held, held, ZERO)
    assert_reconciled()


def test_a_hold_stripe_already_let_go_is_recorded_released(stripe_settings, goods):
    in_stock, _, _ = goods
    order = card_place(stripe_settings, [(in_stock, 1)]).order
    (hold,) = order.payment.charges.all()
    stripe_settings.client().v1.payment_intents.cancel(hold.stripe_id)  # Stripe expired it first

    with later(days=6, hours=12):
        assert card_authorizations_release_expiring().released == [hold.pk]

    (void,) = PaymentTransaction.objects.filter(kind="void")
    assert (
        void.message == "hold expired at Stripe; charged at shipment instead" and void.amount == hold.amount
    )
    assert_reconciled()


def test_stripe_unreachable_leaves_the_hold_for_the_next_run(stripe_settings, goods, monkeypatch):
    in_stock, _, _ = goods
    order = card_place(stripe_settings, [(in_stock, 1)]).order
    (hold,) = order.payment.charges.all()

    def unreachable(intent_id, *, key):
        raise stripe_api.StripeUnavailable("connection refused")

    with later(days=6, hours=12):
        with monkeypatch.context() as patched:
            patched.setattr(stripe_api, "payment_intent_cancel", unreachable)
            run = card_authorizations_release_expiring()
        assert (run.released, run.refused) == ([], [hold.pk])
        hold.refresh_from_db()
        assert hold.status == ChargeStatus.AUTHORIZED and sums(order.payment)[2] == ZERO
        assert not PaymentTransaction.objects.filter(kind="void").exists()

        assert card_authorizations_release_expiring().released == [hold.pk]
    assert_reconciled()
