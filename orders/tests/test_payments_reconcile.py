"""payments_reconcile: every plan's cancellation gives back exactly what it should (at Stripe too),
the check is clean after all of them, and it names the order whose row was tampered with."""

import uuid
from decimal import Decimal

import pytest
from django.db.models import F

from inventory.services import stock_adjust
from orders.management.commands.payments_reconcile import Command
from orders.models import CardCharge, ChargePurpose, ChargeStatus, Order, Payment
from orders.selectors.payments_reconcile import payment_differences, payment_sums
from orders.services import card_payment_amounts, order_place, order_ship, stock_arrived_process
from orders.services.cancellation import order_cancel_backordered, order_cancel_by_customer
from shop.tests.factories import VariantFactory

from .cards import card_place
from .helpers import ADDRESS, allow_backorders, give_stock, place

pytestmark = pytest.mark.django_db(transaction=True)

ZERO = Decimal("0")


def reconcile(capsys, *args) -> tuple[int, str]:
    """Run the command as `manage.py payments_reconcile` runs it: its exit status and its output."""
    try:
        Command().run_from_argv(["manage.py", "payments_reconcile", "--skip-checks", *args])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out + out.err


def sums(payment) -> dict[str, Decimal]:
    payment.refresh_from_db()
    return {
        "authorized": payment.amount_authorized,
        "captured": payment.amount_captured,
        "voided": payment.amount_voided,
        "refunded": payment.amount_refunded,
    }


def intent(stripe, charge):
    return stripe.client().v1.payment_intents.retrieve(charge.stripe_id)


def refunds_at_stripe(stripe, charge) -> list[int]:
    listed = stripe.client().v1.refunds.list(params={"payment_intent": charge.stripe_id})
    return sorted(refund["amount"] for refund in listed.data)


def assert_clean(capsys, *args):
    code, out = reconcile(capsys, *args)
    assert code == 0, out
    assert out.startswith("0 differences: "), out
    for payment in Payment.objects.filter(gateway="card"):
        assert sums(payment) == card_payment_amounts(payment)
    return out


@pytest.fixture
def goods(db):
    in_stock = VariantFactory(price=Decimal("20.00"))
    waiting = VariantFactory(price=Decimal("30.00"))
    warehouse = give_stock(in_stock, 10)
    allow_backorders(waiting, backorder_discount_percent=Decimal("10"))  # a waiting unit: 27.00
    return in_stock, waiting, warehouse


def place_paid_by(gateway, items):
    return order_place(
        items=[(variant.pk, qty) for variant, qty in items],
        email="ada@example.com",
        address=ADDRESS,
        shipping_method="standard",
        ship_policy="split",
        payment_method=gateway,
        card_number="4242 4242 4242 4242",
        accept_backorder_terms=True,
        idempotency_key=uuid.uuid4().hex,
    ).order


def arrive(variant, warehouse, units):
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=units)
    stock_arrived_process(variant_ids=[variant.pk])


# --- pay when it ships ---------------------------------------------------------------------------


def test_ship_plan_cancelling_waiting_units_releases_nothing_the_parcel_still_needs(
    stripe_settings, goods, capsys
):
    in_stock, waiting, _ = goods
    order = card_place(stripe_settings, [(in_stock, 2), (waiting, 1)]).order
    shipping = order.shipping_cost
    (hold,) = order.payment.charges.all()

    outcome = order_cancel_by_customer(
        order_id=order.pk, quantities={order.lines.get(variant=waiting).pk: 1}, user_id=None
    )

    # A waiting unit holds nothing under this plan: nothing to give back, the parcel's hold stays.
    assert (outcome.released.voided, outcome.released.refunded, outcome.released.unreleased) == (
        ZERO,
        ZERO,
        ZERO,
    )
    held = intent(stripe_settings, hold)
    assert held.status == "requires_capture" and held.amount == int((Decimal("40.00") + shipping) * 100)
    order_ship(order_id=order.pk)
    assert sums(order.payment) == {
        "authorized": Decimal("40.00") + shipping,
        "captured": Decimal("40.00") + shipping,
        "voided": ZERO,
        "refunded": ZERO,
    }
    assert intent(stripe_settings, hold).status == "succeeded"
    out = assert_clean(capsys, "--stripe")
    assert "1 card" in out and "at Stripe" in out


def test_ship_plan_cancel_after_the_allocation_charge(stripe_settings, goods, capsys):
    in_stock, waiting, warehouse = goods
    order = card_place(stripe_settings, [(in_stock, 1), (waiting, 2)]).order
    shipping = order.shipping_cost
    arrive(waiting, warehouse, 1)
    allocation = CardCharge.objects.get(purpose=ChargePurpose.ALLOCATION)
    assert allocation.status == ChargeStatus.AUTHORIZED and allocation.amount == Decimal("27.00")
    assert_clean(capsys, "--stripe")

    line = order.lines.get(variant=waiting)
    outcome = order_cancel_backordered(order_id=order.pk, quantities={line.pk: 1})

    assert outcome == ZERO  # the allocated unit and the in-stock one still need their holds
    assert sums(order.payment)["voided"] == ZERO
    assert intent(stripe_settings, allocation).status == "requires_capture"
    order_ship(order_id=order.pk)
    assert sums(order.payment) == {
        "authorized": Decimal("47.00") + shipping,
        "captured": Decimal("47.00") + shipping,
        "voided": ZERO,
        "refunded": ZERO,
    }
    assert_clean(capsys, "--stripe")


def test_ship_plan_staff_cancel_of_an_order_that_only_waits(stripe_settings, goods, capsys):
    _, waiting, _ = goods
    order = card_place(stripe_settings, [(waiting, 3)]).order

    released = order_cancel_backordered(order_id=order.pk, by_staff=True)

    assert released == ZERO  # nothing was held: nothing given back, nothing asked of Stripe
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert sums(order.payment) == {"authorized": ZERO, "captured": ZERO, "voided": ZERO, "refunded": ZERO}
    assert not CardCharge.objects.exists()
    assert_clean(capsys, "--stripe")


# --- pay now -------------------------------------------------------------------------------------


def test_now_plan_cancelling_waiting_units_refunds_exactly_their_price(
    stripe_settings, settings, goods, capsys
):
    settings.PAYMENT_PLAN_DEFAULT = "now"
    in_stock, waiting, _ = goods
    order = card_place(stripe_settings, [(in_stock, 2), (waiting, 2)]).order
    shipping = order.shipping_cost
    (paid,) = order.payment.charges.all()
    assert paid.status == ChargeStatus.CAPTURED and paid.amount == Decimal("94.00") + shipping
    assert_clean(capsys, "--stripe")

    outcome = order_cancel_by_customer(
        order_id=order.pk, quantities={order.lines.get(variant=waiting).pk: 1}, user_id=None
    )

    assert (outcome.released.voided, outcome.released.refunded) == (ZERO, Decimal("27.00"))
    assert refunds_at_stripe(stripe_settings, paid) == [2700]
    assert_clean(capsys, "--stripe")

    # The parcel uses the credit: nothing more is captured.
    order_ship(order_id=order.pk)
    assert sums(order.payment) == {
        "authorized": Decimal("94.00") + shipping,
        "captured": Decimal("94.00") + shipping,
        "voided": ZERO,
        "refunded": Decimal("27.00"),
    }
    assert CardCharge.objects.count() == 1
    assert_clean(capsys, "--stripe")

    # The last waiting unit cancelled after the parcel left: its price back, not the shipping.
    order_cancel_backordered(order_id=order.pk, by_staff=True)
    assert refunds_at_stripe(stripe_settings, paid) == [2700, 2700]
    assert sums(order.payment)["refunded"] == Decimal("54.00")
    assert_clean(capsys, "--stripe")


def test_now_plan_cancelling_everything_before_anything_shipped_refunds_the_shipping_too(
    stripe_settings, settings, goods, capsys
):
    settings.PAYMENT_PLAN_DEFAULT = "now"
    _, waiting, _ = goods
    order = card_place(stripe_settings, [(waiting, 2)]).order
    total = Decimal("54.00") + order.shipping_cost
    (paid,) = order.payment.charges.all()

    outcome = order_cancel_by_customer(order_id=order.pk, quantities={order.lines.get().pk: 2}, user_id=None)

    assert outcome.released.refunded == total
    assert refunds_at_stripe(stripe_settings, paid) == [int(total * 100)]
    assert sums(order.payment)["refunded"] == total
    assert_clean(capsys, "--stripe")


# --- the old gateways ---------------------------------------------------------------------------


@pytest.mark.parametrize("gateway", ["test_card", "invoice"])
def test_old_gateways_authorize_everything_and_capture_per_parcel(goods, capsys, gateway):
    in_stock, waiting, warehouse = goods
    order = place_paid_by(gateway, [(in_stock, 1), (waiting, 2)])
    order_ship(order_id=order.pk)
    order_cancel_backordered(order_id=order.pk, quantities={order.lines.get(variant=waiting).pk: 1})
    arrive(waiting, warehouse, 1)
    order_ship(order_id=order.pk)
    assert sums(order.payment)["captured"] == Decimal("47.00") + order.shipping_cost
    assert sums(order.payment)["voided"] == Decimal("27.00")
    out = assert_clean(capsys)
    assert f"1 {gateway}" in out


# --- what it catches -----------------------------------------------------------------------------


def test_a_tampered_payment_is_named_and_exits_1(stripe_settings, goods, capsys):
    in_stock, waiting, _ = goods
    order = card_place(stripe_settings, [(in_stock, 1), (waiting, 1)]).order
    other = place([(in_stock, 1), (waiting, 1)]).order
    order_ship(order_id=other.pk)
    assert_clean(capsys)

    Payment.objects.filter(order=order).update(amount_captured=F("amount_captured") + Decimal("0.01"))

    code, out = reconcile(capsys)
    assert code == 1
    assert order.number in out and other.number not in out
    assert "captured" in out and "difference(s) in 1 order(s)" in out


def test_a_hold_stripe_let_go_is_found_only_with_stripe(stripe_settings, goods, capsys):
    in_stock, _, _ = goods
    order = card_place(stripe_settings, [(in_stock, 1)]).order
    (hold,) = order.payment.charges.all()
    stripe_settings.client().v1.payment_intents.cancel(hold.stripe_id)

    assert_clean(capsys)
    code, out = reconcile(capsys, "--stripe")
    assert code == 1
    assert f"{order.number} (payment {order.payment.pk}, stripe)" in out
    assert "authorized here but canceled at Stripe" in out


# --- set-based ------------------------------------------------------------------------------------


def test_six_queries_however_many_orders(goods, django_assert_num_queries):
    in_stock, waiting, _ = goods
    place([(in_stock, 1), (waiting, 1)])
    with django_assert_num_queries(6):
        assert payment_differences().differences == []
    for _ in range(4):
        order = place_paid_by("invoice", [(in_stock, 1), (waiting, 1)])
        order_ship(order_id=order.pk)
    with django_assert_num_queries(6):
        result = payment_differences()
    assert result.differences == [] and result.checked == 5


def test_the_sql_sums_of_the_charges_are_card_payment_amounts(stripe_settings, goods):
    in_stock, waiting, warehouse = goods
    order = card_place(stripe_settings, [(in_stock, 1), (waiting, 2)]).order
    arrive(waiting, warehouse, 1)
    order_ship(order_id=order.pk)
    (sums_of,) = payment_sums()
    payment = Payment.objects.get(pk=sums_of.pk)
    assert {
        "authorized": sums_of.ch_authorized,
        "captured": sums_of.ch_captured,
        "voided": sums_of.ch_released,
        "refunded": sums_of.ch_refunded,
    } == card_payment_amounts(payment)
