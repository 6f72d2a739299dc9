"""The order list and page count cancellations (issue 16 item 7): ordered, cancelled, shipped (captured)
and outstanding amounts from the lines' frozen prices and the payment's captures, which agree with the
payment's own figures; the list answers in a constant number of queries."""

import html
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Order, OrderEvent, OrderEventKind, Payment
from orders.selectors.amounts import order_amounts, orders_with_amounts
from orders.services import order_cancel_backordered, order_ship
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

ORDERS = reverse("admin:orders_order_changelist")


@pytest.fixture
def shipped_and_cancelled(admin_user, django_capture_on_commit_callbacks):
    """249.90 ordered: 2 × A at 30.00 and 1 × B at 50.00 from stock, 3 × B waiting at the 10 % backorder
    price of 45.00, 4.90 shipping. The stock ships (114.90 captured), staff cancel 2 waiting B (90.00)."""
    a, b = VariantFactory(sku="A", price=Decimal("30.00")), VariantFactory(sku="B", price=Decimal("50.00"))
    give_stock(a, 2)
    give_stock(b, 1)
    allow_backorders(b, backorder_discount_percent=Decimal("10"))
    with django_capture_on_commit_callbacks(execute=True):
        order = place([(a, 2), (b, 4)]).order
        order_ship(order_id=order.pk, user_id=admin_user.pk)
        line_b = order.lines.get(sku="B")
        order_cancel_backordered(
            order_id=order.pk, quantities={line_b.pk: 2}, user_id=admin_user.pk, by_staff=True
        )
    return order


@pytest.fixture
def cancelled_whole():
    """24.90 + 4.90 shipping, all waiting, all cancelled: the shipping charge goes back too."""
    d = VariantFactory(sku="D", price=Decimal("24.90"))
    allow_backorders(d)
    order = place([(d, 1)]).order
    order_cancel_backordered(order_id=order.pk, quantities=None)
    return order


def test_amounts_count_cancellations_and_captures(shipped_and_cancelled, cancelled_whole):
    a = order_amounts(shipped_and_cancelled)
    b = order_amounts(cancelled_whole)

    assert (a.ordered, a.cancelled, a.captured, a.outstanding) == (
        Decimal("249.90"),
        Decimal("90.00"),
        Decimal("114.90"),
        Decimal("45.00"),
    )
    assert (b.ordered, b.cancelled, b.captured, b.outstanding) == (
        Decimal("29.80"),
        Decimal("29.80"),
        Decimal("0.00"),
        Decimal("0.00"),
    )


def test_amounts_agree_with_the_payment_and_what_cancellations_released(
    shipped_and_cancelled, cancelled_whole
):
    orders = orders_with_amounts(Order.objects.filter(pk__in=[shipped_and_cancelled.pk, cancelled_whole.pk]))
    for order in orders:
        payment = Payment.objects.get(order=order)
        released = sum(
            Decimal(e.data["amount"])
            for e in OrderEvent.objects.filter(order=order, kind=OrderEventKind.REFUNDED)
        )
        assert (order.amount_captured, order.amount_outstanding, order.amount_cancelled) == (
            payment.amount_captured,
            payment.amount_open,
            released,
        )


def test_order_list_shows_the_four_amounts_as_a_sum(admin_client, shipped_and_cancelled, cancelled_whole):
    response = admin_client.get(ORDERS)

    page = response.content.decode()
    rows = {
        o.number: (o.total, o.amount_cancelled, o.amount_captured, o.amount_outstanding)
        for o in response.context["cl"].result_list
    }
    assert rows[shipped_and_cancelled.number] == tuple(
        Decimal(v) for v in ("249.90", "90.00", "114.90", "45.00")
    )
    assert cells(page) == [
        # newest first: the whole cancellation, then the shipped and cancelled order
        ["29.80 ordered", "− 29.80 cancelled", "= 0.00 outstanding"],
        ["249.90 ordered", "− 90.00 cancelled", "− 114.90 captured", "= 45.00 outstanding"],
    ]
    assert "45.00&nbsp;outstanding" in page.replace("\u00a0", "&nbsp;")  # each line kept whole
    assert ">Amounts (EUR)</a>" in page


def cells(page: str) -> list[list[str]]:
    """The lines of each order's "Amounts" cell, as read (no-break spaces read as spaces)."""
    found = re.findall(r'<td class="field-money_summary"><span class="order-money">(.*?)</span></td>', page)
    return [
        [html.unescape(re.sub("<[^>]+>", "", line)).replace("\u00a0", " ") for line in cell.split("<br>")]
        for cell in found
    ]


def test_order_list_sorts_by_what_is_outstanding(admin_client, shipped_and_cancelled, cancelled_whole):
    index = admin_client.get(ORDERS).context["cl"].list_display.index("money_summary")

    rows = admin_client.get(ORDERS, {"o": f"-{index}"}).context["cl"].result_list

    assert [o.number for o in rows] == [shipped_and_cancelled.number, cancelled_whole.number]


def test_order_page_shows_the_amounts(admin_client, shipped_and_cancelled):
    page = admin_client.get(
        reverse("admin:orders_order_change", args=[shipped_and_cancelled.pk])
    ).content.decode()

    assert '<tr><th scope="row">Ordered</th><td>249.90 EUR</td>' in page
    assert '<tr><th scope="row">Cancelled</th><td>90.00 EUR</td>' in page
    assert '<tr><th scope="row">Shipped (captured)</th><td>114.90 EUR</td>' in page
    assert '<tr><th scope="row">Outstanding</th><td>45.00 EUR</td>' in page


def test_order_list_with_amounts_answers_in_constant_queries(
    admin_client, django_assert_num_queries, django_assert_max_num_queries, cancelled_whole
):
    # session, user, count, the page of orders with every amount, the status filter's choices
    with django_assert_num_queries(5):
        admin_client.get(ORDERS)
    for n in range(10):
        variant = VariantFactory(price=Decimal("12.00"))
        give_stock(variant, 5)
        allow_backorders(variant)
        order = place([(variant, 6 + n)]).order
        order_ship(order_id=order.pk)
        order_cancel_backordered(order_id=order.pk, quantities=None)

    with django_assert_max_num_queries(5):
        response = admin_client.get(ORDERS)

    assert len(response.context["cl"].result_list) == 11
    assert all(o.amount_outstanding == 0 for o in response.context["cl"].result_list)
