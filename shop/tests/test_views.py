from decimal import Decimal

import pytest
from django.urls import reverse

from shop.models import WorkerHeartbeat
from shop.tests.factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

# Queries an anonymous visitor's page makes, whatever the number of products.
# Availability of every variant on a page is one availability_for_variants call: 1 query (one statement:
# the numbers, the open purchase-order lines, the suppliers' habits, the shop's closures).
HOME_QUERIES = 4  # nav categories, featured products, their variants, availability (1)
HOME_FALLBACK_QUERIES = 5  # ... plus newest products when none is featured
CATEGORY_QUERIES = 6  # category + children, nav, count, page of products, their variants, availability (1)
# Product, its variants (with stock), its gallery's pictures (1, however many), nav, availability (1);
# alternatives are looked for because make_catalog's variants are out of stock, and none is found, so
# their variants are not fetched.
PRODUCT_QUERIES = 6


def make_catalog(count: int, **product_kwargs):
    """`count` products in one category, each with two variants (9.90 and 19.90)."""
    category = CategoryFactory(slug="things")
    products = ProductFactory.create_batch(count, category=category, **product_kwargs)
    for product in products:
        VariantFactory(product=product, price=Decimal("9.90"))
        VariantFactory(product=product, price=Decimal("19.90"))
    return category, products


def names(response) -> list[str]:
    return [p.name for p in response.context["products"]]


# --- Query budgets -----------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 24])
def test_home_query_budget(client, django_assert_num_queries, count):
    make_catalog(count, is_featured=True)

    with django_assert_num_queries(HOME_QUERIES):
        response = client.get(reverse("shop:home"))

    assert response.status_code == 200
    assert len(response.context["products"]) == min(count, 8)


@pytest.mark.parametrize("count", [1, 24])
def test_home_query_budget_when_nothing_is_featured(client, django_assert_num_queries, count):
    make_catalog(count)

    with django_assert_num_queries(HOME_FALLBACK_QUERIES):
        response = client.get(reverse("shop:home"))

    assert response.status_code == 200
    assert response.context["products_heading"] == "New arrivals"


@pytest.mark.parametrize("count", [1, 24])
def test_category_query_budget(client, django_assert_num_queries, count):
    make_catalog(count)

    with django_assert_num_queries(CATEGORY_QUERIES):
        response = client.get(reverse("shop:category", kwargs={"slug": "things"}))

    assert response.status_code == 200
    assert len(response.context["products"]) == count


@pytest.mark.parametrize("count", [1, 24])
def test_product_query_budget(client, django_assert_num_queries, count):
    _, products = make_catalog(count)

    with django_assert_num_queries(PRODUCT_QUERIES):
        response = client.get(products[0].get_absolute_url())

    assert response.status_code == 200


def test_budgets_are_within_eight_queries():
    assert max(HOME_QUERIES, HOME_FALLBACK_QUERIES, CATEGORY_QUERIES, PRODUCT_QUERIES) <= 8


# --- Home --------------------------------------------------------------------------


def test_home_shows_featured_products_and_categories(client):
    VariantFactory(product__name="Plain", product__category__name="Kitchen")
    VariantFactory(product__name="Star", product__is_featured=True, product__category__name="Garden")

    response = client.get(reverse("shop:home"))

    assert names(response) == ["Star"]
    assert response.context["products_heading"] == "Featured products"
    assert [c.name for c in response.context["nav_categories"]] == ["Garden", "Kitchen"]
    assert b"Featured products" in response.content


def test_home_empty_state(client):
    response = client.get(reverse("shop:home"))

    assert response.status_code == 200
    assert b"Nothing on the shelves yet" in response.content


# --- Category listing ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Apple", "Banana", "Cherry"]),
        ("price", ["Cherry", "Apple", "Banana"]),
        ("-price", ["Banana", "Apple", "Cherry"]),
        ("newest", ["Banana", "Cherry", "Apple"]),
    ],
)
def test_category_sorting(client, sort, expected):
    category = CategoryFactory(slug="fruit")
    VariantFactory(product__name="Apple", product__category=category, price=Decimal("5.00"))
    VariantFactory(product__name="Cherry", product__category=category, price=Decimal("2.00"))
    VariantFactory(product__name="Banana", product__category=category, price=Decimal("8.00"))

    response = client.get(reverse("shop:category", kwargs={"slug": "fruit"}), {"sort": sort})

    assert names(response) == expected


def test_category_pagination(client, settings):
    settings.SHOP_PAGE_SIZE = 2
    category = CategoryFactory(slug="fruit")
    for name in ["A", "B", "C", "D", "E"]:
        VariantFactory(product__name=name, product__category=category)
    url = reverse("shop:category", kwargs={"slug": "fruit"})

    page2 = client.get(url, {"page": 2})
    page3 = client.get(url, {"page": 3})

    assert names(page2) == ["C", "D"]
    assert names(page3) == ["E"]
    assert page2.context["page_obj"].paginator.num_pages == 3
    assert b'href="?page=3"' in page2.content
    assert b'href="?page=1"' in page2.content


def test_pagination_links_keep_query_and_sort(client, settings):
    settings.SHOP_PAGE_SIZE = 1
    category = CategoryFactory(slug="fruit")
    VariantFactory(product__name="Apple pie", product__category=category)
    VariantFactory(product__name="Apple tart", product__category=category)

    response = client.get(
        reverse("shop:category", kwargs={"slug": "fruit"}), {"q": "apple", "sort": "newest"}
    )

    assert names(response) == ["Apple tart"]
    assert b'href="?q=apple&amp;sort=newest&amp;page=2"' in response.content


@pytest.mark.parametrize(
    ("params", "expected_page", "expected"),
    [
        ({"page": "abc"}, 1, ["A", "B"]),
        ({"page": "999"}, 2, ["C"]),
        ({"page": "-1"}, 2, ["C"]),
        ({"page": ""}, 1, ["A", "B"]),
        ({"sort": "nonsense"}, 1, ["A", "B"]),
        ({"sort": "name'; DROP TABLE"}, 1, ["A", "B"]),
        ({"q": "x" * 5000}, 1, []),
    ],
)
def test_bad_listing_params_fall_back_to_defaults(client, settings, params, expected_page, expected):
    settings.SHOP_PAGE_SIZE = 2
    category = CategoryFactory(slug="letters")
    for name in ["C", "A", "B"]:
        VariantFactory(product__name=name, product__category=category)

    response = client.get(reverse("shop:category", kwargs={"slug": "letters"}), params)

    assert response.status_code == 200
    assert response.context["page_obj"].number == expected_page
    assert names(response) == expected


def test_nul_byte_in_a_parameter_is_a_clear_400(client):
    CategoryFactory(slug="letters")

    response = client.get(reverse("shop:category", kwargs={"slug": "letters"}), {"q": "\x00"})

    assert response.status_code == 400


def test_category_search_by_sku_stays_within_category(client):
    kitchen = CategoryFactory(slug="kitchen")
    VariantFactory(product__name="Kettle", product__category=kitchen, sku="KIT-001")
    VariantFactory(product__name="Toaster", product__category=kitchen, sku="KIT-002")
    VariantFactory(product__name="Spade", sku="KIT-003")  # another category

    response = client.get(reverse("shop:category", kwargs={"slug": "kitchen"}), {"q": "kit-00"})

    assert names(response) == ["Kettle", "Toaster"]


def test_category_includes_subcategory_products_and_lists_subcategories(client):
    tools = CategoryFactory(name="Tools", slug="tools")
    saws = CategoryFactory(name="Saws", parent=tools)
    VariantFactory(product__name="Hammer", product__category=tools)
    VariantFactory(product__name="Saw", product__category=saws)

    response = client.get(reverse("shop:category", kwargs={"slug": "tools"}))

    assert names(response) == ["Hammer", "Saw"]
    assert [c.name for c in response.context["subcategories"]] == ["Saws"]


def test_inactive_category_is_404(client):
    CategoryFactory(slug="gone", is_active=False)

    response = client.get(reverse("shop:category", kwargs={"slug": "gone"}))

    assert response.status_code == 404


def test_listing_shows_price_with_currency(client, settings):
    settings.SHOP_CURRENCY = "EUR"
    category = CategoryFactory(slug="things")
    product = ProductFactory(category=category, name="Mug")
    VariantFactory(product=product, price=Decimal("1234.5"))
    VariantFactory(product=product, price=Decimal("19.9"))

    response = client.get(reverse("shop:category", kwargs={"slug": "things"}))

    assert "from</span> €19.90".encode() in response.content


# --- Catalog-wide search --------------------------------------------------------------


def test_search_by_name(client):
    VariantFactory(product__name="Blue Kettle")
    VariantFactory(product__name="Red Teapot")

    response = client.get(reverse("shop:search"), {"q": "KETTLE"})

    assert names(response) == ["Blue Kettle"]


def test_search_by_sku(client):
    kettle = ProductFactory(name="Kettle")
    VariantFactory(product=kettle, sku="KT-1-RED")
    VariantFactory(product=kettle, sku="KT-1-BLUE")
    VariantFactory(product__name="Teapot", sku="TP-9")

    response = client.get(reverse("shop:search"), {"q": "kt-1-blue"})

    assert names(response) == ["Kettle"]


def test_search_hides_inactive_products(client):
    VariantFactory(product__name="Kettle old", product__is_active=False)
    VariantFactory(product__name="Kettle new")

    response = client.get(reverse("shop:search"), {"q": "kettle"})

    assert names(response) == ["Kettle new"]


def test_search_without_query_asks_for_one(client, django_assert_num_queries):
    VariantFactory(product__name="Kettle")

    with django_assert_num_queries(1):  # nav categories only
        response = client.get(reverse("shop:search"))

    assert response.status_code == 200
    assert names(response) == []
    assert b"Type a product name or an SKU" in response.content


# --- Product page ----------------------------------------------------------------------


def make_shirt():
    shirt = ProductFactory(name="Shirt", slug="shirt", description="Soft cotton.")
    VariantFactory(
        product=shirt, sku="SHIRT-S", option_values={"size": "S"}, price=Decimal("20.00"), position=1
    )
    VariantFactory(
        product=shirt, sku="SHIRT-M", option_values={"size": "M"}, price=Decimal("22.50"), position=2
    )
    return shirt


def test_product_page_shows_details_and_first_variant(client):
    make_shirt()

    response = client.get(reverse("shop:product", kwargs={"slug": "shirt"}))

    assert response.status_code == 200
    assert response.context["selected_variant"].sku == "SHIRT-S"
    assert [v.sku for v in response.context["variants"]] == ["SHIRT-S", "SHIRT-M"]
    content = response.content.decode()
    assert "<h1>Shirt</h1>" in content
    assert "Soft cotton." in content
    assert "€20.00" in content
    assert 'href="?variant=SHIRT-M"' in content


def test_variant_picker_selects_variant_from_query(client):
    make_shirt()

    response = client.get(reverse("shop:product", kwargs={"slug": "shirt"}), {"variant": "SHIRT-M"})

    assert response.context["selected_variant"].sku == "SHIRT-M"
    content = response.content.decode()
    assert '<p class="fs-3 fw-semibold mb-1 product-price">€22.50</p>' in content
    assert content.count('aria-current="true"') == 1
    assert 'href="?variant=SHIRT-M" aria-current="true"' in content


@pytest.mark.parametrize(
    "sku", ["NOPE", "", "x" * 5000]
)  # a NUL byte is a 400 (config/tests/test_security.py)
def test_unknown_variant_falls_back_to_first(client, sku):
    make_shirt()

    response = client.get(reverse("shop:product", kwargs={"slug": "shirt"}), {"variant": sku})

    assert response.status_code == 200
    assert response.context["selected_variant"].sku == "SHIRT-S"


def test_inactive_product_is_404(client):
    VariantFactory(product__slug="gone", product__is_active=False)

    response = client.get(reverse("shop:product", kwargs={"slug": "gone"}))

    assert response.status_code == 404


def test_product_page_has_availability_block():
    from django.template.loader import get_template
    from django.template.loader_tags import BlockNode

    template = get_template("shop/product.html").template

    blocks = [node.name for node in template.nodelist.get_nodes_by_type(BlockNode)]
    assert "availability" in blocks


# --- Error pages and health ---------------------------------------------------------------


def test_404_page_renders_for_unknown_slug(client):
    response = client.get("/p/no-such-thing/")

    assert response.status_code == 404
    assert b"We could not find that page" in response.content


def test_500_template_renders_without_context_or_database(django_assert_num_queries):
    from django.template.loader import get_template

    with django_assert_num_queries(0):
        html = get_template("500.html").render()

    assert "Sorry, something went wrong on our side" in html


def test_health(client):
    response = client.get(reverse("health"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "worker_last_seen": None}


def test_health_reports_last_worker(client):
    from datetime import UTC, datetime

    WorkerHeartbeat.objects.create(worker="w1", seen_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))

    response = client.get(reverse("health"))

    assert response.json()["worker_last_seen"] == "2026-01-02T03:04:05+00:00"
