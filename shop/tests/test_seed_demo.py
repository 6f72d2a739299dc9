"""seed_demo and shop/demo.py: a believable, idempotent, deterministic demo catalog in bulk."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop.demo import CURATED_PRODUCTS, DEFAULT_PRODUCTS, seed_catalog
from shop.models import Category, Product, Variant
from shop.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

SubstituteLink = Product.substitutes.through


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, steps="catalog", verbosity=0, stdout=out)
    return out.getvalue()


def catalog_counts() -> dict[str, int]:
    return {
        "categories": Category.objects.count(),
        "products": Product.objects.count(),
        "variants": Variant.objects.count(),
        "links": SubstituteLink.objects.count(),
        "featured": Product.objects.filter(is_featured=True).count(),
    }


def test_default_seed_creates_the_hand_written_catalog():
    output = seed()

    assert Category.objects.filter(parent=None).count() == 3
    assert Category.objects.exclude(parent=None).count() == 9
    assert Product.objects.count() == DEFAULT_PRODUCTS == len(CURATED_PRODUCTS) == 45
    tent = Product.objects.get(slug="alpine-2-tent")
    assert tent.category.slug == "tents" and tent.category.parent.slug == "outdoor"
    assert tent.is_featured
    assert sorted(tent.variants.values_list("sku", "option_values", "price")) == [
        ("TENT-ALP2-GRN", {"colour": "Green"}, Decimal("289.00")),
        ("TENT-ALP2-ORG", {"colour": "Orange"}, Decimal("289.00")),
    ]
    assert Variant.objects.get(sku="COOK-CIS-30CM").price == Decimal("69.00")  # bigger pans cost more
    assert Variant.objects.get(sku="JKT-STRM-XL-RED").option_values == {"size": "XL", "colour": "Red"}
    assert Variant.objects.get(sku="KNIF-CHF20").option_values == {}  # a single-variant product
    assert Product.objects.filter(is_featured=True).count() == 9
    assert set(tent.substitutes.values_list("slug", flat=True)) == {
        "alpine-3-tent",
        "ridgeline-1-ultralight-tent",
    }
    assert tent in Product.objects.get(slug="alpine-3-tent").substitutes.all()  # linked both ways
    assert output.strip() == (
        f"Created 45 products, {Variant.objects.count()} variants, "
        f"{SubstituteLink.objects.count()} substitute links, 12 categories"
    )


def test_every_product_is_sellable_in_a_leaf_category():
    seed("--products", "200")

    assert not Product.objects.filter(variants=None).exists()
    assert not Product.objects.filter(category__parent=None).exists()
    assert not Variant.objects.filter(price__lte=0).exists()


def test_seeding_twice_creates_nothing_new():
    seed()
    before = catalog_counts()

    output = seed()

    assert catalog_counts() == before
    assert output.strip() == "Nothing to do: demo catalog already present"


def test_products_option_gives_exactly_that_many_products():
    seed("--products", "300")

    counts = catalog_counts()
    assert counts["products"] == 300
    assert Product.objects.filter(slug="alpine-2-tent").exists()  # the hand-written ones come first
    assert Product.objects.filter(name__regex=r" 0255$").count() == 1  # then generated 1..255


def test_growing_the_catalog_adds_only_the_new_products():
    seed()
    hand_written = set(Product.objects.values_list("id", flat=True))

    output = seed("--products", "120")

    assert Product.objects.count() == 120
    assert hand_written < set(Product.objects.values_list("id", flat=True))
    assert output.startswith("Created 75 products, ")
    after = catalog_counts()
    seed("--products", "120")
    assert catalog_counts() == after


def test_fewer_products_than_hand_written_takes_some_of_every_category():
    seed("--products", "9")

    assert Product.objects.count() == 9
    assert Product.objects.values("category").distinct().count() == 9


def test_if_empty_does_nothing_when_the_shop_has_products():
    ProductFactory()

    output = seed("--if-empty")

    assert Product.objects.count() == 1
    assert Variant.objects.count() == 0
    assert Category.objects.count() == 1
    assert "Nothing to do" in output


def test_if_empty_seeds_an_empty_shop():
    seed("--if-empty")

    assert Product.objects.count() == DEFAULT_PRODUCTS


def test_same_seed_gives_the_same_catalog_and_another_seed_another():
    def snapshot() -> list[tuple]:
        return list(
            Variant.objects.order_by("sku").values_list("sku", "product__name", "price", "option_values")
        )

    def wipe() -> None:
        Product.objects.all().delete()
        Category.objects.exclude(parent=None).delete()
        Category.objects.all().delete()

    seed("--products", "80", "--seed", "7")
    first = snapshot()
    wipe()
    seed("--products", "80", "--seed", "7")
    again = snapshot()
    wipe()
    seed("--products", "80", "--seed", "8")

    assert again == first
    assert snapshot() != first


def test_query_count_does_not_grow_with_the_number_of_products(django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as small:
        seed("--products", "50")

    # 450 more products and about 900 variants: a query per product would add hundreds.
    # The few extra allowed are INSERT batches (SQLite caps the rows per statement).
    with django_assert_max_num_queries(len(small) + 15):
        seed("--products", "500")

    assert Product.objects.count() == 500
    assert len(small) <= 20


def test_seed_catalog_reports_what_it_created():
    first = seed_catalog(products=60, rng_seed=1, progress=False)
    second = seed_catalog(products=60, rng_seed=1, progress=False)

    assert (first.categories, first.products) == (12, 60)
    assert first.variants == Variant.objects.count()
    assert first.substitute_links == SubstituteLink.objects.count()
    assert not second.created_anything
    assert second.summary() == "Nothing to do: demo catalog already present"


def test_negative_product_count_is_refused():
    with pytest.raises(CommandError, match="--products"):
        seed("--products", "-1")
    assert Product.objects.count() == 0
