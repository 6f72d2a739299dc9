"""The checkout and saved addresses: the default fills the form, another can be picked, and
"Save this address to my account" keeps the order's address (signed-in customers only)."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import Address
from accounts.services.addresses import ADDRESS_LIMIT, AddressData, address_create
from orders.models import Order
from orders.tests.helpers import GOOD_CARD, give_stock
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
HOME = AddressData(
    full_name="Ada Lovelace",
    address_line1="12 Analytical Row",
    city="London",
    postcode="N1 9GU",
    country="GB",
)
OFFICE = AddressData(
    full_name="Ada King",
    company_name="Engines Ltd",
    address_line1="Hauptstraße 5",
    address_line2="3. OG",
    city="Berlin",
    postcode="10115",
    country="DE",
)
# The checkout page of a signed-in customer with an item in stock: session (+ its save, 3 with the
# savepoint, as a key is issued), the user, the saved addresses (one query however many), the cart's
# lines, availability (1, with the shop's closures), nav; no VAT rates for the saved address in GB (an
# export at the catalog price asks for none). A guest's page (orders/tests/test_views.py,
# CHECKOUT_PAGE_QUERIES) has neither the user nor the addresses, and the rates of the shop's country.
SIGNED_IN_CHECKOUT_PAGE_QUERIES = 9


@pytest.fixture
def ada():
    return User.objects.create_user(email="ada@example.com", password="pw")


@pytest.fixture
def mug():
    variant = VariantFactory(product=ProductFactory(name="Enamel Mug"), sku="MUG", price=Decimal("8.00"))
    give_stock(variant, 5)
    return variant


def add_to_cart(client, variant, quantity=1):
    client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": quantity})


def checkout_post(client, form_initial_key: str, **overrides):
    data = {
        "email": "ada@example.com",
        "full_name": "Grace Hopper",
        "company_name": "",
        "address_line1": "1 Compiler Street",
        "address_line2": "",
        "city": "Wien",
        "postcode": "1010",
        "country": "AT",
        "shipping_method": "standard",
        "ship_policy": "split",
        "payment_method": "test_card",
        "card_number": GOOD_CARD,
        "idempotency_key": form_initial_key,
        **overrides,
    }
    return client.post(reverse("orders:checkout"), {k: v for k, v in data.items() if v is not None})


def form_initial(response) -> dict:
    form = response.context["form"]
    return {
        name: form[name].value()
        for name in ("full_name", "address_line1", "address_line2", "city", "postcode", "country")
    }


def test_the_default_address_fills_the_checkout(client, ada, mug):
    address_create(user_id=ada.pk, data=HOME)
    address_create(user_id=ada.pk, data=OFFICE, make_default=True)
    client.force_login(ada)
    add_to_cart(client, mug)

    response = client.get(reverse("orders:checkout"))

    assert form_initial(response) == {
        "full_name": "Ada King",
        "address_line1": "Hauptstraße 5",
        "address_line2": "3. OG",
        "city": "Berlin",
        "postcode": "10115",
        "country": "DE",
    }
    assert response.context["form"]["email"].value() == "ada@example.com"
    page = response.content.decode()
    assert "Filled in with your saved address: Ada King, Berlin." in page
    assert "Save this address to my account" in page


def test_picking_another_saved_address(client, ada, mug):
    home = address_create(user_id=ada.pk, data=HOME)
    address_create(user_id=ada.pk, data=OFFICE, make_default=True)
    client.force_login(ada)
    add_to_cart(client, mug)

    first = client.get(reverse("orders:checkout"))
    assert f'href="?address={home.pk}"' in first.content.decode()
    response = client.get(reverse("orders:checkout"), {"address": home.pk})

    assert form_initial(response)["city"] == "London"
    assert form_initial(response)["full_name"] == "Ada Lovelace"
    assert response.context["current_address"] == home


def test_another_customers_address_id_fills_nothing_of_theirs(client, ada, mug):
    bob = User.objects.create_user(email="bob@example.com", password="pw")
    bobs = address_create(user_id=bob.pk, data=OFFICE)
    address_create(user_id=ada.pk, data=HOME)
    client.force_login(ada)
    add_to_cart(client, mug)

    response = client.get(reverse("orders:checkout"), {"address": bobs.pk})

    assert form_initial(response)["city"] == "London"  # Ada's default, not Bob's address
    assert "Hauptstraße" not in response.content.decode()


def test_a_guest_sees_no_saved_addresses_and_no_save_box(client, mug):
    add_to_cart(client, mug)

    response = client.get(reverse("orders:checkout"))

    assert response.context["saved_addresses"] == []
    assert form_initial(response)["city"] is None
    assert "Save this address to my account" not in response.content.decode()


@pytest.mark.parametrize("count", [1, 3])
def test_signed_in_checkout_page_query_budget(client, ada, mug, django_assert_num_queries, count):
    for n in range(count):
        address_create(user_id=ada.pk, data=AddressData(**{**HOME.as_dict(), "city": f"City {n}"}))
    client.force_login(ada)
    add_to_cart(client, mug)

    with django_assert_num_queries(SIGNED_IN_CHECKOUT_PAGE_QUERIES):
        response = client.get(reverse("orders:checkout"))

    assert len(response.context["saved_addresses"]) == count


def test_the_save_box_keeps_the_orders_address(client, ada, mug):
    address_create(user_id=ada.pk, data=HOME)
    client.force_login(ada)
    add_to_cart(client, mug)
    key = client.get(reverse("orders:checkout")).context["form"]["idempotency_key"].value()

    response = checkout_post(client, key, save_address="on")

    assert response.status_code == 302
    order = Order.objects.get()
    assert order.user_id == ada.pk and order.city == "Wien"
    assert list(Address.objects.filter(user=ada).order_by("pk").values_list("city", "is_default")) == [
        ("London", True),
        ("Wien", False),
    ]
    saved = Address.objects.get(city="Wien")
    assert (saved.full_name, saved.address_line1, saved.postcode, saved.country) == (
        "Grace Hopper",
        "1 Compiler Street",
        "1010",
        "AT",
    )


def test_without_the_box_nothing_is_saved(client, ada, mug):
    client.force_login(ada)
    add_to_cart(client, mug)
    key = client.get(reverse("orders:checkout")).context["form"]["idempotency_key"].value()

    checkout_post(client, key)

    assert Order.objects.count() == 1
    assert Address.objects.count() == 0


def test_a_guest_ticking_the_box_saves_nothing(client, mug):
    add_to_cart(client, mug)
    key = client.get(reverse("orders:checkout")).context["form"]["idempotency_key"].value()

    checkout_post(client, key, save_address="on")

    assert Order.objects.get().user_id is None
    assert Address.objects.count() == 0


def test_a_refused_checkout_saves_no_address(client, ada, mug):
    client.force_login(ada)
    add_to_cart(client, mug)
    key = client.get(reverse("orders:checkout")).context["form"]["idempotency_key"].value()

    response = checkout_post(client, key, save_address="on", card_number="4000 0000 0000 0002")

    assert response.status_code == 200
    assert Order.objects.count() == 0
    assert Address.objects.count() == 0


def test_a_full_address_book_places_the_order_and_says_the_address_was_not_saved(client, ada, mug):
    for n in range(ADDRESS_LIMIT):
        address_create(user_id=ada.pk, data=AddressData(**{**HOME.as_dict(), "city": f"City {n}"}))
    client.force_login(ada)
    add_to_cart(client, mug)
    key = client.get(reverse("orders:checkout")).context["form"]["idempotency_key"].value()

    response = checkout_post(client, key, save_address="on")

    assert response.status_code == 302
    assert Order.objects.count() == 1
    assert Address.objects.filter(user=ada).count() == ADDRESS_LIMIT
    assert [m.message for m in get_messages(response.wsgi_request)] == [
        f"Your order is placed, but the address was not saved: You can keep at most {ADDRESS_LIMIT} "
        "addresses. Delete one you no longer use first."
    ]


def test_the_page_is_priced_for_the_country_of_the_address_it_is_filled_with(client, ada, mug):
    """The saved address is in Austria: the page's VAT and total are Austria's, so placing the order
    with it is not refused as "the total changed"."""
    address_create(user_id=ada.pk, data=AddressData(**{**HOME.as_dict(), "city": "Wien", "country": "AT"}))
    client.force_login(ada)
    add_to_cart(client, mug)

    page = client.get(reverse("orders:checkout"))
    form = page.context["form"]
    response = checkout_post(
        client,
        form["idempotency_key"].value(),
        **{
            name: form[name].value() for name in ("full_name", "address_line1", "city", "postcode", "country")
        },
        priced_for=page.context["priced_for"],
    )

    assert page.context["quote"].country == "AT"
    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.country, order.city, order.total) == ("AT", "Wien", page.context["quote"].total)
