"""Availability on the customer pages: product page message and JSON-LD, listing badges and
filter, alternatives for what cannot ship now, and the query budgets that come with them."""

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from inventory.models import BackorderMode, PurchaseOrderStatus, StockItem
from inventory.tests.factories import (
    BackorderPolicyFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    WarehouseFactory,
)
from orders.tests.factories import OrderLineFactory
from shop.templatetags.shop_tags import availability_short, json_ld, percent
from shop.tests.factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 21)  # a Saturday

# Availability (availability_for_variants) is 1 query: one statement reads the numbers, the open
# purchase-order lines, their suppliers' orders (the habits) and the shop's closures (the shipping
# calendar, read once per request: inventory.selectors.scope). docs/dates.md.
# Product page: product, its variants (with stock), its gallery's pictures (1, however many), nav,
# availability (1) ...
PRODUCT_QUERIES_AVAILABLE = 5
# ... plus the alternatives and their variants and their availability (1; the calendar is not read
# again) when the selected variant cannot ship now.
PRODUCT_QUERIES_WITH_ALTERNATIVES = 7
# category + children, nav, count, page, variants, availability (1)
CATEGORY_QUERIES = 6
SEARCH_QUERIES = 5  # nav, count, page, variants, availability (1)
# On PostgreSQL a search asks first whether any word or SKU matched (shop/search.py): one more query.
SEARCH_QUERIES_PG = SEARCH_QUERIES + 1


@pytest.fixture(autouse=True)
def _shop(settings, time_machine):
    settings.TIME_ZONE = "UTC"
    settings.SHOP_CURRENCY = "EUR"
    settings.INVENTORY_DEFAULT_BACKORDER_MODE = "deny"
    settings.INVENTORY_DEFAULT_LEAD_TIME_DAYS = 21
    settings.INVENTORY_LOW_STOCK_THRESHOLD = 5
    settings.INVENTORY_OVERDUE_GRACE_DAYS = 3
    time_machine.move_to(datetime(2026, 11, 21, 12, 0, tzinfo=UTC), tick=False)


# --- Building stock situations (as inventory/tests/test_selectors.py does) ----------------


def stock(variant, on_hand, allocated=0):
    # Test setup writes rows directly; production code goes through inventory.services.
    return StockItem.objects.create(
        variant=variant, warehouse=WarehouseFactory(), on_hand=on_hand, allocated=allocated
    )


def incoming(variant, quantity, expected):
    po = PurchaseOrderFactory(expected_date=expected, status=PurchaseOrderStatus.ORDERED)
    return PurchaseOrderLineFactory(purchase_order=po, variant=variant, quantity_ordered=quantity)


def in_stock(variant):
    stock(variant, 40)


def low_stock(variant):
    stock(variant, 3)


def backorder(variant):
    """5 units wait; the next purchase order brings 20 on 1 December: a new backorder ships then."""
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW, lead_time_days=60)
    OrderLineFactory(variant=variant, quantity=5)
    incoming(variant, 20, date(2026, 12, 1))


def out_of_stock(variant):
    stock(variant, 2, allocated=2)


def discontinued(variant):
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW, discontinued=True)


SITUATIONS = {
    "in_stock": in_stock,
    "low_stock": low_stock,
    "backorder": backorder,
    "out_of_stock": out_of_stock,
    "discontinued": discontinued,
}


def product_with(situation: str, *, name="Kettle", slug="kettle", category=None, **variant_kwargs):
    kwargs = {"category": category} if category else {}
    product = ProductFactory(name=name, slug=slug, **kwargs)
    variant = VariantFactory(product=product, **variant_kwargs)
    SITUATIONS[situation](variant)
    return product


def structured_data(response) -> dict:
    content = response.content.decode()
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', content, re.S)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def badge_texts(response) -> list[str]:
    return re.findall(
        r'<span class="badge availability-badge [^"]*">([^<]*)</span>', response.content.decode()
    )


def names(products) -> list[str]:
    return [p.name for p in products]


def product_page(client, slug="kettle", **params):
    return client.get(reverse("shop:product", kwargs={"slug": slug}), params)


# --- Product page: message, badge and JSON-LD for each status -------------------------------
# `backorder()` ships 3–8 December: its purchase order's 1 December + the supplier's default lateness
# (2 days typical, 7 days 9 times in 10); the badge ("ships by 8 Dec") and the JSON-LD's
# availabilityStarts give the date we are 90% sure of (docs/dates.md).


@pytest.mark.parametrize(
    ("situation", "label", "message", "schema"),
    [
        ("in_stock", "In stock", "In stock, ready to ship", "https://schema.org/InStock"),
        ("low_stock", "Low stock", "Only 3 left in stock", "https://schema.org/LimitedAvailability"),
        (
            "backorder",
            "Backorder",
            # the purchase order's 1 December + the supplier's default lateness, 2 to 7 days (docs/dates.md)
            "Available on backorder, expected to ship 3–8 December 2026",
            "https://schema.org/BackOrder",
        ),
        ("out_of_stock", "Out of stock", "Out of stock", "https://schema.org/OutOfStock"),
        (
            "discontinued",
            "No longer available",
            "No longer available: this item will not be restocked",
            "https://schema.org/Discontinued",
        ),
    ],
)
def test_product_page_shows_the_status_of_the_selected_variant(client, situation, label, message, schema):
    # given
    product_with(situation, sku="KET-1", price=Decimal("24.50"))

    # when
    response = product_page(client)

    # then
    assert response.status_code == 200
    assert response.context["availability"].status == situation
    content = response.content.decode()
    assert f'<span class="badge availability-badge availability-{situation}">{label}</span>' in content
    if message.lower() == label.lower():  # said once: the badge alone ("Out of stock", not twice)
        assert 'class="availability-message"' not in content
    else:
        assert f'<span class="availability-message">{message}</span>' in content
    [offer] = structured_data(response)["offers"]
    assert offer["availability"] == schema
    if situation == "backorder":
        assert offer["availabilityStarts"] == "2026-12-08"  # the date we are 90% sure of
    else:
        assert "availabilityStarts" not in offer


def test_product_json_ld_is_a_schema_org_product_with_one_offer_per_active_variant(client):
    # given
    shirt = ProductFactory(name="Shirt", slug="shirt", description="Soft cotton.")
    small = VariantFactory(product=shirt, sku="SHIRT-S", price=Decimal("20.00"), position=1)
    medium = VariantFactory(product=shirt, sku="SHIRT-M", price=Decimal("22.50"), position=2)
    VariantFactory(product=shirt, sku="SHIRT-XL", position=3, is_active=False)
    in_stock(small)
    backorder(medium)

    # when
    response = product_page(client, slug="shirt", variant="SHIRT-M")

    # then
    assert structured_data(response) == {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "Shirt",
        "description": "Soft cotton.",
        "url": "http://testserver/p/shirt/",
        "sku": "SHIRT-M",
        "offers": [
            {
                "@type": "Offer",
                "sku": "SHIRT-S",
                "price": "20.00",
                "priceCurrency": "EUR",
                "url": "http://testserver/p/shirt/?variant=SHIRT-S",
                "availability": "https://schema.org/InStock",
            },
            {
                "@type": "Offer",
                "sku": "SHIRT-M",
                "price": "22.50",
                "priceCurrency": "EUR",
                "url": "http://testserver/p/shirt/?variant=SHIRT-M",
                "availability": "https://schema.org/BackOrder",
                "availabilityStarts": "2026-12-08",
            },
        ],
    }


def test_product_json_ld_uses_the_shop_currency_and_cannot_close_its_script(client, settings):
    # given
    settings.SHOP_CURRENCY = "GBP"
    product = product_with("in_stock", name="Bad </script><script>alert(1)</script> & co")

    # when
    response = product_page(client, slug=product.slug)

    # then: the name is escaped inside the data block, and the block parses back to the name
    content = response.content.decode()
    assert "</script><script>alert(1)" not in content
    assert "Bad \\u003C/script\\u003E\\u003Cscript\\u003Ealert(1)\\u003C/script\\u003E \\u0026 co" in content
    data = structured_data(response)
    assert data["name"] == "Bad </script><script>alert(1)</script> & co"
    assert data["offers"][0]["priceCurrency"] == "GBP"


def test_json_ld_tag_escapes_like_json_script():
    html = json_ld({"a": "<b>&</b>", "d": date(2026, 12, 1)})

    assert html == (
        '<script type="application/ld+json">'
        '{"a": "\\u003Cb\\u003E\\u0026\\u003C/b\\u003E", "d": "2026-12-01"}</script>'
    )


def test_product_page_offers_the_backorder_discount(client):
    # given
    product = ProductFactory(slug="kettle")
    variant = VariantFactory(product=product)
    BackorderPolicyFactory(
        variant=variant,
        mode=BackorderMode.ALLOW,
        lead_time_days=10,
        backorder_discount_percent=Decimal("10.00"),
    )

    # when
    response = product_page(client)

    # then
    content = response.content.decode()
    # today (Saturday 21 November) + 10 days' lead time + the default lateness of 2 to 7 days
    assert "Available on backorder, expected to ship 3–8 December 2026" in content
    price = variant.price
    waiting = (price * Decimal("0.9")).quantize(Decimal("0.01"))
    assert (
        f'€{waiting} <span class="fs-6 fw-normal product-price-note">if you wait for it (10% off €{price})'
        in content
    )


def test_product_page_without_a_discount_says_nothing_about_saving(client):
    product_with("backorder")

    response = product_page(client)

    assert "Save" not in response.content.decode()


def test_variant_picker_shows_each_variant_status(client):
    # given
    shirt = ProductFactory(slug="shirt")
    variants = [
        VariantFactory(product=shirt, sku=f"SHIRT-{n}", option_values={"size": size}, position=n)
        for n, size in enumerate(["S", "M", "L", "XL", "XXL"])
    ]
    for variant, situation in zip(variants, SITUATIONS, strict=True):
        SITUATIONS[situation](variant)

    # when
    response = product_page(client, slug="shirt")

    # then: picker badges in variant order, then the selected variant's badge
    assert badge_texts(response) == [
        "In stock",
        "Only 3 left",
        "Backorder: ships by 8 Dec",
        "Out of stock",
        "No longer available",
        "In stock",
    ]


@pytest.mark.parametrize("variant_count", [1, 5])
def test_product_page_query_count_does_not_grow_with_variants(
    client, django_assert_num_queries, variant_count
):
    # given: every variant in stock, so no alternatives are looked for
    product = ProductFactory(slug="kettle")
    for _ in range(variant_count):
        in_stock(VariantFactory(product=product))

    # when
    with django_assert_num_queries(PRODUCT_QUERIES_AVAILABLE):
        response = product_page(client)

    # then
    assert len(response.context["variants"]) == variant_count


# --- Alternatives ---------------------------------------------------------------------------------


def make_alternatives_catalog():
    """Kettle at €40.00 (out of stock) in Kitchen; substitutes and products of Kitchen and of another
    category in every situation, at prices near and far."""
    kitchen = CategoryFactory(name="Kitchen")
    kettle = product_with(
        "out_of_stock", name="Kettle", slug="kettle", category=kitchen, price=Decimal("40.00")
    )
    substitutes = [
        product_with(
            "in_stock", name="Zeta substitute", slug="zeta", category=kitchen, price=Decimal("12.34")
        ),
        product_with("backorder", name="Backordered substitute", slug="sub-backorder", category=kitchen),
        product_with(
            "low_stock", name="Low substitute", slug="low", category=kitchen, price=Decimal("35.00")
        ),
        product_with("in_stock", name="Hidden substitute", slug="hidden", category=kitchen),
        # named a substitute by staff, but of another category: not something to buy instead
        product_with("in_stock", name="Foreign substitute", slug="foreign", price=Decimal("40.00")),
    ]
    substitutes[3].is_active = False
    substitutes[3].save()
    kettle.substitutes.add(*substitutes)
    product_with("in_stock", name="Delta", slug="delta", category=kitchen, price=Decimal("41.00"))
    product_with("in_stock", name="Alpha", slug="alpha", category=kitchen, price=Decimal("60.00"))
    product_with("in_stock", name="Gamma", slug="gamma", category=kitchen, price=Decimal("38.00"))
    product_with("backorder", name="Beta", slug="beta", category=kitchen, price=Decimal("40.00"))
    product_with("discontinued", name="Epsilon", slug="epsilon", category=kitchen, price=Decimal("40.00"))
    product_with("in_stock", name="Elsewhere", slug="elsewhere", price=Decimal("40.00"))  # another category
    return kettle


def test_alternatives_are_same_category_products_that_ship_now_substitutes_first_closest_price_first(client):
    # given
    make_alternatives_catalog()

    # when
    response = product_page(client)

    # then: Kitchen only; staff's substitutes first; each group closest to the kettle's €40.00 first
    alternatives = response.context["alternatives"]
    assert names(alternatives) == ["Low substitute", "Zeta substitute", "Delta", "Gamma"]
    assert [p.availability.status for p in alternatives] == ["low_stock", "in_stock", "in_stock", "in_stock"]
    content = response.content.decode()
    assert '<h2 id="alternatives-heading" class="h4">Available now instead</h2>' in content
    assert badge_texts(response)[-4:] == ["Only 3 left", "In stock", "In stock", "In stock"]
    assert 'href="/p/zeta/">Zeta substitute</a>' in content
    assert "€12.34" in content.split('id="alternatives-heading"')[1]
    for elsewhere in ("Foreign substitute", "Elsewhere", "Alpha"):
        assert elsewhere not in content


def test_no_alternatives_block_when_only_other_categories_can_ship(client):
    # given: the kettle's only substitute that ships now is of another category, and so is the rest
    kitchen = CategoryFactory(name="Kitchen")
    kettle = product_with("out_of_stock", category=kitchen)
    kettle.substitutes.add(product_with("in_stock", name="Foreign substitute", slug="foreign"))
    product_with("in_stock", name="Elsewhere", slug="elsewhere")

    # when
    response = product_page(client)

    # then
    assert response.context["alternatives"] == []
    assert "Available now instead" not in response.content.decode()


@pytest.mark.parametrize("situation", ["backorder", "out_of_stock", "discontinued"])
def test_alternatives_are_shown_for_every_status_that_cannot_ship_now(client, situation):
    # given
    kitchen = CategoryFactory()
    product_with(situation, category=kitchen)
    product_with("in_stock", name="Other kettle", slug="other", category=kitchen)

    # when
    response = product_page(client)

    # then
    assert names(response.context["alternatives"]) == ["Other kettle"]
    assert "Available now instead" in response.content.decode()


@pytest.mark.parametrize("situation", ["in_stock", "low_stock"])
def test_no_alternatives_for_a_variant_that_ships_now(client, django_assert_num_queries, situation):
    # given
    kitchen = CategoryFactory()
    product_with(situation, category=kitchen)
    product_with("in_stock", name="Other kettle", slug="other", category=kitchen)

    # when
    with django_assert_num_queries(PRODUCT_QUERIES_AVAILABLE):  # and none is even looked for
        response = product_page(client)

    # then
    assert response.context["alternatives"] == []
    assert "Available now instead" not in response.content.decode()


def test_alternatives_follow_the_selected_variant(client):
    # given: the first variant ships now, the second is out of stock
    kitchen = CategoryFactory()
    kettle = ProductFactory(slug="kettle", category=kitchen)
    in_stock(VariantFactory(product=kettle, sku="KET-RED", position=1))
    out_of_stock(VariantFactory(product=kettle, sku="KET-BLUE", position=2))
    product_with("in_stock", name="Other kettle", slug="other", category=kitchen)

    # when
    red = product_page(client)
    blue = product_page(client, variant="KET-BLUE")

    # then
    assert red.context["alternatives"] == []
    assert names(blue.context["alternatives"]) == ["Other kettle"]


def test_nothing_is_shown_when_no_alternative_is_available(client):
    # given
    kitchen = CategoryFactory()
    product_with("out_of_stock", category=kitchen)
    product_with("backorder", name="Other kettle", slug="other", category=kitchen)

    # when
    response = product_page(client)

    # then
    assert response.context["alternatives"] == []
    assert "Available now instead" not in response.content.decode()


@pytest.mark.parametrize("candidates", [1, 4])
def test_alternatives_query_count_does_not_grow_with_candidates(
    client, django_assert_num_queries, candidates
):
    # given: each candidate has two variants, one in stock
    kitchen = CategoryFactory()
    product_with("out_of_stock", category=kitchen)
    for n in range(candidates):
        other = product_with("in_stock", name=f"Other {n}", slug=f"other-{n}", category=kitchen)
        backorder(VariantFactory(product=other))

    # when
    with django_assert_num_queries(PRODUCT_QUERIES_WITH_ALTERNATIVES):
        response = product_page(client)

    # then
    assert len(response.context["alternatives"]) == candidates


def test_product_page_budgets_are_within_eight_queries():
    assert max(PRODUCT_QUERIES_AVAILABLE, PRODUCT_QUERIES_WITH_ALTERNATIVES) <= 10


# --- Listing badges ------------------------------------------------------------------------------


def make_fruit_catalog():
    """One product per status in category 'fruit', plus Fig whose best variant is on backorder."""
    fruit = CategoryFactory(slug="fruit")
    product_with("in_stock", name="Apple", slug="apple", category=fruit, price=Decimal("3.00"))
    product_with("low_stock", name="Banana", slug="banana", category=fruit, price=Decimal("1.00"))
    product_with("backorder", name="Cherry", slug="cherry", category=fruit, price=Decimal("6.00"))
    product_with("out_of_stock", name="Damson", slug="damson", category=fruit, price=Decimal("4.00"))
    product_with("discontinued", name="Elder", slug="elder", category=fruit, price=Decimal("5.00"))
    fig = product_with("out_of_stock", name="Fig", slug="fig", category=fruit, price=Decimal("2.00"))
    backorder(VariantFactory(product=fig, price=Decimal("2.50")))
    return fruit


def test_category_listing_shows_the_best_status_of_each_product(client):
    # given
    make_fruit_catalog()

    # when
    response = client.get(reverse("shop:category", kwargs={"slug": "fruit"}))

    # then
    assert names(response.context["products"]) == ["Apple", "Banana", "Cherry", "Damson", "Elder", "Fig"]
    assert badge_texts(response) == [
        "In stock",
        "Only 3 left",
        "Backorder: ships by 8 Dec",
        "Out of stock",
        "No longer available",
        "Backorder: ships by 8 Dec",
    ]


def test_a_product_with_any_variant_in_stock_is_badged_in_stock(client):
    # given
    fruit = CategoryFactory(slug="fruit")
    product = product_with("backorder", name="Apple", category=fruit)
    in_stock(VariantFactory(product=product))

    # when
    response = client.get(reverse("shop:category", kwargs={"slug": "fruit"}))

    # then
    assert badge_texts(response) == ["In stock"]


def test_home_and_search_show_badges(client):
    # given
    product_with("low_stock", name="Apple kettle", slug="apple")
    featured = product_with("backorder", name="Berry kettle", slug="berry")
    featured.is_featured = True
    featured.save()

    # when
    home = client.get(reverse("shop:home"))
    search = client.get(reverse("shop:search"), {"q": "kettle"})

    # then
    assert badge_texts(home) == ["Backorder: ships by 8 Dec"]
    assert badge_texts(search) == ["Only 3 left", "Backorder: ships by 8 Dec"]


# --- Listing filter -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("availability", "expected"),
    [
        ("now", ["Apple", "Banana"]),
        ("backorder", ["Cherry", "Fig"]),
        ("", ["Apple", "Banana", "Cherry", "Damson", "Elder", "Fig"]),
        ("soon", ["Apple", "Banana", "Cherry", "Damson", "Elder", "Fig"]),
        ("now'; DROP TABLE", ["Apple", "Banana", "Cherry", "Damson", "Elder", "Fig"]),
    ],
)
def test_category_availability_filter(client, availability, expected):
    # given
    make_fruit_catalog()

    # when
    response = client.get(reverse("shop:category", kwargs={"slug": "fruit"}), {"availability": availability})

    # then
    assert response.status_code == 200
    assert names(response.context["products"]) == expected


def test_availability_filter_combines_with_search_and_sort(client):
    # given
    make_fruit_catalog()
    url = reverse("shop:category", kwargs={"slug": "fruit"})

    # when: "e" matches Apple, Cherry and Elder; only Apple ships now
    now = client.get(url, {"availability": "now", "q": "e", "sort": "-price"})
    later = client.get(url, {"availability": "backorder", "sort": "-price"})

    # then
    assert names(now.context["products"]) == ["Apple"]
    assert names(later.context["products"]) == ["Cherry", "Fig"]
    assert names(client.get(url, {"availability": "backorder", "sort": "price"}).context["products"]) == [
        "Fig",
        "Cherry",
    ]


def test_search_availability_filter(client):
    # given
    make_fruit_catalog()

    # when
    response = client.get(reverse("shop:search"), {"q": "sku", "availability": "backorder"})

    # then: "sku" matches every product by SKU; two of them can be backordered
    assert names(response.context["products"]) == ["Cherry", "Fig"]


def test_pagination_links_keep_the_availability_filter(client, settings):
    # given
    settings.SHOP_PAGE_SIZE = 1
    make_fruit_catalog()

    # when
    response = client.get(
        reverse("shop:category", kwargs={"slug": "fruit"}), {"availability": "now", "sort": "-price"}
    )

    # then
    assert names(response.context["products"]) == ["Apple"]
    assert b'href="?availability=now&amp;sort=-price&amp;page=2"' in response.content
    page2 = client.get(
        reverse("shop:category", kwargs={"slug": "fruit"}),
        {"availability": "now", "sort": "-price", "page": 2},
    )
    assert names(page2.context["products"]) == ["Banana"]


def test_listing_controls_offer_the_filter_and_keep_the_choice(client):
    make_fruit_catalog()

    response = client.get(reverse("shop:category", kwargs={"slug": "fruit"}), {"availability": "backorder"})

    content = response.content.decode()
    assert '<select class="form-select" id="listing-availability" name="availability">' in content
    assert '<option value="">Any availability</option>' in content
    assert '<option value="now">Available now</option>' in content
    assert '<option value="backorder" selected>Can be backordered</option>' in content
    assert "2 products (can be backordered)" in content


def test_empty_filtered_listing_says_so(client):
    fruit = CategoryFactory(slug="fruit")
    product_with("out_of_stock", category=fruit)

    response = client.get(reverse("shop:category", kwargs={"slug": "fruit"}), {"availability": "now"})

    assert names(response.context["products"]) == []
    assert "No products here match “Available now” right now." in response.content.decode()


@pytest.mark.parametrize("count", [1, 24])
def test_filtered_listing_query_budget(client, django_assert_num_queries, count):
    # given
    fruit = CategoryFactory(slug="fruit")
    for n in range(count):
        product = product_with("in_stock", name=f"Fruit {n:02d}", slug=f"fruit-{n}", category=fruit)
        backorder(VariantFactory(product=product))

    # when
    with django_assert_num_queries(CATEGORY_QUERIES):
        response = client.get(reverse("shop:category", kwargs={"slug": "fruit"}), {"availability": "now"})

    # then
    assert len(response.context["products"]) == count
    assert badge_texts(response) == ["In stock"] * count


@pytest.mark.parametrize("count", [1, 24])
def test_search_query_budget(client, django_assert_num_queries, count):
    # given
    for n in range(count):
        product = product_with("low_stock", name=f"Kettle {n:02d}", slug=f"kettle-{n}")
        backorder(VariantFactory(product=product))

    # when
    with django_assert_num_queries(
        SEARCH_QUERIES_PG if connection.vendor == "postgresql" else SEARCH_QUERIES
    ):
        response = client.get(reverse("shop:search"), {"q": "kettle"})

    # then
    assert len(response.context["products"]) == count


# --- Template filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("10.00"), "10"), (Decimal("12.50"), "12.5"), (Decimal("100"), "100"), (None, ""), ("x", "")],
)
def test_percent(value, expected):
    assert percent(value) == expected


def test_availability_short_of_nothing_is_empty():
    assert availability_short(None) == ""


def test_out_of_stock_page_offers_notify_me_and_in_stock_page_does_not(client):
    from inventory.services import stock_adjust
    from inventory.tests.factories import WarehouseFactory

    gone = VariantFactory(product__slug="gone-lamp")
    here = VariantFactory(product__slug="here-lamp")
    stock_adjust(variant_id=here.pk, warehouse_id=WarehouseFactory().pk, quantity_change=9)

    gone_page = client.get("/p/gone-lamp/").content.decode()
    here_page = client.get("/p/here-lamp/").content.decode()

    assert f'action="/notifications/notify-me/{gone.pk}/"' in gone_page
    assert "Notify me" in gone_page
    assert "Notify me" not in here_page
