"""GET /api/v1/variants/: price and the product page's availability, filters, and the query budget."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from inventory.models import BackorderMode, PurchaseOrderStatus, StockItem, StockMovement
from inventory.services import stock_adjust
from inventory.tests.factories import (
    BackorderPolicyFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    WarehouseFactory,
)
from orders.tests.factories import OrderLineFactory
from shop.selectors import product_page_get
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # a Saturday
# A list: the key (1), the variants with their products (1), availability (1: its numbers, open
# purchase-order lines, the suppliers' habits and the shop's closures in one statement).
LIST_QUERIES = 3


@pytest.fixture(autouse=True)
def _shop(settings, time_machine):
    settings.TIME_ZONE = "UTC"
    settings.SHOP_CURRENCY = "EUR"
    settings.INVENTORY_DEFAULT_BACKORDER_MODE = "deny"
    settings.INVENTORY_DEFAULT_LEAD_TIME_DAYS = 21
    settings.INVENTORY_LOW_STOCK_THRESHOLD = 5
    settings.INVENTORY_OVERDUE_GRACE_DAYS = 3
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def reader(api_client_with):
    return api_client_with("catalog:read")


# --- Stock situations (test setup writes rows directly; the shop changes them through inventory.services)


def stock(variant, on_hand, allocated=0, warehouse=None):
    return StockItem.objects.create(
        variant=variant, warehouse=warehouse or WarehouseFactory(), on_hand=on_hand, allocated=allocated
    )


def in_stock(variant):
    stock(variant, 40)


def low_stock(variant):
    stock(variant, 3)


def backorder(variant):
    """5 units wait; a purchase order brings 20 on 1 December; waiting earns 10% off."""
    BackorderPolicyFactory(
        variant=variant, mode=BackorderMode.ALLOW, lead_time_days=60, backorder_discount_percent=Decimal("10")
    )
    OrderLineFactory(variant=variant, quantity=5)
    po = PurchaseOrderFactory(expected_date=date(2026, 12, 1), status=PurchaseOrderStatus.ORDERED)
    PurchaseOrderLineFactory(purchase_order=po, variant=variant, quantity_ordered=20)


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


def variant_in(situation: str, **kwargs):
    variant = VariantFactory(product=ProductFactory(slug=f"p-{situation}"), sku=f"SKU-{situation}", **kwargs)
    SITUATIONS[situation](variant)
    return variant


def get_list(client, **params):
    return client.get(reverse("api:variant-list"), params)


# --- The product page's answer ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("situation", "sellable", "free", "waiting", "backorderable", "expected"),
    [
        ("in_stock", 40, 40, 0, 0, None),
        ("low_stock", 3, 3, 0, 0, None),
        # the purchase order's 1 December + the supplier's default lateness, 2 to 7 days (docs/dates.md)
        ("backorder", 0, 0, 5, None, {"earliest": "2026-12-03", "confident": "2026-12-08"}),
        ("out_of_stock", 0, 0, 0, 0, None),
        ("discontinued", 0, 0, 0, 0, None),
    ],
)
def test_a_variants_availability_is_the_product_pages(
    reader, situation, sellable, free, waiting, backorderable, expected
):
    # given
    variant = variant_in(situation, price=Decimal("24.50"))
    page = product_page_get(slug=variant.product.slug, sku=variant.sku)

    # when
    response = reader.get(reverse("api:variant-detail", args=[variant.pk]))

    # then
    assert response.status_code == 200
    body = response.json()
    shown = page.availability
    assert body["availability"] == {
        "status": situation,
        "label": shown.label,
        "message": shown.message,
        "sellable_units": sellable,
        "free_units": free,
        "waiting_units": waiting,
        "backorderable_units": backorderable,
        "expected_date": expected["confident"] if expected else None,
        "expected_range": expected,
        "backorder_discount_percent": "10.00" if situation == "backorder" else None,
    }
    assert (shown.status, shown.sellable_now, shown.waiting_backorders, shown.backorderable) == (
        situation,
        sellable,
        waiting,
        backorderable,
    )
    assert shown.expected_date == (date.fromisoformat(expected["confident"]) if expected else None)
    assert body["price"] == "24.50"
    assert body["currency"] == "EUR"
    # the price the product page shows a unit that waits: 10% off 24.50
    assert body["backorder_price"] == ("22.05" if situation == "backorder" else None)
    assert page.selected_variant.backorder_price == (Decimal("22.05") if situation == "backorder" else None)


def test_the_backorder_message_is_the_product_pages_sentence(reader):
    variant = variant_in("backorder")

    body = reader.get(reverse("api:variant-detail", args=[variant.pk])).json()

    assert body["availability"]["message"] == "Available on backorder, expected to ship 3–8 December 2026"
    assert body["availability"]["label"] == "Backorder"


def test_a_variant_answers_its_product_options_and_state(reader):
    product = ProductFactory(name="Tee", slug="tee")
    variant = VariantFactory(product=product, sku="TEE-M", option_values={"size": "M", "colour": "Blue"})

    body = reader.get(reverse("api:variant-detail", args=[variant.pk])).json()

    assert {k: body[k] for k in ("id", "sku", "product", "options", "options_label", "is_active")} == {
        "id": variant.pk,
        "sku": "TEE-M",
        "product": {"id": product.pk, "name": "Tee", "slug": "tee", "is_active": True},
        "options": {"size": "M", "colour": "Blue"},
        "options_label": "M / Blue",
        "is_active": True,
    }


def test_an_unknown_variant_is_a_problem_404(reader):
    response = reader.get(reverse("api:variant-detail", args=[999_999]))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


# --- The list: filters ------------------------------------------------------------------------


@pytest.fixture
def five():
    return {situation: variant_in(situation) for situation in SITUATIONS}


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["sku"] for row in response.json()["results"]]


def test_the_list_gives_every_variant_in_id_order_with_the_same_answer_as_one(reader, five):
    response = get_list(reader)

    assert skus(response) == [f"SKU-{s}" for s in SITUATIONS]
    listed = {row["sku"]: row for row in response.json()["results"]}
    for situation, variant in five.items():
        one = reader.get(reverse("api:variant-detail", args=[variant.pk])).json()
        assert listed[f"SKU-{situation}"] == one


def test_sku_filter_exact_and_comma_list(reader, five):
    assert skus(get_list(reader, sku="SKU-backorder")) == ["SKU-backorder"]
    assert skus(get_list(reader, sku="SKU-in_stock,SKU-discontinued")) == ["SKU-in_stock", "SKU-discontinued"]
    assert skus(get_list(reader, sku="SKU-back")) == []  # exact, not a search


def test_product_filters(reader, five):
    product = five["low_stock"].product

    assert skus(get_list(reader, product=product.pk)) == ["SKU-low_stock"]
    assert skus(get_list(reader, product_slug="p-low_stock")) == ["SKU-low_stock"]


@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_availability_filter_lists_exactly_the_variants_with_that_status(reader, five, situation):
    response = get_list(reader, availability=situation)

    assert skus(response) == [f"SKU-{situation}"]
    assert response.json()["results"][0]["availability"]["status"] == situation


def test_availability_filter_takes_several_statuses(reader, five):
    assert skus(get_list(reader, availability="backorder,out_of_stock")) == [
        "SKU-backorder",
        "SKU-out_of_stock",
    ]


def test_a_backorder_limit_reached_is_out_of_stock_in_the_filter_and_the_answer(reader):
    variant = VariantFactory(sku="FULL")
    BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW, backorder_limit=5)
    OrderLineFactory(variant=variant, quantity=5)

    response = get_list(reader, availability="out_of_stock")

    assert skus(response) == ["FULL"]
    assert response.json()["results"][0]["availability"]["message"] == (
        "Out of stock: backorders for this item are full"
    )


def test_is_active_filter(reader, five):
    five["in_stock"].is_active = False
    five["in_stock"].save()

    assert skus(get_list(reader, is_active="false")) == ["SKU-in_stock"]
    assert len(skus(get_list(reader, is_active="true"))) == 4


def test_stock_changed_since_lists_the_variants_whose_stock_moved(reader, five):
    warehouse = WarehouseFactory()
    stock_adjust(variant_id=five["low_stock"].pk, warehouse_id=warehouse.pk, quantity_change=2)

    assert skus(get_list(reader, stock_changed_since=NOW.isoformat())) == ["SKU-low_stock"]
    assert skus(get_list(reader, stock_changed_since=(NOW + timedelta(seconds=1)).isoformat())) == []
    assert StockMovement.objects.count() == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"availability": "sold"}, "availability"),
        ({"availability": "in_stock,nope"}, "availability"),
        ({"product": "abc"}, "product"),
        ({"product": "1.5"}, "product"),
        ({"product": "0"}, "product"),
        ({"product": str(2**70)}, "product"),
        ({"is_active": "maybe"}, "is_active"),
        ({"stock_changed_since": "yesterday"}, "stock_changed_since"),
        ({"sku": ",".join(f"S{n}" for n in range(201))}, "sku"),
        ({"skus": "SKU-1"}, "skus"),  # a misspelt filter is not ignored
    ],
)
def test_bad_filter_values_are_400_problems_naming_the_filter(reader, params, field):
    response = get_list(reader, **params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 400
    assert body["code"] == "invalid"
    assert list(body["errors"]) == [field]


def test_a_nul_byte_is_refused_before_the_database(reader, five):
    # config.middleware refuses it for the whole shop (PostgreSQL refuses NUL in text)
    assert get_list(reader, sku="A\x00B").status_code == 400


def test_a_bad_cursor_is_a_problem_404(reader, five):
    response = get_list(reader, cursor="not-a-cursor")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_the_cursor_walks_every_variant_once(reader, five):
    seen, url, params = [], reverse("api:variant-list"), {"page_size": 2}
    while url:
        body = reader.get(url, params).json()
        seen += [row["sku"] for row in body["results"]]
        url, params = body["next"], None
    assert seen == [f"SKU-{s}" for s in SITUATIONS]


# --- Queries per page -------------------------------------------------------------------------


def test_a_page_costs_the_same_queries_for_1_or_50_variants(reader, django_assert_num_queries):
    # given: 60 variants in all five situations, each page starting with a variant that has a purchase order
    for n in range(12):
        for situation in ("backorder", "in_stock", "low_stock", "out_of_stock", "discontinued"):
            variant = VariantFactory(sku=f"V{n:02d}-{situation}")
            SITUATIONS[situation](variant)
    reader.get(reverse("api:variant-list"))  # the key's last use is noted once a minute

    # when / then
    for size in (1, 50):
        with django_assert_num_queries(LIST_QUERIES):
            response = get_list(reader, page_size=size)
        assert len(response.json()["results"]) == size
    with django_assert_num_queries(LIST_QUERIES):
        response = get_list(reader, page_size=50, availability="backorder,in_stock")
    assert len(response.json()["results"]) == 24


# --- Who may read -------------------------------------------------------------------------------


def test_a_key_without_the_catalog_scope_is_refused(api_client_with, five):
    response = api_client_with("orders").get(reverse("api:variant-list"))

    assert response.status_code == 403
    assert (
        response.json()["detail"] == "This key or account may not do this: it lacks the “catalog:read” scope."
    )
