"""A German customer's order emails are German, an English customer's English (docs/i18n.md).

The words come from locale/de (C2's translation); what this module controls and checks exactly is
the language the order keeps, the numbers and dates written the German way, and the links to /de/.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import translation

from notifications.emails import render_notification
from notifications.models import Notification, NotificationKind
from orders.models import Order, OrderEventKind
from orders.tests.helpers import allow_backorders, give_stock, place
from orders.tests.test_views import checkout_data
from shop.formatting import date_range_in_words
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _shop(settings, time_machine):
    settings.TIME_ZONE = "UTC"
    settings.SHOP_CURRENCY = "EUR"
    time_machine.move_to(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), tick=False)


@pytest.fixture
def cart():
    """One lamp in stock (1,234.56) and a tent on backorder, its date from the lead time."""
    lamp = VariantFactory(price=Decimal("1234.56"), product__name="Lamp")
    give_stock(lamp, 5)
    tent = VariantFactory(price=Decimal("100.00"), product__name="Tent")
    allow_backorders(tent, lead_time_days=14)
    return [(lamp, 1), (tent, 1)]


def confirmation(order) -> tuple[str, str, str, str]:
    notification = Notification.objects.get(kind=NotificationKind.ORDER_CONFIRMED, context__order_id=order.pk)
    subject, text, html, _ = render_notification(notification)
    return notification.language, subject, text, html


def test_a_german_order_is_confirmed_with_german_numbers_dates_and_links(cart):
    # when
    order = place(cart, language="de").order

    # then
    language, subject, text, html = confirmation(order)
    tent = order.lines.get(product_name="Tent")
    assert subject == f"Bestellung {order.number} bestätigt: einige Artikel folgen"
    with translation.override("de"):
        promised = date_range_in_words(tent.expected_earliest_date, tent.expected_date)
    assert order.language == language == "de"
    assert "1.234,56\u00a0€" in text and "1.234,56\u00a0€" in html
    assert "€1,234.56" not in text
    assert promised in text and promised in html
    assert any(month in promised for month in ("Dezember", "Januar"))
    assert f"/de/orders/{order.number}/" in text
    # the words of locale/de: the thanks, and the promise around the German date
    assert f"Vielen Dank für Ihre Bestellung {order.number}." in text
    assert f"Versand voraussichtlich {promised}" in text


def test_an_english_order_is_confirmed_as_before(cart):
    # when
    order = place(cart, language="en").order

    # then
    language, subject, text, _ = confirmation(order)
    tent = order.lines.get(product_name="Tent")
    assert subject == f"Order {order.number} confirmed: some items will follow"
    assert order.language == language == "en"
    assert "€1,234.56" in text and "1.234,56" not in text
    assert date_range_in_words(tent.expected_earliest_date, tent.expected_date) in text
    assert "/de/" not in text
    assert f"Thank you for your order {order.number}." in text and "Vielen Dank" not in text


def test_an_order_placed_without_a_language_gets_english_emails(cart):
    order = place(cart).order

    language, _, text, _ = confirmation(order)
    assert (order.language, language) == ("", "")
    assert "€1,234.56" in text


def test_the_checkout_page_stores_the_language_it_was_shown_in(client, cart):
    # given: a cart filled on German pages
    for variant, quantity in cart:
        client.post("/de/orders/cart/add/", {"variant": variant.pk, "quantity": quantity})
    key = client.get("/de/orders/checkout/").context["form"]["idempotency_key"].value()

    # when
    response = client.post(
        "/de/orders/checkout/", checkout_data(key, country="DE", city="Berlin", postcode="10115")
    )

    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    notification = Notification.objects.get(kind=NotificationKind.ORDER_CONFIRMED)
    assert notification.language == "de"
    # and the timeline's stored words stay English, dates included (staff read them; docs/i18n.md)
    order = Order.objects.get()
    tent = order.lines.get(product_name="Tent")
    placed = order.events.get(kind=OrderEventKind.PLACED).message
    with translation.override("en"):  # the test client's German request left German active here
        expected = date_range_in_words(tent.expected_earliest_date, tent.expected_date)
    assert placed == f"Order placed. Waiting for stock: 1 × Tent (expected {expected})"
    assert "März" not in placed and "Dezember" not in placed


@pytest.mark.django_db(transaction=True)
def test_stock_that_arrives_for_a_german_order_is_announced_in_german(django_capture_on_commit_callbacks):
    """The allocation pass writes its emails in SQL on PostgreSQL and with the ORM elsewhere: both
    carry the order's language."""
    from django.core import mail  # noqa: PLC0415

    from inventory.services import stock_adjust  # noqa: PLC0415
    from inventory.tests.factories import WarehouseFactory  # noqa: PLC0415

    # given: a German and an English order waiting for the same tent
    tent = VariantFactory(price=Decimal("1234.56"), product__name="Tent")
    allow_backorders(tent)
    german = place([(tent, 1)], email="grete@example.de", language="de").order
    english = place([(tent, 1)], email="ada@example.com", language="en").order
    mail.outbox.clear()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=tent.pk, warehouse_id=WarehouseFactory().pk, quantity_change=2)

    # then
    allocated = Notification.objects.filter(kind=NotificationKind.BACKORDER_ALLOCATED)
    assert dict(allocated.values_list("recipient", "language")) == {
        "grete@example.de": "de",
        "ada@example.com": "en",
    }
    bodies = {m.to[0]: m.body for m in mail.outbox}
    assert f"/de/orders/{german.number}/" in bodies["grete@example.de"]
    assert (
        f"/orders/{english.number}/" in bodies["ada@example.com"] and "/de/" not in bodies["ada@example.com"]
    )


def test_a_cancellation_on_a_german_page_answers_in_german_and_records_in_english(client, cart):
    from django.contrib.messages import get_messages  # noqa: PLC0415

    from orders.tokens import make_order_token  # noqa: PLC0415

    # given: a German order with a tent waiting
    order = place(cart, language="de").order
    tent = order.lines.get(product_name="Tent")
    token = make_order_token(order.number)

    # when the customer cancels it on the German order page
    response = client.post(f"/de/orders/{order.number}/cancel/", {"token": token, f"line_{tent.pk}": "1"})

    # then the answer is German, with German money; the timeline's stored words English
    assert response.status_code == 302
    assert response["Location"].startswith(f"/de/orders/{order.number}/")
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("1 wartendes Stück storniert. Für die stornierten Artikel zahlen Sie nichts: ")
    assert "100,00\u00a0€" in message
    refunded = order.events.get(kind=OrderEventKind.REFUNDED).message
    assert refunded.startswith("You pay nothing for the cancelled items: ")
    assert "€100.00" in refunded
