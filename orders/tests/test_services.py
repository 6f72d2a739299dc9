from dataclasses import astuple
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from inventory.models import StockItem, StockMovement
from inventory.tests.promises import from_lead_time, from_purchase_order
from notifications.models import Notification
from orders.models import Order, OrderEvent, PaymentTransaction
from orders.services import (
    CheckoutError,
    OrderActionError,
    order_cancel_backordered,
    order_set_priority,
    order_ship,
)
from orders.tests.helpers import DECLINED_CARD, allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


def stock_of(variant):
    item = StockItem.objects.get(variant=variant)
    return item.on_hand, item.allocated


def test_in_stock_order_allocates_and_authorizes(django_capture_on_commit_callbacks):
    variant = VariantFactory(price=Decimal("20.00"))
    give_stock(variant, 5)

    with django_capture_on_commit_callbacks(execute=True):
        result = place([(variant, 2)])

    order = result.order
    line = order.lines.get()
    assert result.created is True
    assert (line.quantity_allocated, line.quantity_backordered, line.status) == (2, 0, "allocated")
    assert order.status == "ready"
    assert (order.subtotal, order.shipping_cost, order.total) == (
        Decimal("40.00"),
        Decimal("4.90"),
        Decimal("44.90"),
    )
    assert stock_of(variant) == (5, 2)
    assert list(
        StockMovement.objects.filter(reason="allocated").values_list("allocated_delta", "order_line")
    ) == [(2, line.pk)]
    assert (order.payment.amount_authorized, order.payment.status) == (Decimal("44.90"), "authorized")
    assert list(order.events.values_list("kind", flat=True)) == ["placed", "allocated"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == f"Order {order.number} confirmed"
    assert f"/orders/{order.number}/?token=" in mail.outbox[0].body


def test_backordered_order_has_queue_date_and_discount(django_capture_on_commit_callbacks):
    variant = VariantFactory(price=Decimal("100.00"))
    allow_backorders(variant, lead_time_days=10, backorder_discount_percent=Decimal("10"))
    give_stock(variant, 1)

    with django_capture_on_commit_callbacks(execute=True):
        order = place([(variant, 3)]).order

    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_backordered, line.status) == (1, 2, "partially_allocated")
    # No purchase order: today + 10 days' lead time to + the default p90 lateness, on shipping days; the
    # promise is the confident end (docs/dates.md)
    assert (line.expected_earliest_date, line.expected_date) == astuple(from_lead_time(10))
    assert line.first_promised_date == line.expected_date
    assert (line.backorder_unit_price, line.quantity_at_backorder_price) == (Decimal("90.00"), 2)
    assert order.total == Decimal("100.00") + Decimal("180.00") + Decimal("4.90")
    assert order.discount_total == Decimal("20.00")
    assert order.status == "partially_ready"
    assert "some items will follow" in mail.outbox[0].subject
    assert "2 waiting for stock, expected to ship " in mail.outbox[0].body


def test_backorder_needs_accepted_terms():
    variant = VariantFactory()
    allow_backorders(variant)

    with pytest.raises(CheckoutError, match="accept the backorder terms"):
        place([(variant, 1)], accept=False)

    assert Order.objects.count() == 0


def test_declined_card_leaves_nothing_behind():
    variant = VariantFactory()
    give_stock(variant, 5)

    with pytest.raises(CheckoutError, match="Your card was declined"):
        place([(variant, 1)], card=DECLINED_CARD)

    assert (Order.objects.count(), Notification.objects.count(), PaymentTransaction.objects.count()) == (
        0,
        0,
        0,
    )
    assert stock_of(variant) == (5, 0)
    assert StockMovement.objects.filter(reason="allocated").count() == 0


# --- availability is read for the quote; under the variant lock only stock and the queue again ---


@pytest.fixture
def between_quote_and_lock(monkeypatch):
    """Run `change` after the quote and the payment authorization, before the variant lock."""
    from orders import payments

    def install(change):
        gateway = payments.GATEWAYS["test_card"]
        authorize = gateway.authorize

        def authorize_then_change(**kwargs):
            monkeypatch.setattr(gateway, "authorize", authorize)  # once
            result = authorize(**kwargs)
            change()
            return result

        monkeypatch.setattr(gateway, "authorize", authorize_then_change)

    return install


def test_units_sold_meanwhile_are_backordered_and_the_order_updated(between_quote_and_lock):
    variant = VariantFactory(price=Decimal("100.00"))
    allow_backorders(variant, backorder_limit=5, backorder_discount_percent=Decimal("10"))
    warehouse = give_stock(variant, 2)
    between_quote_and_lock(lambda: give_stock(variant, -2, warehouse))

    order = place([(variant, 2)]).order  # quoted: 2 from stock, so no backorder discount

    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_backordered) == (0, 2)
    assert line.expected_date is not None
    order.refresh_from_db()
    assert order.status == "waiting"  # not "ready", as the quote had it
    assert (order.subtotal, order.discount_total, order.total) == (
        Decimal("200.00"),
        Decimal("0.00"),
        Decimal("204.90"),
    )
    assert order.payment.amount_authorized == Decimal("204.90")
    assert order.events.get(kind="placed").message.startswith("Order placed. Waiting for stock: 2 ×")
    assert not order.events.filter(kind="allocated").exists()
    assert stock_of(variant) == (0, 0)


def test_backorder_places_taken_meanwhile_refuse_the_order(between_quote_and_lock):
    variant = VariantFactory()
    allow_backorders(variant, backorder_limit=3)
    between_quote_and_lock(lambda: place([(variant, 2)], email="quicker@example.com"))

    with pytest.raises(
        CheckoutError, match="availability changed while you were checking out. Only 1 can be"
    ):
        place([(variant, 2)])  # quoted: 3 places left

    assert list(Order.objects.values_list("email", flat=True)) == ["quicker@example.com"]
    assert PaymentTransaction.objects.filter(kind="authorize").count() == 1


def test_a_place_freed_meanwhile_is_not_offered_when_the_quote_saw_none(between_quote_and_lock):
    """The backorder places left under the lock follow from the limit the quote implied; a quote that
    saw none (the limit used up) gives none, even if a cancellation freed one in between."""
    variant = VariantFactory()
    allow_backorders(variant, backorder_limit=1)
    waiting = place([(variant, 1)], email="first@example.com").order  # the one place
    warehouse = give_stock(variant, 2)  # 1 for the waiting order, 1 free to sell (not served yet)

    def cancel_and_remove():
        order_cancel_backordered(
            order_id=waiting.pk, quantities={waiting.lines.get().pk: 1}, user_id=None, by_staff=False
        )
        give_stock(variant, -2, warehouse)

    between_quote_and_lock(cancel_and_remove)

    with pytest.raises(
        CheckoutError, match="availability changed while you were checking out. It has just sold out."
    ):
        place([(variant, 1)])  # quoted: 1 from stock, no backorder place

    assert Order.objects.count() == 1
    assert stock_of(variant) == (0, 0)


def test_repeated_submit_creates_one_order():
    variant = VariantFactory()
    give_stock(variant, 5)

    first = place([(variant, 1)], key="checkout-123")
    second = place([(variant, 1)], key="checkout-123")

    assert (first.created, second.created) == (True, False)
    assert first.order.pk == second.order.pk
    assert Order.objects.count() == 1
    assert stock_of(variant) == (5, 1)


def test_prices_come_from_the_database():
    variant = VariantFactory(price=Decimal("10.00"))
    give_stock(variant, 5)
    variant.price = Decimal("12.50")
    variant.save()

    order = place([(variant, 2)]).order

    assert order.lines.get().unit_price == Decimal("12.50")


@pytest.mark.parametrize("quantity", [0, -1, 1000])
def test_impossible_quantities_are_refused(quantity):
    variant = VariantFactory()
    give_stock(variant, 5)

    with pytest.raises(CheckoutError, match="between 1 and 999"):
        place([(variant, quantity)])

    assert Order.objects.count() == 0


def test_more_than_policy_allows_is_refused_with_the_number():
    variant = VariantFactory()
    allow_backorders(variant, backorder_limit=2)
    give_stock(variant, 3)

    with pytest.raises(CheckoutError, match="Only 5 of"):
        place([(variant, 6)])

    assert stock_of(variant) == (3, 0)


def test_deny_policy_refuses_beyond_stock():
    variant = VariantFactory()
    give_stock(variant, 2)

    with pytest.raises(CheckoutError, match="Only 2 of"):
        place([(variant, 3)])


def test_inactive_variant_is_refused():
    variant = VariantFactory(is_active=False)
    give_stock(variant, 2)

    with pytest.raises(CheckoutError, match="no longer sold"):
        place([(variant, 1)])


def test_ship_captures_exactly_what_shipped(django_capture_on_commit_callbacks):
    in_stock = VariantFactory(price=Decimal("30.00"))
    waiting = VariantFactory(price=Decimal("50.00"))
    give_stock(in_stock, 4)
    allow_backorders(waiting)
    order = place([(in_stock, 2), (waiting, 1)]).order

    with django_capture_on_commit_callbacks(execute=True):
        shipment = order_ship(order_id=order.pk)

    order.refresh_from_db()
    assert shipment.amount == Decimal("60.00") + Decimal("4.90")
    assert (order.payment.amount_captured, order.payment.status) == (Decimal("64.90"), "partially_captured")
    assert order.status == "partially_shipped"
    assert stock_of(in_stock) == (2, 0)
    line = order.lines.get(variant=in_stock)
    assert (line.quantity_shipped, line.quantity_allocated, line.status) == (2, 0, "shipped")
    assert StockMovement.objects.filter(reason="shipped").get().on_hand_delta == -2
    assert "part of your order is on its way" in mail.outbox[-1].subject
    assert "Still on its way to us" in mail.outbox[-1].body
    with pytest.raises(OrderActionError, match="nothing allocated to ship"):
        order_ship(order_id=order.pk)


def test_ship_together_waits_for_every_line():
    in_stock, waiting = VariantFactory(), VariantFactory()
    give_stock(in_stock, 4)
    allow_backorders(waiting)
    order = place([(in_stock, 1), (waiting, 1)], policy="together").order

    assert order.status == "waiting"
    with pytest.raises(OrderActionError, match="ships together and still waits"):
        order_ship(order_id=order.pk)
    assert stock_of(in_stock) == (4, 1)


def test_cancel_waiting_units_releases_exactly_their_price(django_capture_on_commit_callbacks):
    variant = VariantFactory(price=Decimal("100.00"))
    allow_backorders(variant, backorder_discount_percent=Decimal("10"))
    give_stock(variant, 1)
    order = place([(variant, 3)]).order
    line = order.lines.get()

    with django_capture_on_commit_callbacks(execute=True):
        released = order_cancel_backordered(order_id=order.pk, quantities={line.pk: 1})

    line.refresh_from_db()
    order.refresh_from_db()
    assert released == Decimal("90.00")
    assert (line.quantity_allocated, line.quantity_backordered, line.quantity_cancelled) == (1, 1, 1)
    assert order.payment.amount_voided == Decimal("90.00")
    assert stock_of(variant) == (1, 1)  # the allocated unit is untouched
    assert PaymentTransaction.objects.filter(kind="void").get().amount == Decimal("90.00")
    assert OrderEvent.objects.filter(order=order, kind="cancelled").count() == 1
    assert mail.outbox[-1].subject == f"Order {order.number}: items cancelled"


def test_cancel_more_than_waiting_is_refused_and_changes_nothing():
    variant = VariantFactory()
    allow_backorders(variant)
    give_stock(variant, 1)
    order = place([(variant, 2)]).order
    line = order.lines.get()

    with pytest.raises(OrderActionError, match="Only 1 of"):
        order_cancel_backordered(order_id=order.pk, quantities={line.pk: 2})

    line.refresh_from_db()
    assert (line.quantity_backordered, line.quantity_cancelled) == (1, 0)
    assert order.payment.transactions.count() == 1


def test_cancelling_everything_waiting_cancels_order_and_returns_shipping():
    variant = VariantFactory(price=Decimal("10.00"))
    allow_backorders(variant)
    order = place([(variant, 2)]).order

    released = order_cancel_backordered(order_id=order.pk)

    order.refresh_from_db()
    assert released == Decimal("24.90")
    assert (order.status, order.payment.status, order.payment.amount_open) == (
        "cancelled",
        "voided",
        Decimal("0"),
    )


def test_priority_flag_is_recorded_once():
    variant = VariantFactory()
    give_stock(variant, 1)
    order = place([(variant, 1)]).order

    assert order_set_priority(order_id=order.pk, is_priority=True) is True
    assert order_set_priority(order_id=order.pk, is_priority=True) is False
    assert OrderEvent.objects.filter(order=order, kind="priority").count() == 1


def test_date_is_queue_aware_across_orders():
    variant = VariantFactory()
    allow_backorders(variant, lead_time_days=40)
    from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory

    soon = timezone.localdate() + timedelta(days=5)
    later = timezone.localdate() + timedelta(days=12)
    PurchaseOrderLineFactory(
        purchase_order=PurchaseOrderFactory(expected_date=soon), variant=variant, quantity_ordered=3
    )
    PurchaseOrderLineFactory(
        purchase_order=PurchaseOrderFactory(expected_date=later), variant=variant, quantity_ordered=3
    )

    first = place([(variant, 3)]).order.lines.get()
    second = place([(variant, 1)]).order.lines.get()

    # Each covered by its purchase order, padded by the supplier's lateness (docs/dates.md)
    assert [(line.expected_earliest_date, line.expected_date) for line in (first, second)] == [
        astuple(from_purchase_order(soon)),
        astuple(from_purchase_order(later)),
    ]
    assert isinstance(first.expected_date, date)


def test_a_reused_checkout_key_never_hands_out_another_customers_order():
    variant = VariantFactory()
    give_stock(variant, 5)
    place([(variant, 1)], key="checkout-abc", email="first@example.com")

    with pytest.raises(CheckoutError, match="already been used"):
        place([(variant, 1)], key="checkout-abc", email="someone.else@example.com")

    assert Order.objects.count() == 1


def test_unknown_payment_method_is_a_clear_error():
    from orders.services import order_place
    from orders.tests.helpers import ADDRESS

    variant = VariantFactory()
    give_stock(variant, 5)

    with pytest.raises(CheckoutError, match="Choose a payment method"):
        order_place(
            items=[(variant.pk, 1)],
            email="a@example.com",
            address=ADDRESS,
            shipping_method="standard",
            ship_policy="split",
            payment_method="bitcoin",
            idempotency_key="k1",
        )

    assert Order.objects.count() == 0
