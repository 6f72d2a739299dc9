"""`{% vat_note %}` beside prices: the product page, the listing cards and the cart say what a price
includes, in both price modes, with no query more."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse

from orders.tests.helpers import give_stock
from shop.tests.factories import CategoryFactory, ProductFactory, VariantFactory


def render_note() -> str:
    return Template("{% load vat_tags %}{% vat_note %}").render(Context())


def test_the_note_follows_the_price_mode(settings):
    settings.SHOP_PRICES_INCLUDE_VAT = True
    assert render_note() == "incl. VAT, plus delivery"
    settings.SHOP_PRICES_INCLUDE_VAT = False
    assert render_note() == "plus VAT and delivery"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "include_vat,note", [(True, "incl. VAT, plus delivery"), (False, "plus VAT and delivery")]
)
def test_product_page_listing_card_and_cart_carry_the_note(client, settings, include_vat, note):
    settings.SHOP_PRICES_INCLUDE_VAT = include_vat
    category = CategoryFactory(name="Lamps", slug="lamps")
    lamp = VariantFactory(
        product=ProductFactory(name="Lamp", slug="lamp", category=category), price=Decimal("19.99")
    )
    give_stock(lamp, 3)
    marker = f'vat-note">{note}</'
    assert marker in client.get(reverse("shop:product", kwargs={"slug": "lamp"})).content.decode()
    assert marker in client.get(reverse("shop:category", kwargs={"slug": "lamps"})).content.decode()
    client.post(reverse("orders:cart_add"), {"variant": lamp.pk, "quantity": 1})
    assert marker in client.get(reverse("orders:cart")).content.decode()
