"""Card orders end to end against localstripe: checkout, stock arriving, the off-session charge,
shipping, cancelling. Exact amounts; the payment's sums agree with its charges."""

from datetime import timedelta
from decimal import Decimal

import pytest

from inventory.services import stock_adjust
from orders.models import CardCharge, ChargePurpose, ChargeStatus, Order
from orders.selectors.payments_reconcile import payment_differences
from orders.services import (
    CheckoutError,
    card_charge_send,
    card_payment_amounts,
    order_ship,
    stock_arrived_process,
)
from orders.services.cancellation import order_cancel_by_customer
from shop.tests.factories import VariantFactory

from .cards import CARD_3DS, CARD_DECLINED, CARD_DECLINES_LATER, card_place
from .helpers import allow_backorders, give_stock

pytestmark = pytest.mark.django_db(transaction=True)


def sums(payment):
    payment.refresh_from_db()
    return {
        "authorized": payment.amount_authorized,
        "captured": payment.amount_captured,
        "voided": payment.amount_voided,
        "refunded": payment.amount_refunded,
    }


def assert_sums_agree(payment):
    assert sums(payment) == card_payment_amounts(payment)
    differences = [d for d in payment_differences().differences if d.payment_id == payment.pk]
    assert differences == []


@pytest.fixture
def goods(db):
    in_stock = VariantFactory(price=Decimal("20.00"))
    waiting = VariantFactory(price=Decimal("30.00"))
    warehouse = give_stock(in_stock, 5)
    allow_backorders(waiting)
    return in_stock, waiting, warehouse


def test_card_checkout_holds_what_ships_now_and_charges_waiting_units_when_stock_arrives(
    stripe_settings, goods
):
    in_stock, waiting, warehouse = goods
    order = card_place(stripe_settings, [(in_stock, 2), (waiting, 1)]).order
    payment = order.payment
    shipping = order.shipping_cost
    assert payment.gateway == "card" and payment.plan == "ship"
    (checkout,) = payment.charges.all()
    assert checkout.purpose == ChargePurpose.CHECKOUT and checkout.status == ChargeStatus.AUTHORIZED
    assert checkout.amount == Decimal("40.00") + shipping
    intent = stripe_settings.client().v1.payment_intents.retrieve(checkout.stripe_id)
    assert intent.status == "requires_capture" and intent.amount == int((Decimal("40.00") + shipping) * 100)

    # The first parcel: the two in-stock units and the shipping, captured from the checkout's hold.
    shipment = order_ship(order_id=order.pk)
    assert shipment.amount == Decimal("40.00") + shipping
    assert sums(payment)["captured"] == Decimal("40.00") + shipping

    # Stock arrives for the waiting unit: the pass sets it aside and writes a pending charge.
    stock_adjust(variant_id=waiting.pk, warehouse_id=warehouse.pk, quantity_change=1)
    stock_arrived_process(variant_ids=[waiting.pk])
    charge = CardCharge.objects.get(purpose=ChargePurpose.ALLOCATION)
    assert charge.amount == Decimal("30.00") and charge.units == 1
    # Sent (the task runs eagerly or not: send it here once, then again: one charge).
    assert card_charge_send(charge.pk) in ("authorized", "skipped")
    assert card_charge_send(charge.pk) == "skipped"
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.AUTHORIZED and charge.stripe_id

    second = order_ship(order_id=order.pk)
    assert second.amount == Decimal("30.00")
    assert sums(payment) == {
        "authorized": Decimal("70.00") + shipping,
        "captured": Decimal("70.00") + shipping,
        "voided": Decimal("0"),
        "refunded": Decimal("0"),
    }
    assert_sums_agree(payment)
    assert Order.objects.get(pk=order.pk).status == "shipped"


def test_everything_waiting_holds_nothing_at_checkout_and_cancelling_gives_nothing_back(
    stripe_settings, goods
):
    _, waiting, _ = goods
    order = card_place(stripe_settings, [(waiting, 2)]).order
    assert order.payment.amount_authorized == 0 and not order.payment.charges.exists()
    line = order.lines.get()
    outcome = order_cancel_by_customer(order_id=order.pk, quantities={line.pk: 2}, user_id=None)
    assert outcome.released.voided == 0 and outcome.released.refunded == 0
    assert_sums_agree(order.payment)


def test_cancelling_an_in_stock_order_releases_the_hold(stripe_settings, goods):
    in_stock, waiting, _ = goods
    order = card_place(stripe_settings, [(in_stock, 1), (waiting, 1)]).order
    waiting_line = order.lines.get(variant=waiting)
    order_cancel_by_customer(order_id=order.pk, quantities={waiting_line.pk: 1}, user_id=None)
    # The in-stock unit still needs its hold: nothing released.
    assert sums(order.payment)["voided"] == 0


def test_declined_card_places_no_order_and_moves_no_stock(stripe_settings, goods):
    in_stock, _, _ = goods
    with pytest.raises(CheckoutError):
        card_place(stripe_settings, [(in_stock, 1)], card=CARD_DECLINED)
    assert not Order.objects.exists()


def test_card_declined_at_charge_places_no_order(stripe_settings, goods):
    in_stock, _, _ = goods
    with pytest.raises(CheckoutError):
        card_place(stripe_settings, [(in_stock, 1)], card=CARD_DECLINES_LATER)
    assert not Order.objects.exists()


def test_three_d_secure_checkout(stripe_settings, goods):
    in_stock, _, _ = goods
    order = card_place(stripe_settings, [(in_stock, 1)], card=CARD_3DS).order
    assert order.payment.amount_authorized == Decimal("20.00") + order.shipping_cost


def test_off_session_decline_keeps_the_stock_and_asks_the_customer(stripe_settings, goods):
    _, waiting, warehouse = goods
    order = card_place(stripe_settings, [(waiting, 1)], card=CARD_DECLINES_LATER).order
    stock_adjust(variant_id=waiting.pk, warehouse_id=warehouse.pk, quantity_change=1)
    stock_arrived_process(variant_ids=[waiting.pk])
    charge = CardCharge.objects.get(purpose=ChargePurpose.ALLOCATION)
    card_charge_send(charge.pk)
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.FAILED and charge.grace_ends_at
    assert order.lines.get().quantity_allocated == 1
    assert order.payment.amount_authorized == 0


# --- plans per backorder policy: deposit, pay now ----------------------------------------------


def test_a_deposit_policy_charges_the_deposit_at_checkout_and_holds_the_balance_when_stock_arrives(
    stripe_settings, goods
):
    in_stock, waiting, warehouse = goods
    waiting.backorder_policy.payment_plan = "deposit"
    waiting.backorder_policy.deposit_percent = 20
    waiting.backorder_policy.save()
    order = card_place(stripe_settings, [(in_stock, 1), (waiting, 1)]).order
    payment = order.payment
    shipping = order.shipping_cost
    assert (payment.plan, payment.deposit_percent) == ("deposit", 20)
    # What ships now, the delivery and 20 % of the waiting 30.00, charged at once.
    assert sums(payment)["captured"] == Decimal("20.00") + shipping + Decimal("6.00")

    order_ship(order_id=order.pk)  # the in-stock unit: paid already, nothing more is taken
    assert sums(payment)["captured"] == Decimal("26.00") + shipping

    stock_adjust(variant_id=waiting.pk, warehouse_id=warehouse.pk, quantity_change=1)
    stock_arrived_process(variant_ids=[waiting.pk])
    balance = CardCharge.objects.get(purpose=ChargePurpose.ALLOCATION)
    assert balance.amount == Decimal("24.00")
    card_charge_send(balance.pk)
    order_ship(order_id=order.pk)
    assert sums(payment) == {
        "authorized": Decimal("50.00") + shipping,
        "captured": Decimal("50.00") + shipping,
        "voided": Decimal("0"),
        "refunded": Decimal("0"),
    }
    assert_sums_agree(payment)


def test_cancelling_a_deposit_item_refunds_its_deposit(stripe_settings, goods):
    _, waiting, _ = goods
    waiting.backorder_policy.payment_plan = "deposit"
    waiting.backorder_policy.deposit_percent = 25
    waiting.backorder_policy.save()
    order = card_place(stripe_settings, [(waiting, 2)]).order
    shipping = order.shipping_cost
    assert sums(order.payment)["captured"] == Decimal("15.00") + shipping  # 25 % of 60.00, and the delivery
    line = order.lines.get()
    outcome = order_cancel_by_customer(order_id=order.pk, quantities={line.pk: 1}, user_id=None)
    assert outcome.released.refunded == Decimal("7.50")
    outcome = order_cancel_by_customer(order_id=order.pk, quantities={line.pk: 1}, user_id=None)
    assert outcome.released.refunded == Decimal("7.50") + shipping  # nothing will ship: the delivery too
    assert sums(order.payment)["refunded"] == Decimal("15.00") + shipping
    assert_sums_agree(order.payment)


def test_the_strictest_policy_decides_a_pay_now_item_makes_the_whole_order_paid_now(stripe_settings, goods):
    in_stock, waiting, _ = goods
    other = VariantFactory(price=Decimal("10.00"))
    allow_backorders(other)  # the shop's default plan: pay when it ships
    waiting.backorder_policy.payment_plan = "now"
    waiting.backorder_policy.save()
    order = card_place(stripe_settings, [(in_stock, 1), (waiting, 1), (other, 1)]).order
    assert order.payment.plan == "now"
    assert sums(order.payment)["captured"] == order.total
    line = order.lines.get(variant=other)
    outcome = order_cancel_by_customer(order_id=order.pk, quantities={line.pk: 1}, user_id=None)
    assert outcome.released.refunded == Decimal("10.00")
    assert_sums_agree(order.payment)


def test_the_checkout_page_states_the_plan_before_place_order(stripe_settings, goods, client):
    _, waiting, _ = goods
    waiting.backorder_policy.payment_plan = "deposit"
    waiting.backorder_policy.deposit_percent = 20
    waiting.backorder_policy.save()
    client.post("/orders/cart/add/", {"variant": waiting.pk, "quantity": 1})
    page = client.get("/orders/checkout/").content.decode()
    assert "a 20% deposit on each backordered item" in page
    assert "We charge €" in page


def test_a_lost_message_is_sent_by_the_sweep_once(stripe_settings, goods, monkeypatch):
    """The worker died with the message (or Redis lost it): the pending row is still there, and the
    sweep sends it, once, however often it runs."""
    import time_machine
    from django.utils import timezone

    from orders import tasks

    _, waiting, warehouse = goods
    order = card_place(stripe_settings, [(waiting, 1)]).order
    monkeypatch.setattr(tasks.card_charges_send, "delay_on_commit", lambda *args, **kwargs: None)
    stock_adjust(variant_id=waiting.pk, warehouse_id=warehouse.pk, quantity_change=1)
    stock_arrived_process(variant_ids=[waiting.pk])
    charge = CardCharge.objects.get(purpose=ChargePurpose.ALLOCATION)
    assert charge.status == ChargeStatus.PENDING  # the message never reached a worker

    assert tasks.card_charges_sweep() == 0  # too young: its message may still be on its way
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert tasks.card_charges_sweep() == 1  # eager here: sent at once
        assert tasks.card_charges_sweep() == 0
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.AUTHORIZED and charge.attempts == 1
    intents = stripe_settings.client().v1.payment_intents.list(params={"limit": 100})
    assert [i.id for i in intents.data if i.metadata.to_dict().get("charge") == charge.key] == [
        charge.stripe_id
    ]
    assert_sums_agree(order.payment)
