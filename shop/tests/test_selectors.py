from decimal import Decimal

import pytest
from django.http import Http404

from shop.selectors import (
    category_get_for_customer,
    category_list_for_nav,
    product_get_for_customer,
    product_list_featured,
    product_list_newest,
    product_search,
    variant_choose,
)
from shop.tests.factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def names(products) -> list[str]:
    return [p.name for p in products]


def test_search_matches_name_case_insensitively():
    # given
    VariantFactory(product__name="Blue Kettle")
    VariantFactory(product__name="Red Teapot")

    # when
    found = product_search(query="kettle")

    # then
    assert names(found) == ["Blue Kettle"]


def test_search_matches_sku_and_lists_each_product_once():
    # given: two variants of the same product both match
    kettle = ProductFactory(name="Kettle")
    VariantFactory(product=kettle, sku="KET-100-S")
    VariantFactory(product=kettle, sku="KET-100-L")
    VariantFactory(product__name="Teapot", sku="TEA-200")

    # when
    found = product_search(query="ket-100")

    # then
    assert names(found) == ["Kettle"]
    assert found.count() == 1


def test_search_ignores_inactive_variant_skus():
    kettle = ProductFactory(name="Kettle")
    VariantFactory(product=kettle, sku="KET-1")
    VariantFactory(product=kettle, sku="OLD-9", is_active=False)

    assert names(product_search(query="OLD-9")) == []


def test_hidden_products_are_not_listed():
    # given
    VariantFactory(product__name="Visible")
    VariantFactory(product__name="Inactive product", product__is_active=False)
    VariantFactory(product__name="Inactive category", product__category__is_active=False)
    VariantFactory(product__name="Only inactive variants", is_active=False)
    ProductFactory(name="No variants")
    hidden_parent = CategoryFactory(is_active=False)
    VariantFactory(product__name="Inactive parent", product__category__parent=hidden_parent)

    # when / then
    assert names(product_search()) == ["Visible"]


def test_from_price_is_cheapest_active_variant():
    product = ProductFactory()
    VariantFactory(product=product, price=Decimal("12.00"))
    VariantFactory(product=product, price=Decimal("9.50"))
    VariantFactory(product=product, price=Decimal("1.00"), is_active=False)

    [found] = product_search()

    assert found.from_price == Decimal("9.50")
    assert len(found.active_variants) == 2


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Apple", "Banana", "Cherry"]),
        ("price", ["Cherry", "Apple", "Banana"]),
        ("-price", ["Banana", "Apple", "Cherry"]),
        ("newest", ["Banana", "Cherry", "Apple"]),
        ("bogus", ["Apple", "Banana", "Cherry"]),
    ],
)
def test_sorting(sort, expected):
    # given: created in the order Apple, Cherry, Banana
    VariantFactory(product__name="Apple", price=Decimal("5.00"))
    VariantFactory(product__name="Cherry", price=Decimal("2.00"))
    VariantFactory(product__name="Banana", price=Decimal("8.00"))

    assert names(product_search(sort=sort)) == expected


def test_category_listing_includes_subcategories_but_not_siblings():
    # given
    tools = CategoryFactory(name="Tools")
    saws = CategoryFactory(name="Saws", parent=tools)
    hand_saws = CategoryFactory(name="Hand saws", parent=saws)
    hidden = CategoryFactory(name="Hidden", parent=tools, is_active=False)
    garden = CategoryFactory(name="Garden")
    VariantFactory(product__name="Hammer", product__category=tools)
    VariantFactory(product__name="Band saw", product__category=saws)
    VariantFactory(product__name="Tenon saw", product__category=hand_saws)
    VariantFactory(product__name="Secret", product__category=hidden)
    VariantFactory(product__name="Rake", product__category=garden)

    # when / then
    assert names(product_search(category=tools)) == ["Band saw", "Hammer", "Tenon saw"]
    assert names(product_search(category=saws)) == ["Band saw", "Tenon saw"]


def test_category_get_returns_visible_children():
    tools = CategoryFactory(name="Tools", slug="tools")
    CategoryFactory(name="Saws", parent=tools, position=2)
    CategoryFactory(name="Drills", parent=tools, position=1)
    CategoryFactory(name="Old", parent=tools, is_active=False)

    category, children = category_get_for_customer(slug="tools")

    assert category == tools
    assert names(children) == ["Drills", "Saws"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: CategoryFactory(slug="gone", is_active=False),
        lambda: CategoryFactory(slug="gone", parent=CategoryFactory(is_active=False)),
    ],
)
def test_category_get_raises_404_for_hidden_category(make):
    make()

    with pytest.raises(Http404):
        category_get_for_customer(slug="gone")


def test_nav_lists_active_top_level_categories_in_position_order():
    top = CategoryFactory(name="B", position=2)
    CategoryFactory(name="A", position=1)
    CategoryFactory(name="C", position=3, is_active=False)
    CategoryFactory(name="Child", parent=top)

    assert names(category_list_for_nav()) == ["A", "B"]


def test_featured_and_newest():
    VariantFactory(product__name="Old featured", product__is_featured=True)
    VariantFactory(product__name="Plain")
    VariantFactory(product__name="New featured", product__is_featured=True)
    VariantFactory(product__name="Hidden featured", product__is_featured=True, product__is_active=False)

    assert names(product_list_featured(limit=8)) == ["New featured", "Old featured"]
    assert names(product_list_featured(limit=1)) == ["New featured"]
    assert names(product_list_newest(limit=2)) == ["New featured", "Plain"]


def test_product_get_for_customer_raises_404_for_inactive_product():
    VariantFactory(product__slug="gone", product__is_active=False)

    with pytest.raises(Http404):
        product_get_for_customer(slug="gone")


def test_variant_choose_picks_sku_or_falls_back_to_first():
    product = ProductFactory(slug="shirt")
    VariantFactory(product=product, sku="SHIRT-M", position=2)
    VariantFactory(product=product, sku="SHIRT-S", position=1)
    VariantFactory(product=product, sku="SHIRT-XL", position=3, is_active=False)
    product = product_get_for_customer(slug="shirt")

    assert variant_choose(product=product, sku="SHIRT-M").sku == "SHIRT-M"
    assert variant_choose(product=product, sku="NOPE").sku == "SHIRT-S"
    assert variant_choose(product=product, sku="SHIRT-XL").sku == "SHIRT-S"
    assert variant_choose(product=product, sku=None).sku == "SHIRT-S"


def test_variant_choose_makes_no_query_when_prefetched(django_assert_num_queries):
    VariantFactory(product__slug="shirt", sku="A")
    product = product_get_for_customer(slug="shirt")

    with django_assert_num_queries(0):
        assert variant_choose(product=product, sku="A").sku == "A"
