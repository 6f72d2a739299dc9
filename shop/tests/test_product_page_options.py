"""The product page's options: which one it opens on, and what a unit that waits for stock costs.

Issue 16 items 5 and 8. The page opens on the option its listing card describes (one rule,
`inventory.selectors.availability_best`: in stock, then the soonest backorder, then the rest), and
shows the price checkout charges for a waiting unit (`orders.selectors.backorder_price`).
"""

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from inventory.models import BackorderMode, PurchaseOrderStatus, StockItem
from inventory.selectors import availability_best, availability_for_variants
from inventory.tests.factories import (
    BackorderPolicyFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    WarehouseFactory,
)
from orders.selectors import order_quote
from orders.tests.factories import OrderLineFactory
from shop.models import Product
from shop.tests.factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

# As shop/tests/test_availability_pages.py: product, variants, nav, availability (1: one statement with
# the shop's closures and the suppliers' habits), the gallery's pictures (1, however many) ...
PRODUCT_QUERIES_AVAILABLE = 5
# ... plus the alternatives and their variants when the page's variant cannot ship now.
PRODUCT_QUERIES_WITH_ALTERNATIVES = 7


@pytest.fixture(autouse=True)
def _shop(settings, time_machine):
    settings.TIME_ZONE = "UTC"
    settings.SHOP_CURRENCY = "EUR"
    settings.INVENTORY_DEFAULT_BACKORDER_MODE = "deny"
    settings.INVENTORY_DEFAULT_LEAD_TIME_DAYS = 21
    settings.INVENTORY_LOW_STOCK_THRESHOLD = 5
    time_machine.move_to(datetime(2026, 11, 21, 12, 0, tzinfo=UTC), tick=False)


# --- stock situations (test setup writes rows; the shop changes stock through inventory.services) --


def in_stock(variant, units=40):
    StockItem.objects.create(variant=variant, warehouse=WarehouseFactory(), on_hand=units)


def low_stock(variant):
    in_stock(variant, 3)


def sold_out(variant):
    StockItem.objects.create(variant=variant, warehouse=WarehouseFactory(), on_hand=2, allocated=2)


def discontinued(variant):
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW, discontinued=True)


def backorder(variant, *, due: date, discount: str | None = None):
    BackorderPolicyFactory(
        variant=variant,
        mode=BackorderMode.ALLOW,
        lead_time_days=90,
        backorder_discount_percent=Decimal(discount) if discount else None,
    )
    po = PurchaseOrderFactory(expected_date=due, status=PurchaseOrderStatus.ORDERED)
    PurchaseOrderLineFactory(purchase_order=po, variant=variant, quantity_ordered=20)


def tee(*situations) -> Product:
    """A tee whose options (in this order) are in the given situations."""
    product = ProductFactory(name="Organic Cotton Tee", slug="tee", category=CategoryFactory(slug="tees"))
    for position, situation in enumerate(situations, start=1):
        variant = VariantFactory(
            product=product, sku=f"TEE-{position}", position=position, price=Decimal("29.00")
        )
        situation(variant)
    return product


def page(client, slug="tee", **params):
    return client.get(reverse("shop:product", kwargs={"slug": slug}), params)


def opened_on(response) -> str:
    return response.context["selected_variant"].sku


def card_badge(client, category="tees") -> str:
    content = client.get(reverse("shop:category", kwargs={"slug": category})).content.decode()
    [badge] = re.findall(r'<span class="badge availability-badge [^"]*">([^<]*)</span>', content)
    return badge


def main_badge(response) -> str:
    section = response.content.decode().split('class="mb-3 product-availability"')[1]
    return re.search(r'<span class="badge availability-badge [^"]*">([^<]*)</span>', section).group(1)


# --- item 5: the option the page opens on ---------------------------------------------------


def test_opens_on_an_option_in_stock_when_the_first_is_no_longer_available(client):
    # given: the Organic Cotton Tee of the demo: S / White discontinued, the others in stock
    tee(discontinued, low_stock, in_stock)

    # when
    response = page(client)

    # then: the option the "In stock" card describes, which can be added to the cart
    assert opened_on(response) == "TEE-3"
    assert main_badge(response) == card_badge(client) == "In stock"
    assert "Add to cart" in response.content.decode()
    assert response.context["alternatives"] == []


def test_opens_on_an_option_in_stock_before_sold_out_and_backordered_sizes(client):
    # given: Approach Shoe: sold out, backorder, in stock, sold out
    tee(sold_out, lambda v: backorder(v, due=date(2026, 12, 16), discount="5"), in_stock, sold_out)

    assert opened_on(page(client)) == "TEE-3"


def test_without_stock_opens_on_the_soonest_backorder(client):
    # given: nothing in stock; the second option arrives first
    tee(
        sold_out,
        lambda v: backorder(v, due=date(2027, 1, 20)),
        lambda v: backorder(v, due=date(2026, 12, 10)),
        discontinued,
    )

    # when
    response = page(client)

    # then
    assert opened_on(response) == "TEE-3"
    assert main_badge(response) == "Backorder"
    # 10 December + the supplier's default lateness: 2 days (Saturday 12th, so Monday 14th) to 7 days
    # (Thursday 17th); the badge gives the date we are 90% sure of (docs/dates.md)
    assert card_badge(client) == "Backorder: ships by 17 Dec"
    assert "expected to ship 14–17 December 2026" in response.content.decode()
    assert "Order on backorder" in response.content.decode()


def test_with_nothing_to_buy_opens_on_an_option_that_may_come_back_before_one_that_never_will(client):
    tee(discontinued, sold_out)

    response = page(client)

    assert opened_on(response) == "TEE-2"
    assert "Notify me" in response.content.decode()


def test_among_options_alike_opens_on_the_first(client):
    tee(sold_out, in_stock, in_stock)

    assert opened_on(page(client)) == "TEE-2"


@pytest.mark.parametrize("sku", ["TEE-1", "TEE-2"])
def test_the_variant_parameter_still_opens_the_option_asked_for(client, sku):
    # given
    tee(sold_out, discontinued, in_stock)

    # when
    response = page(client, variant=sku)

    # then: that option, and since it cannot ship now, options that can
    assert opened_on(response) == sku
    assert f'href="?variant={sku}" aria-current="true"' in response.content.decode()


@pytest.mark.parametrize("sku", ["NOPE", ""])
def test_an_unknown_variant_parameter_opens_the_best_option(client, sku):
    tee(sold_out, in_stock)

    assert opened_on(page(client, variant=sku)) == "TEE-2"


def test_opening_on_the_best_option_costs_no_query_more(client, django_assert_num_queries):
    # given: the first option is sold out, another can ship: no alternatives are even looked for
    tee(sold_out, discontinued, in_stock)

    # when
    with django_assert_num_queries(PRODUCT_QUERIES_AVAILABLE):
        response = page(client)

    # then
    assert opened_on(response) == "TEE-3"


def test_alternatives_when_no_option_ships_now_cost_what_they_did(client, django_assert_num_queries):
    # given: nothing of the tee ships now; another product of its category does
    product = tee(sold_out, lambda v: backorder(v, due=date(2026, 12, 10)))
    other = ProductFactory(name="Linen Tee", slug="linen", category=product.category)
    in_stock(VariantFactory(product=other))

    # when
    with django_assert_num_queries(PRODUCT_QUERIES_WITH_ALTERNATIVES):
        response = page(client)

    # then
    assert opened_on(response) == "TEE-2"
    assert [p.name for p in response.context["alternatives"]] == ["Linen Tee"]


def test_every_demo_product_opens_on_the_option_its_card_describes(client):
    # given: the demo shop (catalog, stock, purchase orders and its customers' orders)
    call_command("seed_demo", verbosity=0)
    products = list(Product.objects.prefetch_related("variants"))
    availabilities = availability_for_variants(
        variant_ids=[v.pk for p in products for v in p.variants.all() if v.is_active]
    )

    for product in products:
        best = availability_best(availabilities[v.pk] for v in product.variants.all() if v.is_active)

        # when
        response = page(client, slug=product.slug)

        # then
        assert response.context["selected_variant"].pk == best.variant_id, product.name
    # and the products of the issue open on an option that ships now
    for name in [
        "Organic Cotton Tee",
        "Approach Shoe",
        "Camp Sandal",
        "Merino Hiking Socks",
        "Trail Fleece Jacket",
        "Non-stick Frying Pan",
    ]:
        response = page(client, slug=Product.objects.get(name=name).slug)
        assert response.context["availability"].status in {"in_stock", "low_stock"}, name


# --- item 8: the price of a unit that waits ----------------------------------------------------


def structured_offers(response) -> dict[str, dict]:
    [block] = re.findall(
        r'<script type="application/ld\+json">(.*?)</script>', response.content.decode(), re.S
    )
    return {offer["sku"]: offer for offer in json.loads(block)["offers"]}


def price_block(response) -> str:
    match = re.search(
        r'<p class="fs-3 fw-semibold mb-1 product-price">(.*?)</p>', response.content.decode(), re.S
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", match.group(1))).strip()


def test_a_backorder_only_option_shows_the_price_paid_for_waiting(client):
    # given: every unit waits, 5% off €29.00
    tee(lambda v: backorder(v, due=date(2026, 12, 16), discount="5"))

    # when
    response = page(client)

    # then: the price checkout will charge, first and clearly
    assert price_block(response) == "€27.55 if you wait for it (5% off €29.00)"
    assert "Save" not in response.content.decode()
    assert structured_offers(response)["TEE-1"]["price"] == "27.55"


def test_the_option_list_shows_the_waiting_price_of_backorder_options(client):
    # given
    tee(in_stock, lambda v: backorder(v, due=date(2026, 12, 16), discount="5"))

    # when
    response = page(client)

    # then
    prices = re.findall(r'<span class="variant-price">([^<]*)</span>', response.content.decode())
    assert [re.sub(r"\s+", " ", p).strip() for p in prices] == ["€29.00", "€27.55 if you wait (5% off)"]
    assert structured_offers(response)["TEE-1"]["price"] == "29.00"
    assert structured_offers(response)["TEE-2"]["price"] == "27.55"


def test_an_option_in_stock_says_what_units_beyond_the_stock_cost(client):
    # given: 3 in stock, more on backorder at 10% off
    def low_with_backorders(variant):
        low_stock(variant)
        backorder(variant, due=date(2026, 12, 16), discount="10")

    tee(low_with_backorders)

    # when
    response = page(client)

    # then
    assert price_block(response) == "€29.00"
    content = re.sub(r"\s+", " ", response.content.decode())
    assert "More than 3? The extra units cost €26.10 each if you wait for them (10% off)." in content


@pytest.mark.parametrize(
    ("price", "discount", "shown"),
    [("29.00", "5", "€27.55"), ("10.30", "5", "€9.79"), ("19.99", "12.5", "€17.49")],
)
def test_the_page_and_checkout_price_a_waiting_unit_alike(client, price, discount, shown):
    # given: 10.30 × 0.95 = 9.785, which checkout rounds half up
    product = ProductFactory(slug="tee")
    variant = VariantFactory(product=product, price=Decimal(price))
    backorder(variant, due=date(2026, 12, 16), discount=discount)

    # when
    response = page(client)
    [line] = order_quote(items=[(variant.pk, 1)]).lines

    # then
    assert price_block(response).startswith(f"{shown} if you wait for it")
    assert f"€{line.backorder_unit_price}" == shown
    assert line.total == line.backorder_unit_price


def test_no_discount_no_waiting_price(client):
    # given: waiting earns nothing
    tee(lambda v: backorder(v, due=date(2026, 12, 16)))
    OrderLineFactory(variant=Product.objects.get().variants.get(), quantity=1)

    # when
    response = page(client)

    # then
    assert price_block(response) == "€29.00"
    assert "if you wait" not in response.content.decode()
