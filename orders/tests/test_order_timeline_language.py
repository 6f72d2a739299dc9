"""The order page's timeline says what happened in the reader's language (issue 21): each event keeps
its words as data (`orders.event_words`), rendered with gettext and `shop.formatting` when the page is
read; its English `message` stays what staff, the API and webhooks read. An event written before its
words were stored says its stored message."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from inventory.services import purchase_order_set_expected_date
from orders.event_words import event_words_build, event_words_items, event_words_render
from orders.models import OrderEvent, OrderEventKind
from orders.services import order_place, order_ship
from orders.services.cancellation import order_cancel_by_customer
from orders.tasks import send_due_delay_notices
from orders.tests.delays_helpers import T0, backorderable, day, delay_emails, link_in, purchase_order, text_of
from orders.tests.helpers import ADDRESS, GOOD_CARD, give_stock, timeline_of
from orders.tokens import order_access_path
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


def place(items, *, language: str = ""):
    return order_place(
        items=[(variant.pk, quantity) for variant, quantity in items],
        email="grete@example.de",
        address=ADDRESS,
        shipping_method="standard",
        ship_policy="split",
        payment_method="test_card",
        card_number=GOOD_CARD,
        accept_backorder_terms=True,
        idempotency_key=uuid.uuid4().hex,
        language=language,
    ).order


def page_in(client, order, language: str) -> str:
    with translation.override(language):
        path = order_access_path(order.number)  # /de/orders/BO-…/?token=… in German
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


ENGLISH = [
    (
        "You placed your order",
        "Monday 2 March 2026 at 09:00",
        "Waiting for stock: 1 × Camp Stove (expected 12–17 March 2026)",
    ),
    ("Set aside for you", "Monday 2 March 2026 at 09:00", "1 × Trail Lantern"),
    (
        "Shipped",
        "Monday 2 March 2026 at 11:00",
        "1 × Trail Lantern. €30.00 has been charged to your card for this parcel, including €4.90 shipping.",
    ),
    ("You cancelled", "Monday 2 March 2026 at 12:00", "1 × Camp Stove"),
    (
        "Your payment",
        "Monday 2 March 2026 at 12:00",
        "You pay nothing for the cancelled items: the €64.90 reserved on your card for them has been "
        "released (your bank may take a few days to show it).",
    ),
]
# The no-break space of "64,90 €" reads as a space here (timeline_of folds white space).
GERMAN = [
    (
        "Sie haben bestellt",
        "Montag, 2. März 2026 um 09:00",
        "Wartet auf Ware: 1 × Camp Stove (erwartet 12.–17. März 2026)",
    ),
    ("Für Sie zurückgelegt", "Montag, 2. März 2026 um 09:00", "1 × Trail Lantern"),
    (
        "Versandt",
        "Montag, 2. März 2026 um 11:00",
        "1 × Trail Lantern. Ihre Karte wurde für dieses Paket mit 30,00 € belastet, inklusive 4,90 € Versand.",
    ),
    ("Von Ihnen storniert", "Montag, 2. März 2026 um 12:00", "1 × Camp Stove"),
    (
        "Ihre Zahlung",
        "Montag, 2. März 2026 um 12:00",
        "Für die stornierten Artikel zahlen Sie nichts: die dafür auf Ihrer Karte reservierten 64,90 € "
        "wurden freigegeben (es kann einige Tage dauern, bis Ihre Bank dies anzeigt).",
    ),
]


@pytest.mark.parametrize(("language", "expected"), [("en", ENGLISH), ("de", GERMAN)])
def test_the_timeline_details_are_in_the_readers_language(client, clock, commit, language, expected):
    # Given a lantern in stock and a stove that waits for a purchase order due on 10 March, bought by
    # card on a page in `language`; the lantern ships, then the customer cancels the stove
    lantern = VariantFactory(product__name="Trail Lantern", price=Decimal("25.10"))
    give_stock(lantern, 1)
    stove = backorderable(name="Camp Stove", price="64.90")
    purchase_order(stove, 5, day(8))
    with commit():
        order = place([(lantern, 1), (stove, 1)], language=language)
    clock.move_to(T0 + timedelta(hours=2))
    with commit():
        order_ship(order_id=order.pk)
    clock.move_to(T0 + timedelta(hours=3))
    stove_line = order.lines.get(variant=stove)
    with commit():
        order_cancel_by_customer(order_id=order.pk, quantities={stove_line.pk: 1}, user_id=None)

    # When the customer reads the order page in that language
    entries = timeline_of(page_in(client, order, language))

    # Then every detail is in it, with its money and dates written its way
    assert entries == expected
    # And the stored messages stay English, whatever the language of the page they came from
    assert list(order.events.order_by("pk").values_list("message", flat=True)) == [
        "Order placed. Waiting for stock: 1 × Camp Stove (expected 12–17 March 2026)",
        "In stock and reserved: 1 × Trail Lantern",
        "Shipped: 1 × Trail Lantern",
        "Cancelled at the customer's request: 1 × Camp Stove",
        "You pay nothing for the cancelled items: the €64.90 reserved on your card for them has been "
        "released (your bank may take a few days to show it).",
    ]
    # With the raw values the words are said from
    refunded = order.events.get(kind=OrderEventKind.REFUNDED)
    assert refunded.data["words"] == {
        "key": "released",
        "params": {
            "gateway": "test_card",
            "currency": "EUR",
            "amount": "64.90",
            "voided": "64.90",
            "refunded": "0.00",
            "unreleased": "0.00",
        },
    }
    placed = order.events.get(kind=OrderEventKind.PLACED)
    assert placed.data["words"] == {
        "key": "placed",
        "params": {
            "waiting": [{"count": 1, "name": "Camp Stove", "earliest": "2026-03-12", "latest": "2026-03-17"}]
        },
    }


def test_a_delay_and_keeping_waiting_are_told_in_german_on_the_german_page(client, clock, commit, mailoutbox):
    # Given an English order whose tent's purchase order slipped from 10 to 20 March, and whose
    # customer chose to keep waiting from the delay email
    tent = backorderable(price="19.90")
    po = purchase_order(tent, 5, day(8))
    with commit():
        order = place([(tent, 2)])
    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(18))
    clock.move_to(T0 + timedelta(minutes=31))
    with commit():
        send_due_delay_notices()
    (message,) = delay_emails(mailoutbox)
    clock.move_to(T0 + timedelta(days=1))
    with commit():
        client.post(link_in(text_of(message), "keep"))

    # When the order page is read in German, then in English
    german = timeline_of(page_in(client, order, "de"))
    english = timeline_of(page_in(client, order, "en"))

    # Then the dates and words are German on the German page, English on the English one
    assert german[1:] == [
        (
            "Leider verzögert",
            "Montag, 2. März 2026 um 09:31",
            "2 × Alpine Tent: bisher Dienstag, 17. März 2026, jetzt 23.–27. März 2026.",
        ),
        (
            "Sie warten weiter",
            "Dienstag, 3. März 2026 um 09:00",
            "2 × Alpine Tent (Alpine Tent jetzt Versand voraussichtlich 23.–27. März 2026). "
            "Danke für Ihre Geduld.",
        ),
    ]
    assert english[1:] == [
        (
            "Sorry, delayed",
            "Monday 2 March 2026 at 09:31",
            "2 × Alpine Tent: was Tuesday 17 March 2026, now 23–27 March 2026.",
        ),
        (
            "You chose to keep waiting",
            "Tuesday 3 March 2026 at 09:00",
            "2 × Alpine Tent (Alpine Tent now expected to ship 23–27 March 2026). Thank you for your patience.",
        ),
    ]


def test_an_event_written_before_words_were_stored_says_its_message(client, clock, commit):
    # Given an order and an event of the old kind: a message and no words
    mug = VariantFactory(product__name="Blue mug", price=Decimal("12.00"))
    give_stock(mug, 1)
    with commit():
        order = place([(mug, 1)], language="de")
    OrderEvent.objects.create(order=order, kind=OrderEventKind.SHIPPED, message="Shipped: 1 × Blue mug")
    OrderEvent.objects.create(
        order=order, kind=OrderEventKind.NOTE, message="Parcel left the warehouse early."
    )

    # When the German page is read
    entries = timeline_of(page_in(client, order, "de"))

    # Then those say their stored (English) words, the title still translated
    assert entries[2:] == [
        ("Versandt", "Montag, 2. März 2026 um 09:00", "1 × Blue mug."),
        ("Eine Nachricht von uns", "Montag, 2. März 2026 um 09:00", "Parcel left the warehouse early."),
    ]


def test_words_this_code_cannot_read_fall_back_to_the_message():
    event = OrderEvent(message="Shipped: 2 × Blue mug", data={"words": {"key": "shipped", "params": {}}})
    assert event_words_render(event) == "Shipped: 2 × Blue mug"
    event.data = {"words": {"key": "gone", "params": {}}}
    assert event_words_render(event) == "Shipped: 2 × Blue mug"
    with pytest.raises(ValueError):
        event_words_build(key="gone")


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_timeline_costs_the_same_queries_for_one_event_and_many(client, commit, language):
    mug = VariantFactory(product__name="Blue mug", price=Decimal("12.00"))
    give_stock(mug, 1)
    stove = backorderable(name="Camp Stove", price="64.90")
    counts = []
    for extra in (0, 20):
        with commit():
            order = place([(stove, 1)], language=language)
        order.events.exclude(kind=OrderEventKind.PLACED).delete()
        words = event_words_build(key="shipped", items=event_words_items([(1, "Blue mug")]))
        OrderEvent.objects.bulk_create(
            OrderEvent(
                order=order,
                kind=OrderEventKind.SHIPPED,
                message="Shipped: 1 × Blue mug",
                data={"words": words},
            )
            for _ in range(extra)
        )
        with CaptureQueriesContext(connection) as queries:
            entries = timeline_of(page_in(client, order, language))
        assert len(entries) == 1 + extra
        counts.append(len(queries))
    assert counts[0] == counts[1]
