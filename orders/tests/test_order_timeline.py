"""The order page's timeline reads as a person would tell it (issue 16, what shoppers hit, items 3
and 4): no jargon ("Items allocated"), nothing said twice ("Order placed · Order placed."), the
customer's own choices said as theirs, dates in words, and what each parcel cost and how it is paid
(`orders.wording.money_charged_text`, the shipment email's sentence)."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.services import purchase_order_receive, purchase_order_set_expected_date
from orders.models import OrderEvent, OrderEventKind
from orders.services import order_place, order_ship
from orders.tasks import send_due_delay_notices
from orders.tests.delays_helpers import T0, backorderable, day, delay_emails, link_in, purchase_order, text_of
from orders.tests.helpers import ADDRESS, GOOD_CARD, give_stock, timeline_of
from orders.tokens import order_access_path
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


def place(payment_method: str, items):
    return order_place(
        items=[(variant.pk, quantity) for variant, quantity in items],
        email="ada@example.com",
        address=ADDRESS,
        shipping_method="standard",
        ship_policy="split",
        payment_method=payment_method,
        card_number=GOOD_CARD if payment_method == "test_card" else "",
        accept_backorder_terms=True,
        idempotency_key=uuid.uuid4().hex,
    ).order


def order_page(client, order) -> str:
    return client.get(order_access_path(order.number)).content.decode()


@pytest.mark.parametrize(
    ("payment_method", "first_parcel", "second_parcel"),
    [
        (
            "test_card",
            "€28.90 has been charged to your card for this parcel, including €4.90 shipping.",
            "€100.00 has been charged to your card for this parcel.",
        ),
        (
            "invoice",
            "We will invoice you €28.90 for this parcel, including €4.90 shipping.",
            "We will invoice you €100.00 for this parcel.",
        ),
    ],
)
def test_the_timeline_tells_the_order_in_words_and_what_each_parcel_cost(
    client, clock, commit, payment_method, first_parcel, second_parcel
):
    # Given 2 mugs in stock and a tent that waits for a purchase order due on Tuesday 10 March
    mug = VariantFactory(product__name="Blue mug", price=Decimal("12.00"))
    give_stock(mug, 2)
    tent = backorderable(price="100.00")
    po = purchase_order(tent, 5, day(8))
    with commit():
        order = place(payment_method, [(mug, 2), (tent, 1)])

    # When the mugs ship, the tent arrives the next day and ships an hour later
    clock.move_to(T0 + timedelta(hours=5, minutes=15))
    with commit():
        order_ship(order_id=order.pk)
    clock.move_to(T0 + timedelta(days=1))
    with commit():
        purchase_order_receive(purchase_order_id=po.pk)
    # On PostgreSQL the pass stamps its event with the database's clock, which the frozen test clock
    # does not move: give it the test's moment, as a real pass would have had.
    OrderEvent.objects.filter(order=order, kind=OrderEventKind.ALLOCATED, data__has_key="run").update(
        created_at=timezone.now()
    )
    clock.move_to(T0 + timedelta(days=1, hours=1))
    with commit():
        order_ship(order_id=order.pk)

    # Then
    page = order_page(client, order)
    assert timeline_of(page) == [
        (
            "You placed your order",
            "Monday 2 March 2026 at 09:00",
            # The purchase order's 10 March + its supplier's lateness, 2 to 7 days (the shop's default):
            # Thursday 12 to Tuesday 17 March (docs/dates.md)
            "Waiting for stock: 1 × Alpine Tent (expected 12–17 March 2026)",
        ),
        ("Set aside for you", "Monday 2 March 2026 at 09:00", "2 × Blue mug"),
        ("Shipped", "Monday 2 March 2026 at 14:15", f"2 × Blue mug. {first_parcel}"),
        ("Reserved from new stock", "Tuesday 3 March 2026 at 09:00", "1 × Alpine Tent"),
        ("Shipped", "Tuesday 3 March 2026 at 10:00", f"1 × Alpine Tent. {second_parcel}"),
    ]
    for jargon in ("Order placed", "Items allocated", "Items shipped", "In stock and reserved"):
        assert jargon not in page


def test_an_order_all_in_stock_says_it_was_placed_once(client, clock, commit):
    mug = VariantFactory(product__name="Blue mug", price=Decimal("12.00"))
    give_stock(mug, 3)
    with commit():
        order = place("test_card", [(mug, 3)])

    page = order_page(client, order)

    assert timeline_of(page) == [
        ("You placed your order", "Monday 2 March 2026 at 09:00", ""),
        ("Set aside for you", "Monday 2 March 2026 at 09:00", "3 × Blue mug"),
    ]


def test_cancelling_from_a_delay_email_is_one_entry_said_as_the_customers_choice(
    client, clock, commit, mailoutbox
):
    # Given 1 tent from stock and 2 waiting, whose purchase order slipped: the delay email went out
    tent = backorderable(price="19.90")
    give_stock(tent, 1)
    po = purchase_order(tent, 5, day(8))
    with commit():
        order = place("invoice", [(tent, 3)])
    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(18))
    clock.move_to(T0 + timedelta(minutes=31))
    with commit():
        send_due_delay_notices()
    (message,) = delay_emails(mailoutbox)

    # When Ada cancels the waiting tents from it, the next day
    clock.move_to(T0 + timedelta(days=1))
    with commit():
        client.post(link_in(text_of(message), "cancel"))

    # Then her choice is one entry, followed by what it did to the money
    entries = timeline_of(order_page(client, order))
    assert [title for title, _, _ in entries] == [
        "You placed your order",
        "Set aside for you",
        "Sorry, delayed",
        "You chose to cancel rather than wait",
        "Your payment",
    ]
    assert entries[3] == (
        "You chose to cancel rather than wait",
        "Tuesday 3 March 2026 at 09:00",
        "2 × Alpine Tent",
    )
    assert entries[4][2] == "You pay nothing for the cancelled items: €39.80 will not be invoiced."
