"""The checkout's countries (orders.forms.country_choices): the same 32 codes in every language,
named by django-countries in the customer's language and sorted as its readers expect."""

import pytest
from django.utils import translation

from orders.forms import COUNTRY_CHOICES, CheckoutForm, country_choices


def test_english_names_and_order_are_the_ones_the_checkout_always_had():
    with translation.override("en"):
        assert country_choices() == COUNTRY_CHOICES
    assert len(COUNTRY_CHOICES) == 32


def test_german_names_are_sorted_in_german():
    with translation.override("de"):
        choices = country_choices()

    assert sorted(code for code, _ in choices) == sorted(code for code, _ in COUNTRY_CHOICES)
    names = [name for _, name in choices]
    assert names[:4] == ["Belgien", "Bulgarien", "Dänemark", "Deutschland"]
    assert names.index("Österreich") == names.index("Norwegen") + 1  # Ö sorts with O
    assert names[-2:] == ["Vereinigtes Königreich", "Zypern"]


@pytest.mark.django_db
def test_the_checkout_form_names_the_countries_in_the_language_it_is_made_in():
    with translation.override("de"):
        german = list(CheckoutForm(requires_terms=False).fields["country"].choices)
    english = list(CheckoutForm(requires_terms=False).fields["country"].choices)

    assert german[0][0] == english[0][0] == ""
    assert ("AT", "Österreich") in german and ("AT", "Austria") in english


@pytest.mark.django_db
def test_the_german_checkout_page_lists_german_country_names(client):
    from orders.tests.helpers import give_stock  # noqa: PLC0415
    from shop.tests.factories import VariantFactory  # noqa: PLC0415

    lamp = VariantFactory()
    give_stock(lamp, 3)
    client.post("/de/orders/cart/add/", {"variant": lamp.pk, "quantity": 1})

    response = client.get("/de/orders/checkout/")

    page = response.content.decode()
    assert '<option value="AT">Österreich</option>' in page
    assert '<option value="GB">Vereinigtes Königreich</option>' in page
