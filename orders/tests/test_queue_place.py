"""orders/selectors/queue_place.py and the order page: each waiting line's place in its queue."""

import re

import pytest
import time_machine

from orders.selectors import order_get_for_customer, order_queue_places
from orders.services import NeedBy, order_set_priority
from orders.tests.delays_helpers import T0, backorderable, day, purchase_order, waiting_order
from orders.tests.helpers import give_stock
from orders.tokens import make_order_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def shop_clock():
    with time_machine.travel(T0, tick=False):
        yield


def places_of(order) -> dict:
    """{product name: the place in words} for the order's waiting lines, as the page says them."""
    order = order_get_for_customer(number=order.number, user=None, token=make_order_token(order.number))
    places = order_queue_places(order=order)
    return {line.product_name: places[line.pk].text() for line in order.lines.all() if line.pk in places}


def page_places(client, order) -> list[str]:
    page = client.get(order.get_absolute_url() + f"?token={make_order_token(order.number)}").content.decode()
    return re.findall(r'<small class="text-body-secondary queue-place">(.*?)</small>', page)


def test_units_ahead_and_the_delivery_that_covers_them():
    tent = backorderable()
    purchase_order(tent, 20, day(10))  # Thursday 12 March 2026
    waiting_order(tent, 2, email="first@example.com")
    waiting_order(tent, 1, email="second@example.com")
    mine = waiting_order(tent, 4, email="me@example.com")

    # The day the projection counts on for it: 12 March + its supplier's p90 lateness (the shop's
    # default, 7 days): Thursday 19 March (docs/dates.md)
    assert places_of(mine) == {
        "Alpine Tent": "3 units ahead of yours; 20 arriving about Thursday 19 March 2026"
    }


def test_first_in_line_and_the_stock_already_here():
    tent = backorderable()
    mine = waiting_order(tent, 2, email="me@example.com")
    give_stock(tent, 5)  # arrived; the allocation pass has not served the queue yet

    assert places_of(mine) == {
        "Alpine Tent": "Yours are first in line; the stock is here and is being set aside for you"
    }


def test_no_delivery_booked_says_the_date_is_an_estimate():
    tent = backorderable(lead_time_days=21)
    waiting_order(tent, 1, email="first@example.com")
    mine = waiting_order(tent, 1, email="me@example.com")

    assert places_of(mine) == {
        "Alpine Tent": "1 unit ahead of yours; no delivery is booked yet, so that date is our estimate from the usual wait"
    }


def test_a_later_delivery_covers_the_units_beyond_the_first():
    tent = backorderable()
    purchase_order(tent, 3, day(10))
    purchase_order(tent, 50, day(24))  # Thursday 26 March 2026; counted on 7 days later (p90 lateness)
    waiting_order(tent, 2, email="first@example.com")
    mine = waiting_order(tent, 2, email="me@example.com")  # units 3 and 4: the second delivery

    assert places_of(mine) == {
        "Alpine Tent": "2 units ahead of yours; 50 arriving about Thursday 2 April 2026"
    }


def test_the_queue_order_counts_priority_and_need_by_orders_placed_later():
    tent = backorderable()
    purchase_order(tent, 20, day(10))
    mine = waiting_order(tent, 1, email="me@example.com")
    urgent = waiting_order(tent, 2, email="urgent@example.com", need_by=NeedBy(day(30), "ask"))
    vip = waiting_order(tent, 3, email="vip@example.com")
    order_set_priority(order_id=vip.pk, is_priority=True)
    waiting_order(tent, 4, email="later@example.com")  # behind mine: not counted

    assert places_of(mine) == {
        "Alpine Tent": "5 units ahead of yours; 20 arriving about Thursday 19 March 2026"
    }
    assert places_of(urgent)["Alpine Tent"].startswith("3 units ahead of yours")
    assert places_of(vip)["Alpine Tent"].startswith("Yours are first in line")


def test_the_page_shows_each_waiting_line_and_nobody_else(client):
    tent, lamp = backorderable(), backorderable(name="Desk Lamp")
    purchase_order(tent, 20, day(10))
    waiting_order(tent, 3, email="someone.else@example.com")
    mine = waiting_order(tent, 1, email="me@example.com")
    give_stock(lamp, 1)
    mine_too = waiting_order(lamp, 1, email="me@example.com")  # in stock: not waiting, no place

    assert page_places(client, mine) == ["3 units ahead of yours; 20 arriving about Thursday 19 March 2026."]
    assert page_places(client, mine_too) == []
    page = client.get(mine.get_absolute_url() + f"?token={make_order_token(mine.number)}").content.decode()
    assert "someone.else" not in page
    others = [o.number for o in type(mine).objects.exclude(pk=mine.pk)]
    assert not any(number in page for number in others)
