"""'Download my data': a JSON file of everything kept about the signed-in customer, and nothing of
anyone else's, in a constant number of queries."""

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.services.addresses import AddressData, address_create
from notifications.models import EmailPreference
from notifications.services.subscriptions import subscription_create
from orders.models import OrderFeedback
from orders.services import order_ship
from orders.services.questions import customer_question_ask
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
NOW = datetime(2026, 12, 7, 10, 30, tzinfo=ZoneInfo("UTC"))
HOME = AddressData(
    full_name="Ada Lovelace",
    company_name="Engines Ltd",
    address_line1="12 Analytical Row",
    city="London",
    postcode="N1 9GU",
    country="GB",
)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def ada():
    return User.objects.create_user(
        email="ada@example.com", password="pw", first_name="Ada", last_name="Lovelace"
    )


@pytest.fixture
def bob():
    return User.objects.create_user(email="bob@example.com", password="pw")


@pytest.fixture
def mug():
    variant = VariantFactory(product=ProductFactory(name="Enamel Mug"), sku="MUG", price=Decimal("8.00"))
    give_stock(variant, 50)
    return variant


@pytest.fixture
def tent():
    variant = VariantFactory(product=ProductFactory(name="Alpine Tent"), sku="TENT", price=Decimal("100.00"))
    allow_backorders(variant)
    return variant


def download(client):
    response = client.get(reverse("accounts:export"))
    assert response.status_code == 200
    return response, json.loads(response.content)


def test_the_file_holds_the_customers_profile_addresses_orders_and_subscriptions(client, ada, bob, mug, tent):
    address_create(user_id=ada.pk, data=HOME)
    order = place([(mug, 2), (tent, 1)], email="ada@example.com", user_id=ada.pk).order
    order_ship(order_id=order.pk)
    customer_question_ask(order_id=order.pk, subject="when_ship", message="When does the tent come?")
    OrderFeedback.objects.create(order=order, rating=4, comment="Fine wait.")
    subscription_create(variant_id=tent.pk, email="ada@example.com", user_id=ada.pk)
    EmailPreference.objects.create(email="ada@example.com", marketing_opt_out=True)
    place([(mug, 1)], email="bob@example.com", user_id=bob.pk)  # Bob's: never in Ada's file
    address_create(user_id=bob.pk, data=AddressData(**{**HOME.as_dict(), "city": "Leeds"}))
    client.force_login(ada)

    response, data = download(client)

    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="my-data-2026-12-07.json"'
    assert response["Cache-Control"] == "no-store"
    assert data["format_version"] == 1
    assert data["profile"] == {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "language": "",
        "date_joined": "2026-12-07T10:30:00+00:00",
        "last_login": "2026-12-07T10:30:00+00:00",
        "email_verified_at": None,
        "non_essential_emails": False,
    }
    assert data["addresses"] == [
        {
            "full_name": "Ada Lovelace",
            "company_name": "Engines Ltd",
            "address_line1": "12 Analytical Row",
            "address_line2": "",
            "city": "London",
            "postcode": "N1 9GU",
            "country": "GB",
            "is_default": True,
        }
    ]
    [exported] = data["orders"]
    assert exported["number"] == order.number
    assert exported["email"] == "ada@example.com"
    assert exported["placed_at"] == "2026-12-07T10:30:00+00:00"
    assert exported["address"]["city"] == "London"
    # 2 × €8.00 + 1 × €100.00, standard delivery €4.90; the mugs shipped with the delivery charge.
    assert (exported["subtotal"], exported["shipping_cost"], exported["total"]) == (
        "116.00",
        "4.90",
        "120.90",
    )
    assert exported["payment"] == {
        "method": "test_card",
        "status": "partially_captured",
        "authorized": "120.90",
        "captured": "20.90",
        "voided": "0.00",
        "refunded": "0.00",
    }
    assert [
        (
            line["sku"],
            line["quantity"],
            line["quantity_shipped"],
            line["quantity_backordered"],
            line["unit_price"],
            line["status"],
        )
        for line in exported["lines"]
    ] == [
        ("MUG", 2, 2, 0, "8.00", "shipped"),
        ("TENT", 1, 0, 1, "100.00", "backordered"),
    ]
    assert exported["shipments"] == [
        {
            "shipped_at": "2026-12-07T10:30:00+00:00",
            "amount": "20.90",
            "lines": [{"sku": "MUG", "quantity": 2}],
        }
    ]
    # The timeline as the order page says it (orders.selectors.timeline).
    assert [(e["at"], e["title"]) for e in exported["timeline"]] == [
        ("2026-12-07T10:30:00+00:00", "You placed your order"),
        ("2026-12-07T10:30:00+00:00", "Set aside for you"),
        ("2026-12-07T10:30:00+00:00", "Shipped"),
    ]
    assert exported["timeline"][0]["detail"].startswith("Waiting for stock: 1 × Alpine Tent (expected ")
    assert exported["timeline"][1]["detail"] == "2 × Enamel Mug"
    assert exported["timeline"][2]["detail"] == (
        "2 × Enamel Mug. €20.90 has been charged to your card for this parcel, including €4.90 shipping."
    )
    assert exported["feedback"] == {
        "requested_at": "2026-12-07T10:30:00+00:00",
        "rating": 4,
        "comment": "Fine wait.",
        "answered_at": None,
    }
    assert exported["questions"] == [
        {
            "asked_at": "2026-12-07T10:30:00+00:00",
            "subject": "when_ship",
            "message": "When does the tent come?",
            "answered_at": None,
            "answer": "",
        }
    ]
    assert data["back_in_stock_subscriptions"] == [
        {
            "product": "Alpine Tent",
            "sku": "TENT",
            "email": "ada@example.com",
            "status": "active",
            "subscribed_at": "2026-12-07T10:30:00+00:00",
            "confirmed_at": "2026-12-07T10:30:00+00:00",
            "notified_at": None,
        }
    ]
    assert "bob@example.com" not in response.content.decode()
    assert "Leeds" not in response.content.decode()


def test_a_new_account_exports_empty_lists(client, ada):
    client.force_login(ada)

    _, data = download(client)

    assert (data["addresses"], data["orders"], data["back_in_stock_subscriptions"]) == ([], [], [])
    assert data["profile"]["non_essential_emails"] is True


def test_a_guest_is_sent_to_log_in(client):
    response = client.get(reverse("accounts:export"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("count", [1, 5])
def test_constant_queries_however_many_orders(client, ada, mug, tent, django_assert_num_queries, count):
    for _ in range(count):
        order = place([(mug, 1), (tent, 1)], email="ada@example.com", user_id=ada.pk).order
        order_ship(order_id=order.pk)
        customer_question_ask(order_id=order.pk, subject="when_ship", message="When?")
    address_create(user_id=ada.pk, data=HOME)
    client.force_login(ada)

    # Session, user; the email preference, orders (with payment and feedback), their lines,
    # shipments, shipment lines, customer-visible events, questions; subscriptions; addresses.
    with django_assert_num_queries(11):
        _, data = download(client)

    assert len(data["orders"]) == count
    assert all(len(o["shipments"]) == 1 and len(o["questions"]) == 1 for o in data["orders"])
