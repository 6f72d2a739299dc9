"""What the shop tells a customer about their money (issue 16 item 6): one sentence per case, true for
the way they pay (card: reserved at checkout, charged per parcel; invoice: invoiced per parcel) and for
what the payment did (voided, refunded, or not released). Pages, flash messages and emails all say it
through `orders.wording`."""

import html
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from inventory.services import purchase_order_set_expected_date
from orders.models import OrderEvent, OrderEventKind, Payment
from orders.services import order_place, order_ship
from orders.tasks import send_due_delay_notices
from orders.tests.delays_helpers import T0, backorderable, day, delay_emails, link_in, purchase_order, text_of
from orders.tests.helpers import ADDRESS, GOOD_CARD, give_stock
from orders.tokens import make_order_token
from orders.wording import (
    MoneyReleased,
    cancel_money_text,
    money_charged_text,
    money_released_text,
    when_charged_text,
)

pytestmark = pytest.mark.django_db

# Words that describe a card payment; an invoice customer must never read them.
CARD_WORDS = re.compile(r"card|released back|payment method|refunded", re.I)


# --- the sentences -----------------------------------------------------------------------------


def released(gateway, voided="0", refunded="0", unreleased="0") -> str:
    return money_released_text(
        MoneyReleased(
            gateway=gateway,
            currency="EUR",
            voided=Decimal(voided),
            refunded=Decimal(refunded),
            unreleased=Decimal(unreleased),
        )
    )


@pytest.mark.parametrize(
    ("gateway", "voided", "refunded", "unreleased", "sentence"),
    [
        (
            "test_card",
            "51.45",
            "0",
            "0",
            "You pay nothing for the cancelled items: the €51.45 reserved on your card for them has been "
            "released (your bank may take a few days to show it).",
        ),
        (
            "test_card",
            "0",
            "20.00",
            "0",
            "You pay nothing for the cancelled items: the €20.00 already charged to your card has been "
            "refunded (your bank may take a few days to show it).",
        ),
        (
            "test_card",
            "31.45",
            "20.00",
            "0",
            "You pay nothing for the cancelled items: the €31.45 reserved on your card for them has been "
            "released and the €20.00 already charged to your card has been refunded (your bank may take a "
            "few days to show it).",
        ),
        (
            "invoice",
            "51.45",
            "0",
            "0",
            "You pay nothing for the cancelled items: €51.45 will not be invoiced.",
        ),
        (
            "invoice",
            "0",
            "20.00",
            "0",
            "You pay nothing for the cancelled items: we will send you a credit note for the €20.00 already "
            "invoiced.",
        ),
        (
            "invoice",
            "31.45",
            "20.00",
            "0",
            "You pay nothing for the cancelled items: €31.45 will not be invoiced and we will send you a "
            "credit note for the €20.00 already invoiced.",
        ),
        (
            "invoice",
            "0",
            "0",
            "51.45",
            "We could not release €51.45 yet: we are looking into it and will email you.",
        ),
        (
            "test_card",
            "11.45",
            "0",
            "40.00",
            "You pay nothing for the cancelled items: the €11.45 reserved on your card for them has been "
            "released (your bank may take a few days to show it). We could not release €40.00 yet: we are "
            "looking into it and will email you.",
        ),
        ("invoice", "0", "0", "0", "There was nothing to pay for the cancelled items."),
        (None, "51.45", "0", "0", "You pay nothing for the cancelled items: €51.45 will not be charged."),
    ],
)
def test_what_a_cancellation_did_with_the_money(gateway, voided, refunded, unreleased, sentence):
    assert released(gateway, voided, refunded, unreleased) == sentence


@pytest.mark.parametrize(
    ("gateway", "amount", "shipping", "sentence"),
    [
        (
            "test_card",
            "54.90",
            "4.90",
            "€54.90 has been charged to your card for this parcel, including €4.90 shipping.",
        ),
        ("test_card", "50.00", "0", "€50.00 has been charged to your card for this parcel."),
        ("invoice", "54.90", "4.90", "We will invoice you €54.90 for this parcel, including €4.90 shipping."),
        ("invoice", "0", "0", "There is nothing more to pay for this parcel."),
        (None, "50.00", "0", "This parcel costs €50.00."),
    ],
)
def test_what_a_parcel_cost(gateway, amount, shipping, sentence):
    assert (
        money_charged_text(
            gateway=gateway, amount=Decimal(amount), currency="EUR", shipping=Decimal(shipping)
        )
        == sentence
    )


@pytest.mark.parametrize(
    ("gateway", "kwargs", "sentence"),
    [
        (
            "test_card",
            {},
            "Your card is charged for items waiting for stock only when they ship; until then the amount is "
            "only reserved.",
        ),
        ("invoice", {}, "Items waiting for stock are invoiced only when they ship."),
        ("invoice", {"what": "these items"}, "These items are invoiced only when they ship."),
        (None, {"what": "it", "one": True}, "You pay for it only when it ships."),
        (None, {"what": "backordered items"}, "You pay for backordered items only when they ship."),
    ],
)
def test_when_waiting_items_are_paid_for(gateway, kwargs, sentence):
    assert when_charged_text(gateway=gateway, **kwargs) == sentence


@pytest.mark.parametrize(
    ("gateway", "sentence"),
    [
        (
            "test_card",
            "You pay nothing for what you cancel: the amount reserved on your card for it is released.",
        ),
        ("invoice", "You pay nothing for what you cancel: it is not invoiced."),
        (None, "You pay nothing for what you cancel."),
    ],
)
def test_what_cancelling_will_do(gateway, sentence):
    assert cancel_money_text(gateway=gateway) == sentence


# --- the pages, flash messages and emails, for an invoice and for a card ---------------------------


def order_paid_by(payment_method: str, variant, quantity: int, *, email: str = "ada@example.com"):
    return order_place(
        items=[(variant.pk, quantity)],
        email=email,
        address=ADDRESS,
        shipping_method="standard",
        ship_policy="split",
        payment_method=payment_method,
        card_number=GOOD_CARD if payment_method == "test_card" else "",
        accept_backorder_terms=True,
        idempotency_key=uuid.uuid4().hex,
    ).order


@pytest.fixture
def delayed_order(clock, commit, mailoutbox):
    """Returns `make(payment_method)`: an order of 3 tents at 19.90 with a 5 % discount for waiting
    (1 from stock, 2 waiting: 2 × 18.91 = 37.82), whose purchase order slipped; the delay email sent."""

    def make(payment_method: str) -> dict:
        tent = backorderable(price="19.90", backorder_discount_percent=Decimal("5"))
        give_stock(tent, 1)
        po = purchase_order(tent, 5, day(8))
        with commit():
            order = order_paid_by(payment_method, tent, 3)
        with commit():
            purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(18))
        clock.move_to(T0 + timedelta(minutes=31))
        with commit():
            send_due_delay_notices()
        (message,) = delay_emails(mailoutbox)
        return {
            "order": order,
            "delay_email": text_of(message),
            "cancel": link_in(text_of(message), "cancel"),
        }

    return make


def cancelled_email(mailoutbox, order):
    (message,) = [m for m in mailoutbox if m.subject == f"Order {order.number}: items cancelled"]
    return text_of(message), message.alternatives[0][0]


def refund_event(order) -> str:
    return OrderEvent.objects.get(order=order, kind=OrderEventKind.REFUNDED).message


def text_of_page(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def test_an_invoice_order_cancelled_through_the_delay_link_is_told_it_will_not_be_invoiced(
    client, delayed_order, commit, mailoutbox
):
    # Given an invoice order, 2 tents waiting, and its delay email
    delayed = delayed_order("invoice")
    order = delayed["order"]
    assert (
        "Cancel these items: we cancel the units that are still waiting. You pay nothing for what you "
        "cancel: it is not invoiced." in delayed["delay_email"]
    )
    assert "Items waiting for stock are invoiced only when they ship." in delayed["delay_email"]

    # When Ada looks at the cancel page, then cancels
    preview = client.get(delayed["cancel"])
    with commit():
        done = client.post(delayed["cancel"])

    # Then every page, the email and the timeline say the same, and nothing about a card or a refund
    expected = "You pay nothing for the cancelled items: €37.82 will not be invoiced."
    assert "You pay nothing for what you cancel: it is not invoiced." in text_of_page(preview)
    assert expected in text_of_page(done)
    text, html_part = cancelled_email(mailoutbox, order)
    assert expected in text
    assert expected in html.unescape(html_part)
    assert refund_event(order) == expected
    for said in (
        text_of_page(preview),
        text_of_page(done),
        text,
        delayed["delay_email"],
        refund_event(order),
    ):
        assert not CARD_WORDS.search(said.split("Backorder Shop customer service")[0]), said
    payment = Payment.objects.get(order=order)
    assert (payment.amount_voided, payment.amount_refunded) == (Decimal("37.82"), Decimal("0.00"))


def test_a_card_order_cancelled_through_the_delay_link_is_told_its_reservation_was_released(
    client, delayed_order, commit, mailoutbox
):
    delayed = delayed_order("test_card")
    order = delayed["order"]
    assert (
        "You pay nothing for what you cancel: the amount reserved on your card for it is released."
        in (delayed["delay_email"])
    )

    with commit():
        done = client.post(delayed["cancel"])

    expected = (
        "You pay nothing for the cancelled items: the €37.82 reserved on your card for them has been "
        "released (your bank may take a few days to show it)."
    )
    assert expected in text_of_page(done)
    assert expected in cancelled_email(mailoutbox, order)[0]
    assert refund_event(order) == expected


@pytest.mark.parametrize(
    ("payment_method", "expected"),
    [
        ("invoice", "You pay nothing for the cancelled items: €18.91 will not be invoiced."),
        (
            "test_card",
            "You pay nothing for the cancelled items: the €18.91 reserved on your card for them has been "
            "released (your bank may take a few days to show it).",
        ),
    ],
)
def test_the_order_page_says_the_same_when_units_are_cancelled_there(
    client, delayed_order, commit, payment_method, expected
):
    # Given the order page of an order with 2 waiting units
    order = delayed_order(payment_method)["order"]
    url = order.get_absolute_url() + f"?token={make_order_token(order.number)}"
    line = order.lines.get()
    page = text_of_page(client.get(url))
    assert cancel_money_text(gateway=payment_method) in page

    # When one is cancelled
    with commit():
        response = client.post(
            reverse("orders:cancel", args=[order.number]),
            {"token": make_order_token(order.number), f"line_{line.pk}": "1"},
        )

    # Then the flash message and the timeline say what happened
    [message] = [m.message for m in get_messages(response.wsgi_request)]
    assert message == f"Cancelled 1 waiting unit. {expected} We have emailed you a confirmation."
    after = text_of_page(client.get(url))
    assert expected in after
    # and the totals: 19.90 + 2 × 18.91 + 4.90 shipping ordered, 18.91 of it cancelled
    assert "Total ordered €62.62 Cancelled: you do not pay for it -€18.91 Total to pay €43.71" in after
    # the backorder discount is in the lines' prices already: said, not subtracted a second time
    assert "The prices above include €1.98 off for items that wait for stock." in after


def test_money_already_charged_is_said_to_be_refunded(client, delayed_order, commit, mailoutbox):
    # Given a card order whose 1 unit from stock shipped (19.90 + 4.90 shipping captured), and a capture
    # that took 10.00 more than that parcel (as a gateway adjustment would): less is left reserved than
    # the waiting units cost
    order = delayed_order("test_card")["order"]
    with commit():
        order_ship(order_id=order.pk)
    payment = Payment.objects.get(order=order)
    Payment.objects.filter(pk=payment.pk).update(amount_captured=payment.amount_captured + Decimal("10.00"))

    # When the 2 waiting units (37.82) are cancelled
    with commit():
        client.post(
            reverse("orders:cancel", args=[order.number]),
            {"token": make_order_token(order.number), f"line_{order.lines.get().pk}": "2"},
        )

    # Then the 27.82 still reserved is released and the 10.00 charged is refunded, and said so
    payment.refresh_from_db()
    assert (payment.amount_voided, payment.amount_refunded) == (Decimal("27.82"), Decimal("10.00"))
    expected = (
        "You pay nothing for the cancelled items: the €27.82 reserved on your card for them has been "
        "released and the €10.00 already charged to your card has been refunded (your bank may take a few "
        "days to show it)."
    )
    assert refund_event(order) == expected
    assert expected in cancelled_email(mailoutbox, order)[0]


@pytest.mark.parametrize(
    ("payment_method", "expected"),
    [
        ("invoice", "We will invoice you €24.80 for this parcel, including €4.90 shipping."),
        ("test_card", "€24.80 has been charged to your card for this parcel, including €4.90 shipping."),
    ],
)
def test_the_shipment_email_says_how_the_parcel_is_paid(clock, commit, mailoutbox, payment_method, expected):
    # Given 1 tent from stock and 2 waiting
    tent = backorderable(price="19.90", backorder_discount_percent=Decimal("5"))
    give_stock(tent, 1)
    with commit():
        order = order_paid_by(payment_method, tent, 3)

    # When the tent in stock ships
    with commit():
        order_ship(order_id=order.pk)

    # Then
    [message] = [m for m in mailoutbox if "is on its way" in m.subject]
    assert expected in text_of(message)
    assert expected in html.unescape(message.alternatives[0][0])
    assert "Charged for this shipment" not in text_of(message)


@pytest.mark.parametrize(
    ("payment_method", "expected"),
    [
        ("invoice", "Items waiting for stock are invoiced only when they ship."),
        (
            "test_card",
            "Your card is charged for items waiting for stock only when they ship; until then the amount "
            "is only reserved.",
        ),
    ],
)
def test_the_confirmation_says_when_waiting_items_are_paid_for(
    clock, commit, mailoutbox, payment_method, expected
):
    tent = backorderable(price="19.90")
    with commit():
        order = order_paid_by(payment_method, tent, 1)

    [message] = [m for m in mailoutbox if m.subject.startswith(f"Order {order.number} confirmed")]
    assert f"{expected} You can cancel them until they are in stock for you." in text_of(message)


def test_the_admin_says_what_cancelling_did_with_the_money_per_payment_method():
    from decimal import Decimal

    from orders.wording import MoneyReleased, money_released_staff_text

    def said(gateway, **amounts):
        return money_released_staff_text(MoneyReleased(gateway=gateway, currency="EUR", **amounts))

    assert said("test_card", voided=Decimal("27.55")) == "27.55 EUR card hold released"
    assert said("test_card", voided=Decimal("5.00"), refunded=Decimal("10.00")) == (
        "5.00 EUR card hold released; 10.00 EUR refunded to the card"
    )
    assert said("invoice", voided=Decimal("51.45")) == "51.45 EUR will not be invoiced"
    assert said("invoice", refunded=Decimal("12.00")) == "a credit note is due for 12.00 EUR already invoiced"
    assert said("invoice", unreleased=Decimal("3.00")) == (
        "the gateway refused to release 3.00 EUR: follow it up"
    )
    assert said("invoice") == "no money to release"
