"""Saved addresses: the services (one default per customer, ownership, the limit) and the pages."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.forms_addresses import AddressForm
from accounts.models import Address
from accounts.services.addresses import (
    ADDRESS_LIMIT,
    AddressData,
    AddressError,
    AddressNotFound,
    address_create,
    address_delete,
    address_save_from_checkout,
    address_set_default,
    address_update,
)
from orders.models import Order

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
    full_name="Ada Lovelace",
    company_name="Engines Ltd",
    address_line1="Hauptstraße 5",
    address_line2="3. OG",
    city="Berlin",
    postcode="10115",
    country="DE",
)
FORM = {
    "full_name": "Grace Hopper",
    "company_name": "",
    "address_line1": "1 Compiler Street",
    "address_line2": "",
    "city": "Wien",
    "postcode": "1010",
    "country": "AT",
}


@pytest.fixture
def ada():
    return User.objects.create_user(email="ada@example.com", password="pw")


@pytest.fixture
def bob():
    return User.objects.create_user(email="bob@example.com", password="pw")


def rows(user) -> list[tuple[str, bool]]:
    return list(Address.objects.filter(user=user).order_by("pk").values_list("city", "is_default"))


# --- the model: its limits are the order's -----------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["full_name", "company_name", "address_line1", "address_line2", "city", "postcode", "country"]
)
def test_each_field_holds_exactly_what_the_orders_column_holds(name):
    assert Address._meta.get_field(name).max_length == Order._meta.get_field(name).max_length


def test_the_database_refuses_a_second_default(ada):
    Address.objects.create(user=ada, is_default=True, **HOME.as_dict())

    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(user=ada, is_default=True, **OFFICE.as_dict())

    assert rows(ada) == [("London", True)]


# --- services ------------------------------------------------------------------------------------------


def test_the_first_address_is_the_default_and_the_next_is_not(ada):
    address_create(user_id=ada.pk, data=HOME)
    address_create(user_id=ada.pk, data=OFFICE)

    assert rows(ada) == [("London", True), ("Berlin", False)]
    office = Address.objects.get(city="Berlin")
    assert (office.company_name, office.address_line2, office.postcode, office.country) == (
        "Engines Ltd",
        "3. OG",
        "10115",
        "DE",
    )


def test_a_new_address_made_default_takes_it_from_the_old_one(ada):
    address_create(user_id=ada.pk, data=HOME)

    address_create(user_id=ada.pk, data=OFFICE, make_default=True)

    assert rows(ada) == [("London", False), ("Berlin", True)]


def test_set_default_moves_the_one_default(ada):
    home = address_create(user_id=ada.pk, data=HOME)
    office = address_create(user_id=ada.pk, data=OFFICE)

    address_set_default(user_id=ada.pk, address_id=office.pk)
    assert rows(ada) == [("London", False), ("Berlin", True)]
    address_set_default(user_id=ada.pk, address_id=home.pk)
    assert rows(ada) == [("London", True), ("Berlin", False)]


def test_deleting_the_default_makes_the_oldest_other_address_the_default(ada):
    home = address_create(user_id=ada.pk, data=HOME)
    address_create(user_id=ada.pk, data=OFFICE)
    address_create(user_id=ada.pk, data=AddressData.from_mapping(FORM))

    successor = address_delete(user_id=ada.pk, address_id=home.pk)

    assert successor.city == "Berlin"
    assert rows(ada) == [("Berlin", True), ("Wien", False)]


def test_deleting_another_address_keeps_the_default(ada):
    address_create(user_id=ada.pk, data=HOME)
    office = address_create(user_id=ada.pk, data=OFFICE)

    assert address_delete(user_id=ada.pk, address_id=office.pk) is None
    assert rows(ada) == [("London", True)]


def test_another_customers_address_is_not_found_and_untouched(ada, bob):
    bobs = address_create(user_id=bob.pk, data=HOME)

    for attempt in (
        lambda: address_update(user_id=ada.pk, address_id=bobs.pk, data=OFFICE),
        lambda: address_set_default(user_id=ada.pk, address_id=bobs.pk),
        lambda: address_delete(user_id=ada.pk, address_id=bobs.pk),
    ):
        with pytest.raises(AddressNotFound):
            attempt()

    assert rows(bob) == [("London", True)]
    assert Address.objects.get(pk=bobs.pk).address_line1 == "12 Analytical Row"
    assert rows(ada) == []


def test_an_account_keeps_at_most_the_limit(ada):
    for n in range(ADDRESS_LIMIT):
        address_create(user_id=ada.pk, data=AddressData.from_mapping({**FORM, "city": f"City {n}"}))

    with pytest.raises(AddressError, match=f"at most {ADDRESS_LIMIT} addresses"):
        address_create(user_id=ada.pk, data=OFFICE)

    assert Address.objects.filter(user=ada).count() == ADDRESS_LIMIT


def test_saving_from_checkout_does_not_duplicate_an_address_it_already_has(ada):
    home = address_create(user_id=ada.pk, data=HOME)
    same = AddressData.from_mapping({**HOME.as_dict(), "full_name": "  ada   LOVELACE ", "city": "london"})

    assert address_save_from_checkout(user_id=ada.pk, data=same) == home
    assert Address.objects.filter(user=ada).count() == 1


def test_saving_from_checkout_adds_a_new_address_not_default_when_one_exists(ada):
    address_create(user_id=ada.pk, data=HOME)

    address_save_from_checkout(user_id=ada.pk, data=OFFICE)

    assert rows(ada) == [("London", True), ("Berlin", False)]


def test_saving_from_checkout_makes_the_first_address_default(ada):
    address_save_from_checkout(user_id=ada.pk, data=OFFICE)

    assert rows(ada) == [("Berlin", True)]


# --- the form -------------------------------------------------------------------------------------------


def test_the_form_offers_the_checkouts_countries_and_refuses_others():
    assert AddressForm({**FORM, "country": "DE"}).is_valid()
    form = AddressForm({**FORM, "country": "US"})

    assert not form.is_valid()
    assert list(form.errors) == ["country"]


def test_the_form_keeps_one_line_and_the_columns_limits():
    form = AddressForm({**FORM, "full_name": "Grace\r\nHopper", "postcode": "1" * 21})

    assert not form.is_valid()
    assert list(form.errors) == ["postcode"]
    assert form.cleaned_data["full_name"] == "Grace Hopper"


# --- the pages -------------------------------------------------------------------------------------------


def test_the_pages_need_a_signed_in_customer(client, ada):
    home = address_create(user_id=ada.pk, data=HOME)
    login = reverse("login")

    for url in (
        reverse("accounts:addresses"),
        reverse("accounts:address_add"),
        reverse("accounts:address_edit", args=[home.pk]),
        reverse("accounts:address_delete", args=[home.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(login), url
    assert client.post(reverse("accounts:address_default", args=[home.pk])).status_code == 302
    assert rows(ada) == [("London", True)]


def test_an_empty_list_says_what_saving_an_address_does(client, ada):
    client.force_login(ada)

    page = client.get(reverse("accounts:addresses")).content.decode()

    assert "You have no saved addresses yet." in page
    assert "Save this address to my account" in page
    assert reverse("accounts:address_add") in page


def test_the_list_shows_each_address_the_default_first(client, ada):
    address_create(user_id=ada.pk, data=HOME)
    address_create(user_id=ada.pk, data=OFFICE, make_default=True)
    client.force_login(ada)

    response = client.get(reverse("accounts:addresses"))

    assert [a.city for a in response.context["addresses"]] == ["Berlin", "London"]
    page = response.content.decode()
    assert page.index("Hauptstraße 5") < page.index("12 Analytical Row")
    assert "Engines Ltd" in page and "Germany" in page and "United Kingdom" in page


@pytest.mark.parametrize("count", [1, 5])
def test_the_list_query_budget(client, ada, django_assert_num_queries, count):
    for n in range(count):
        address_create(user_id=ada.pk, data=AddressData.from_mapping({**FORM, "city": f"City {n}"}))
    client.force_login(ada)

    # Session, user, the addresses, the navbar (cart count, categories).
    with django_assert_num_queries(5):
        response = client.get(reverse("accounts:addresses"))

    assert len(response.context["addresses"]) == count


def test_adding_an_address_on_the_page(client, ada):
    client.force_login(ada)

    response = client.post(reverse("accounts:address_add"), FORM)

    assert response.status_code == 302 and response["Location"] == reverse("accounts:addresses")
    address = Address.objects.get(user=ada)
    assert (address.full_name, address.city, address.postcode, address.country, address.is_default) == (
        "Grace Hopper",
        "Wien",
        "1010",
        "AT",
        True,
    )


def test_a_refused_form_saves_nothing(client, ada):
    client.force_login(ada)

    response = client.post(reverse("accounts:address_add"), {**FORM, "city": ""})

    assert response.status_code == 200
    assert "city" in response.context["form"].errors
    assert Address.objects.count() == 0


def test_editing_and_making_default_on_the_pages(client, ada):
    home = address_create(user_id=ada.pk, data=HOME)
    office = address_create(user_id=ada.pk, data=OFFICE)
    client.force_login(ada)

    client.post(
        reverse("accounts:address_edit", args=[office.pk]), {**FORM, "city": "Graz", "is_default": "on"}
    )
    assert rows(ada) == [("London", False), ("Graz", True)]

    client.post(reverse("accounts:address_default", args=[home.pk]))
    assert rows(ada) == [("London", True), ("Graz", False)]


def test_deleting_on_the_page_asks_first(client, ada):
    home = address_create(user_id=ada.pk, data=HOME)
    client.force_login(ada)
    url = reverse("accounts:address_delete", args=[home.pk])

    page = client.get(url)
    assert page.status_code == 200 and "Delete this address?" in page.content.decode()
    assert rows(ada) == [("London", True)]

    client.post(url)
    assert rows(ada) == []


def test_another_customers_address_is_a_404_on_every_page(client, ada, bob):
    bobs = address_create(user_id=bob.pk, data=HOME)
    client.force_login(ada)

    assert client.get(reverse("accounts:address_edit", args=[bobs.pk])).status_code == 404
    assert client.post(reverse("accounts:address_edit", args=[bobs.pk]), FORM).status_code == 404
    assert client.get(reverse("accounts:address_delete", args=[bobs.pk])).status_code == 404
    assert client.post(reverse("accounts:address_delete", args=[bobs.pk])).status_code == 404
    assert client.post(reverse("accounts:address_default", args=[bobs.pk])).status_code == 404

    bobs.refresh_from_db()
    assert (bobs.city, bobs.full_name, bobs.is_default) == ("London", "Ada Lovelace", True)


def test_the_add_and_edit_pages_query_budget(client, ada, django_assert_num_queries):
    home = address_create(user_id=ada.pk, data=HOME)
    client.force_login(ada)

    # Session, user, (the address), the navbar (cart count, categories).
    with django_assert_num_queries(4):
        assert client.get(reverse("accounts:address_add")).status_code == 200
    with django_assert_num_queries(5):
        assert client.get(reverse("accounts:address_edit", args=[home.pk])).status_code == 200
