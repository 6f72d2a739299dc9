"""The checkout page's VAT (docs/tax.md): the VAT included per rate, a business customer's VAT
number, and a total that changes with the destination shown before anyone pays it."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from orders.models import Order, Payment
from orders.tests.helpers import GOOD_CARD, give_stock
from shop.tests.factories import ProductFactory, VariantFactory
from tax.models import TaxClass
from tax.tests.factories import rates_replace

pytestmark = pytest.mark.django_db
D = Decimal
START = datetime.date(2020, 1, 1)
FR_NUMBER = "FR40303265045"


@pytest.fixture
def cart(client):
    rates_replace(
        [
            ("DE", TaxClass.STANDARD, "19", START, None),
            ("DE", TaxClass.REDUCED, "7", START, None),
            ("FR", TaxClass.STANDARD, "20", START, None),
            ("FR", TaxClass.REDUCED, "5.5", START, None),
        ]
    )
    lamp = VariantFactory(product=ProductFactory(name="Lamp"), price=D("19.99"))
    book = VariantFactory(product=ProductFactory(name="Book", tax_class=TaxClass.REDUCED), price=D("10.00"))
    for variant, quantity in ((lamp, 2), (book, 1)):
        give_stock(variant, 5)
        client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": quantity})
    return client.get(reverse("orders:checkout"))


def form_data(page, **overrides) -> dict:
    return {
        "email": "ada@example.com",
        "full_name": "Ada Lovelace",
        "address_line1": "1 Rue de la Paix",
        "address_line2": "",
        "city": "Paris",
        "postcode": "75002",
        "country": "FR",
        "shipping_method": "standard",
        "ship_policy": "split",
        "payment_method": "test_card",
        "card_number": GOOD_CARD,
        "idempotency_key": page.context["form"]["idempotency_key"].value(),
        "priced_for": page.context["priced_for"],
        **overrides,
    }


def vat_rows(page) -> list[str]:
    html = page.content.decode()
    rows = re.findall(r'<tr class="vat-line[^"]*">(.*?)</tr>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def test_the_summary_shows_the_vat_per_rate_for_the_shops_country_until_one_is_chosen(cart):
    """Goods 39.98 at 19 % and 10.00 at 7 %; shipping 4.90 split 3.92 / 0.98: VAT in 43.90 is 7.01,
    in 10.98 0.72."""
    assert cart.context["priced_for"] == "DE:vat:54.88"
    assert vat_rows(cart) == [
        "For delivery to Germany with standard delivery (3-5 working days):",
        "incl. 19 % VAT €7.01",
        "incl. 7 % VAT €0.72",
    ]


def test_a_consumer_in_france_pays_the_total_shown_at_frances_rates(client, cart):
    response = client.post(reverse("orders:checkout"), form_data(cart))
    order = Order.objects.get()
    assert response.status_code == 302
    assert (order.total, order.reverse_charge, order.vat_number, order.company_name) == (
        D("54.88"),
        False,
        "",
        "",
    )
    assert [line.tax_rate for line in order.lines.order_by("pk")] == [D("20.00"), D("5.50")]


def test_a_business_in_france_sees_its_net_total_before_it_is_charged(client, cart):
    """The page showed 54.88 for Germany; with a French VAT number the total is 33.32 + 9.48 goods and
    3.92 - 0.65 + 0.98 - 0.05 shipping = 47.00: the page says so and places nothing; submitted again,
    the order is placed at that total, reverse charged."""
    data = form_data(cart, company_name="Ateliers Lumière SA", vat_number="FR 40 303 265 045")
    again = client.post(reverse("orders:checkout"), data)
    assert again.status_code == 200
    assert again.context["form"].non_field_errors() == [
        "Your total for this delivery address is €47.00 (VAT reverse charged). Please check it and place "
        "your order again."
    ]
    assert (Order.objects.count(), Payment.objects.count()) == (0, 0)
    assert again.context["priced_for"] == "FR:reverse_charge:47.00"
    delivery = dict(again.context["form"].fields["shipping_method"].choices)["standard"]
    assert delivery == "Standard delivery (3-5 working days): €4.20"  # 3.92 - 0.65 + 0.98 - 0.05
    assert vat_rows(again)[-1] == (
        "VAT reverse charged: no VAT is charged; the buyer accounts for it in their country."
    )

    placed = client.post(reverse("orders:checkout"), {**data, "priced_for": again.context["priced_for"]})
    assert placed.status_code == 302
    order = Order.objects.get()
    assert (order.total, order.shipping_cost, order.reverse_charge) == (D("47.00"), D("4.20"), True)
    assert (order.vat_number, order.company_name) == (FR_NUMBER, "Ateliers Lumière SA")
    assert Payment.objects.get(order=order).amount_authorized == D("47.00")


def test_an_invalid_vat_number_is_a_message_on_its_field(client, cart):
    response = client.post(
        reverse("orders:checkout"), form_data(cart, company_name="X", vat_number="FR40303265046")
    )
    assert response.context["form"].errors["vat_number"] == [
        "This VAT number's check digits are wrong: please check it for a typing error."
    ]
    response = client.post(reverse("orders:checkout"), form_data(cart, vat_number=FR_NUMBER))
    assert response.context["form"].errors["company_name"] == [
        "Enter the name of the company the VAT number belongs to."
    ]
    assert Order.objects.count() == 0


def test_an_export_says_so(client, cart):
    response = client.post(reverse("orders:checkout"), form_data(cart, country="CH", card_number=""))
    assert response.status_code == 200  # the card number is missing: shown again, for Switzerland
    assert vat_rows(response) == [
        "For delivery to Switzerland with standard delivery (3-5 working days):",
        "Export: no VAT (delivery outside the EU; import duties and taxes of the destination may apply).",
    ]
    assert response.context["priced_for"] == "CH:export:54.88"
