"""VAT at checkout (docs/tax.md): each line keeps its class and the rate charged, to the cent; two
countries, a reverse-charge business order, an export, net-price mode; the quote equals the order;
a rate change after placement leaves the promised gross alone.

One basket throughout: 2 × a standard-rate lamp at 19.99, 1 × a reduced-rate book at 10.00, 1 × a
zero-rate item at 5.00, standard delivery 4.90 (catalog prices; gross unless net mode)."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order, Payment
from orders.selectors.quote import TaxDestination, order_quote
from orders.services import CheckoutError, order_place
from orders.tests.helpers import GOOD_CARD, give_stock
from shop.tests.factories import ProductFactory, VariantFactory
from tax.models import TaxClass, TaxRate
from tax.rules import vat_rate, vat_split
from tax.tests.factories import TaxRateFactory, rates_replace

pytestmark = pytest.mark.django_db
D = Decimal
START = datetime.date(2020, 1, 1)
FR_NUMBER = "FR40303265045"
DE_NUMBER = "DE136695976"


@pytest.fixture
def rates():
    return rates_replace(
        [
            ("DE", TaxClass.STANDARD, "19", START, None),
            ("DE", TaxClass.REDUCED, "7", START, None),
            ("DE", TaxClass.ZERO, "0", START, None),
            ("FR", TaxClass.STANDARD, "20", START, None),
            ("FR", TaxClass.REDUCED, "5.5", START, None),
            ("FR", TaxClass.ZERO, "0", START, None),
        ]
    )


@pytest.fixture
def basket(rates):
    lamp = VariantFactory(product=ProductFactory(name="Lamp"), price=D("19.99"))
    book = VariantFactory(product=ProductFactory(name="Book", tax_class=TaxClass.REDUCED), price=D("10.00"))
    seeds = VariantFactory(product=ProductFactory(name="Seeds", tax_class=TaxClass.ZERO), price=D("5.00"))
    for variant in (lamp, book, seeds):
        give_stock(variant, 10)
    return [(lamp.pk, 2), (book.pk, 1), (seeds.pk, 1)]


def place_to(items, country, *, vat_number="", company_name=""):
    return order_place(
        items=items,
        email="ada@example.com",
        address={
            "full_name": "Ada",
            "address_line1": "1 Rue",
            "city": "Town",
            "postcode": "1",
            "country": country,
        },
        shipping_method="standard",
        ship_policy="split",
        payment_method="test_card",
        card_number=GOOD_CARD,
        idempotency_key=uuid.uuid4().hex,
        vat_number=vat_number,
        company_name=company_name,
    ).order


def line_money(order):
    return [
        (line.product_name, line.tax_class, line.tax_rate, line.unit_price, line.total)
        for line in order.lines.order_by("pk")
    ]


def vat_shown(quote):
    return [(group.rate, group.gross, group.vat) for group in quote.vat_groups]


def test_germany_standard_reduced_and_zero(basket):
    quote = order_quote(items=basket, destination=TaxDestination("DE"))
    order = place_to(basket, "DE")
    assert line_money(order) == [
        ("Lamp", "standard", D("19.00"), D("19.99"), D("39.98")),
        ("Book", "reduced", D("7.00"), D("10.00"), D("10.00")),
        ("Seeds", "zero", D("0.00"), D("5.00"), D("5.00")),
    ]
    assert (order.shipping_cost, order.total, order.reverse_charge) == (D("4.90"), D("59.88"), False)
    # Shipping 4.90 over goods 39.98 / 10.00 / 5.00: 3.56 / 0.89 / 0.45. VAT in 43.54 at 19 %: 6.9518;
    # in 10.89 at 7 %: 0.7124; none at 0 % (not shown).
    assert vat_shown(quote) == [(D("19"), D("43.54"), D("6.95")), (D("7"), D("10.89"), D("0.71"))]
    assert quote.total == order.total and Payment.objects.get(order=order).amount_authorized == D("59.88")


def test_france_pays_the_same_gross_at_its_own_rates(basket):
    quote = order_quote(items=basket, destination=TaxDestination("FR"))
    order = place_to(basket, "FR")
    assert [(name, rate, total) for name, _c, rate, _u, total in line_money(order)] == [
        ("Lamp", D("20.00"), D("39.98")),
        ("Book", D("5.50"), D("10.00")),
        ("Seeds", D("0.00"), D("5.00")),
    ]
    assert order.total == quote.total == D("59.88")
    # 43.54 at 20 %: 7.2567; 10.89 at 5.5 %: 0.5677.
    assert vat_shown(quote) == [(D("20"), D("43.54"), D("7.26")), (D("5.5"), D("10.89"), D("0.57"))]


def test_a_french_business_with_a_valid_number_pays_net_prices_reverse_charged(basket):
    """Units 19.99 - 3.33 = 16.66 and 10.00 - 0.52 = 9.48; the shipping's shares 3.56 / 0.89 / 0.45
    less their 20 % / 5.5 % VAT: 2.97 + 0.84 + 0.45 = 4.26."""
    quote = order_quote(items=basket, destination=TaxDestination("FR", "fr 40 303 265 045"))
    order = place_to(basket, "FR", vat_number="fr 40 303 265 045", company_name=" Ateliers Lumière SA ")
    assert line_money(order) == [
        ("Lamp", "standard", D("0.00"), D("16.66"), D("33.32")),
        ("Book", "reduced", D("0.00"), D("9.48"), D("9.48")),
        ("Seeds", "zero", D("0.00"), D("5.00"), D("5.00")),
    ]
    assert (order.shipping_cost, order.total) == (D("4.26"), D("52.06"))
    assert (order.reverse_charge, order.vat_number, order.company_name) == (
        True,
        FR_NUMBER,
        "Ateliers Lumière SA",
    )
    assert quote.total == order.total and quote.reverse_charge and quote.vat_groups == []
    assert Payment.objects.get(order=order).amount_authorized == D("52.06")


def test_a_german_business_pays_german_vat(basket, settings):
    settings.SHOP_TAX_COUNTRY = "DE"
    order = place_to(basket, "DE", vat_number=DE_NUMBER, company_name="Lampen GmbH")
    assert (order.total, order.reverse_charge, order.vat_number) == (D("59.88"), False, DE_NUMBER)
    assert [line.tax_rate for line in order.lines.order_by("pk")] == [D("19.00"), D("7.00"), D("0.00")]


def test_an_export_pays_the_price_as_shown_without_vat(basket):
    quote = order_quote(items=basket, destination=TaxDestination("CH"))
    order = place_to(basket, "CH")
    assert [(rate, total) for _n, _c, rate, _u, total in line_money(order)] == [
        (D("0.00"), D("39.98")),
        (D("0.00"), D("10.00")),
        (D("0.00"), D("5.00")),
    ]
    assert (order.total, order.shipping_cost, order.reverse_charge) == (D("59.88"), D("4.90"), False)
    assert quote.export and quote.vat_groups == [] and quote.total == order.total


def test_an_export_pays_the_net_price_when_the_shop_says_so(basket, settings):
    """SHOP_EXPORT_PRICES_NET: less the VAT of the shop's country (DE) the prices include: 16.80,
    9.35, 5.00; shipping shares 3.56 - 0.57, 0.89 - 0.06, 0.45: 4.27."""
    settings.SHOP_EXPORT_PRICES_NET = True
    quote = order_quote(items=basket, destination=TaxDestination("NO"))
    order = place_to(basket, "NO")
    assert [(unit, total) for _n, _c, _r, unit, total in line_money(order)] == [
        (D("16.80"), D("33.60")),
        (D("9.35"), D("9.35")),
        (D("5.00"), D("5.00")),
    ]
    assert (order.shipping_cost, order.total) == (D("4.27"), D("52.22")) == (quote.shipping_cost, quote.total)


def test_net_prices_get_the_destinations_vat_added(basket, settings):
    """Catalog prices net: 19.99 + 3.80, 10.00 + 0.70, 5.00; shipping 4.90 net split 3.56 / 0.89 /
    0.45, plus 0.68 and 0.06: 5.64."""
    settings.SHOP_PRICES_INCLUDE_VAT = False
    quote = order_quote(items=basket, destination=TaxDestination("DE"))
    order = place_to(basket, "DE")
    assert line_money(order) == [
        ("Lamp", "standard", D("19.00"), D("23.79"), D("47.58")),
        ("Book", "reduced", D("7.00"), D("10.70"), D("10.70")),
        ("Seeds", "zero", D("0.00"), D("5.00"), D("5.00")),
    ]
    assert (order.shipping_cost, order.total) == (D("5.64"), D("68.92")) == (quote.shipping_cost, quote.total)
    # 47.58 + 4.24 = 51.82 at 19 %: 8.2739; 10.70 + 0.95 = 11.65 at 7 %: 0.7621.
    assert vat_shown(quote) == [(D("19"), D("51.82"), D("8.27")), (D("7"), D("11.65"), D("0.76"))]


def test_net_prices_for_a_reverse_charge_are_the_catalog_prices(basket, settings):
    settings.SHOP_PRICES_INCLUDE_VAT = False
    order = place_to(basket, "FR", vat_number=FR_NUMBER)
    assert [line.unit_price for line in order.lines.order_by("pk")] == [D("19.99"), D("10.00"), D("5.00")]
    assert (order.shipping_cost, order.total, order.reverse_charge) == (D("4.90"), D("59.88"), True)


def test_a_rate_change_after_placement_keeps_the_promised_gross(basket):
    """Placed today at 19 %; from tomorrow Germany's standard rate is 16 %. The line keeps the rate
    and gross it was sold at; the rate on the later day (the tax point of a later shipment) is the new
    one, and the same gross splits into a larger net."""
    today = timezone.localdate()
    order = place_to(basket, "DE")
    TaxRate.objects.filter(country="DE", tax_class=TaxClass.STANDARD).update(valid_until=today)
    TaxRateFactory(
        country="DE", tax_class=TaxClass.STANDARD, rate=D("16"), valid_from=today + datetime.timedelta(days=1)
    )
    lamp = order.lines.get(product_name="Lamp")
    lamp.refresh_from_db()
    assert (lamp.tax_rate, lamp.total) == (D("19.00"), D("39.98"))
    assert vat_rate(country="DE", tax_class=TaxClass.STANDARD, on=today) == D("19.00")
    later = today + datetime.timedelta(days=30)
    assert vat_rate(country="DE", tax_class=TaxClass.STANDARD, on=later) == D("16.00")
    assert vat_split(gross=lamp.total, rate=vat_rate(country="DE", tax_class="standard", on=later)) == (
        D("34.47"),
        D("5.51"),
    )
    assert Order.objects.get(pk=order.pk).total == D("59.88")


def test_an_eu_country_without_a_rate_is_refused_and_nothing_is_written(basket):
    before = (Order.objects.count(), Payment.objects.count())
    with pytest.raises(CheckoutError) as refused:
        place_to(basket, "IT")
    assert (
        str(refused.value) == "Sorry, we cannot take orders for delivery to IT right now. Please contact us."
    )
    assert (Order.objects.count(), Payment.objects.count()) == before


def test_an_invalid_vat_number_is_refused_and_nothing_is_written(basket):
    before = (Order.objects.count(), Payment.objects.count())
    with pytest.raises(CheckoutError) as refused:
        place_to(basket, "FR", vat_number="FR40303265046")
    assert (
        str(refused.value) == "This VAT number's check digits are wrong: please check it for a typing error."
    )
    assert (Order.objects.count(), Payment.objects.count()) == before


def test_the_quote_reads_the_rates_once_for_any_number_of_lines(basket):
    """variants, availability (its own queries), rates: the same count for 1 line and for 3."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        order_quote(items=basket[:1], destination=TaxDestination("FR"))
    with CaptureQueriesContext(connection) as three:
        order_quote(items=basket, destination=TaxDestination("FR"))
    with CaptureQueriesContext(connection) as none:
        order_quote(items=basket)
    assert len(one) == len(three) == len(none) + 1
    assert sum("tax_taxrate" in q["sql"] for q in three.captured_queries) == 1
