"""Checkout with "I need it by" (issue 18 item 5): the date, what to do if it cannot be made, and a
date that a waiting item is already expected after, said before paying."""

import html
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from orders.models import NeedByAction, Order, PaymentTransaction
from orders.services import CheckoutError, NeedBy, NeedByLate
from orders.tests.delays_helpers import T0, backorderable, day, purchase_order
from orders.tests.helpers import give_stock, place
from orders.tests.test_views import add, checkout_data, issue_key
from orders.tokens import make_order_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def shop_clock():
    with time_machine.travel(T0, tick=False):  # Monday 2 March 2026
        yield


@pytest.fixture
def tent():
    """Nothing in stock; 20 arriving Thursday 12 March 2026 (day 10)."""
    variant = backorderable(price="100.00")
    purchase_order(variant, 20, day(10))
    return variant


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def test_the_checkout_asks_for_a_date_and_says_the_latest_we_expect(client, tent):
    add(client, tent, 1)

    page = text(client.get(reverse("orders:checkout")))

    assert "Do you need them by a date?" in page
    # The latest we expect is the confident end: 12 March + the supplier's default p90 lateness, 7 days
    # (docs/dates.md)
    assert "We expect the waiting items by Thursday 19 March 2026 at the latest." in page
    assert "Cancel those items and refund me automatically" in page
    assert "Ask me: email me so I can keep waiting or cancel" in page


def test_a_date_we_cannot_make_is_said_before_paying_and_nothing_is_charged(client, tent):
    add(client, tent, 2)
    key = issue_key(client)

    response = client.post(
        reverse("orders:checkout"), checkout_data(key, need_by="2026-03-10", need_by_action="cancel")
    )

    assert response.status_code == 200
    page = text(response)
    assert (
        "We cannot promise everything by Tuesday 10 March 2026: 2 × Alpine Tent is expected by "
        "Thursday 19 March 2026 . Choose a later date, or tick the box below to order anyway." in page
    )
    assert "I understand they may arrive after Tuesday 10 March 2026" in page
    assert "You need them by Tuesday 10 March 2026 , and we cannot promise that for 2 × Alpine Tent" in page
    assert response.context["form"].errors["accept_need_by_late"] == [
        "Tick this box to order anyway, or choose a later date."
    ]
    assert not Order.objects.exists()
    assert not PaymentTransaction.objects.exists()


def test_the_customer_orders_anyway_once_they_say_they_understand(client, tent):
    add(client, tent, 2)
    key = issue_key(client)
    data = checkout_data(key, need_by="2026-03-10", need_by_action="cancel", accept_need_by_late="on")

    response = client.post(reverse("orders:checkout"), data)

    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.need_by, order.need_by_action) == (day(8), NeedByAction.CANCEL)


def test_a_date_we_can_make_is_kept_without_asking(client, tent):
    add(client, tent, 1)
    key = issue_key(client)

    response = client.post(
        reverse("orders:checkout"), checkout_data(key, need_by="2026-03-20", need_by_action="ask")
    )

    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.need_by, order.need_by_action) == (day(18), NeedByAction.ASK)


def test_a_date_in_the_past_is_refused_by_the_form(client, tent):
    add(client, tent, 1)
    key = issue_key(client)

    response = client.post(
        reverse("orders:checkout"), checkout_data(key, need_by="2026-03-01", need_by_action="ask")
    )

    assert response.context["form"].errors["need_by"] == ["Choose today or a later date, or leave it empty."]
    assert not Order.objects.exists()


def test_no_date_leaves_the_order_without_one(client, tent):
    add(client, tent, 1)
    key = issue_key(client)

    assert client.post(reverse("orders:checkout"), checkout_data(key)).status_code == 302

    order = Order.objects.get()
    assert (order.need_by, order.need_by_action) == (None, "")


def test_the_service_refuses_what_the_form_would_not_send(tent):
    with pytest.raises(NeedByLate):
        place([(tent, 1)], need_by=NeedBy(day(9), NeedByAction.ASK))
    with pytest.raises(CheckoutError, match="has passed"):
        place([(tent, 1)], need_by=NeedBy(day(-1), NeedByAction.ASK))
    with pytest.raises(CheckoutError, match="Choose what we should do"):
        place([(tent, 1)], need_by=NeedBy(day(20), "shrug"))
    assert not Order.objects.exists()


def test_an_order_with_nothing_waiting_keeps_no_date():
    mug = backorderable(name="Mug", price="8.00")
    give_stock(mug, 3)

    order = place([(mug, 1)], need_by=NeedBy(day(1), NeedByAction.CANCEL)).order

    assert (order.need_by, order.need_by_action, order.total) == (
        None,
        "",
        Decimal("8.00") + order.shipping_cost,
    )


def test_the_order_page_says_the_date_and_what_happens(client, tent):
    late = place([(tent, 1)], need_by=NeedBy(day(8), NeedByAction.CANCEL, accept_late=True)).order
    in_time = place([(tent, 1)], need_by=NeedBy(day(18), NeedByAction.ASK)).order

    def said(order):
        page = client.get(order.get_absolute_url(), {"token": make_order_token(order.number)})
        return re.sub(
            r"\s+",
            " ",
            re.sub(
                r"<[^>]+>",
                "",
                re.search(r'<p class="need-by">(.*?)</p>', page.content.decode(), re.S).group(1),
            ),
        )

    assert said(late) == (
        "You need the waiting items by Tuesday 10 March 2026. Alpine Tent is expected after it and stays in your order."
    )
    assert said(in_time) == (
        "You need the waiting items by Friday 20 March 2026. If an item can no longer arrive by then, "
        "we email you to ask whether to keep waiting or cancel it."
    )
