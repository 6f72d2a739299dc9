"""GET /api/v1/stock/, /api/v1/ledger/, /api/v1/warehouses/: levels per warehouse and the ledger, filters,
the cursor, and the query budget of each list."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.urls import reverse

from accounts.models import User
from inventory.models import MovementReason, PurchaseOrderStatus, StockItem
from inventory.services import (
    Demand,
    allocation_record,
    allocation_reserve,
    purchase_order_receive,
    stock_adjust,
    stock_count,
)
from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory, WarehouseFactory
from orders.tests.factories import OrderLineFactory
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
# The key (1) and the page with its variants and warehouses (1).
STOCK_LIST_QUERIES = 2
# The key (1) and the page with its variants, warehouses, purchase orders, orders and users (1).
LEDGER_LIST_QUERIES = 2


@pytest.fixture(autouse=True)
def _clock(settings, time_machine):
    settings.TIME_ZONE = "UTC"
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def reader(api_client_with):
    return api_client_with("catalog:read")


@pytest.fixture
def main():
    return WarehouseFactory(code="MAIN", name="Main")


@pytest.fixture
def annex():
    return WarehouseFactory(code="ANNEX", name="Annex", priority=5)


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- Stock levels -------------------------------------------------------------------------------


def test_a_stock_level_answers_on_hand_allocated_and_available(reader, main):
    variant = VariantFactory(sku="KET-1")
    item = StockItem.objects.create(variant=variant, warehouse=main, on_hand=12, allocated=5)

    response = reader.get(reverse("api:stock-detail", args=[item.pk]))

    assert response.status_code == 200
    assert response.json() == {
        "id": item.pk,
        "variant": {"id": variant.pk, "sku": "KET-1"},
        "warehouse": {"id": main.pk, "code": "MAIN"},
        "on_hand": 12,
        "allocated": 5,
        "available": 7,
        "updated_at": "2026-11-21T12:00:00Z",
    }


def test_stock_filters_by_variant_sku_and_warehouse(reader, main, annex):
    a, b = VariantFactory(sku="A"), VariantFactory(sku="B")
    a_main = StockItem.objects.create(variant=a, warehouse=main, on_hand=1)
    a_annex = StockItem.objects.create(variant=a, warehouse=annex, on_hand=2)
    b_main = StockItem.objects.create(variant=b, warehouse=main, on_hand=3)

    def ids(**params):
        return [row["id"] for row in results(reader.get(reverse("api:stock-list"), params))]

    assert ids() == [a_main.pk, a_annex.pk, b_main.pk]
    assert ids(variant=a.pk) == [a_main.pk, a_annex.pk]
    assert ids(variant=f"{a.pk},{b.pk}", warehouse=main.pk) == [a_main.pk, b_main.pk]
    assert ids(sku="B") == [b_main.pk]
    assert ids(warehouse_code="ANNEX") == [a_annex.pk]
    assert ids(updated_since=(NOW + timedelta(seconds=1)).isoformat()) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"variant": "x"}, "variant"),
        ({"variant": "1,-2"}, "variant"),
        ({"warehouse": "1.5"}, "warehouse"),
        ({"updated_since": "2026-13-01"}, "updated_since"),
        ({"ware_house": "1"}, "ware_house"),
    ],
)
def test_bad_stock_filters_are_400_problems(reader, params, field):
    response = reader.get(reverse("api:stock-list"), params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [field]


def test_a_stock_page_costs_the_same_queries_for_1_or_50_levels(
    reader, main, annex, django_assert_num_queries
):
    for n in range(30):
        variant = VariantFactory()
        StockItem.objects.create(variant=variant, warehouse=main, on_hand=n)
        StockItem.objects.create(variant=variant, warehouse=annex, on_hand=1)
    reader.get(reverse("api:stock-list"))  # the key's last use is noted once a minute

    for size in (1, 50):
        with django_assert_num_queries(STOCK_LIST_QUERIES):
            response = reader.get(reverse("api:stock-list"), {"page_size": size})
        assert len(results(response)) == size


# --- The ledger ---------------------------------------------------------------------------------


def test_a_ledger_row_answers_its_change_reason_user_and_note(reader, main):
    variant = VariantFactory(sku="KET-1")
    user = User.objects.create_user("ada@example.com", is_staff=True)
    movement = stock_adjust(
        variant_id=variant.pk,
        warehouse_id=main.pk,
        quantity_change=4,
        reason=MovementReason.RETURNED,
        user_id=user.pk,
        note="Box came back",
    )

    response = reader.get(reverse("api:ledger-detail", args=[movement.pk]))

    assert response.status_code == 200
    assert response.json() == {
        "id": movement.pk,
        "created_at": "2026-11-21T12:00:00Z",
        "stock_item": movement.stock_item_id,
        "variant": {"id": variant.pk, "sku": "KET-1"},
        "warehouse": {"id": main.pk, "code": "MAIN"},
        "reason": "returned",
        "reason_label": "Returned by customer",
        "on_hand_change": 4,
        "allocated_change": 0,
        "purchase_order": None,
        "order": None,
        "user": "ada@example.com",
        "note": "Box came back",
    }


def test_the_ledger_is_oldest_first_and_filters_by_variant_warehouse_reason_and_time(
    reader, main, annex, time_machine
):
    a, b = VariantFactory(sku="A"), VariantFactory(sku="B")
    first = stock_adjust(variant_id=a.pk, warehouse_id=main.pk, quantity_change=10)
    time_machine.move_to(NOW + timedelta(hours=1), tick=False)
    second = stock_count(variant_id=a.pk, warehouse_id=main.pk, counted=8)
    third = stock_adjust(variant_id=b.pk, warehouse_id=annex.pk, quantity_change=3)
    time_machine.move_to(NOW + timedelta(hours=2), tick=False)
    fourth = stock_adjust(variant_id=a.pk, warehouse_id=annex.pk, quantity_change=1)

    def ids(**params):
        return [row["id"] for row in results(reader.get(reverse("api:ledger-list"), params))]

    assert ids() == [first.pk, second.pk, third.pk, fourth.pk]
    assert ids(variant=a.pk) == [first.pk, second.pk, fourth.pk]
    assert ids(sku="B") == [third.pk]
    assert ids(warehouse=annex.pk) == [third.pk, fourth.pk]
    assert ids(reason="counted") == [second.pk]
    since, until = (NOW + timedelta(hours=1)).isoformat(), (NOW + timedelta(hours=2)).isoformat()
    assert ids(since=since) == [second.pk, third.pk, fourth.pk]
    assert ids(since=since, until=until) == [second.pk, third.pk]
    assert ids(variant=a.pk, since=since, until=until) == [second.pk]
    # moments before the year 1 or after 9999 once in UTC are the first and last moments: every row
    assert ids(since="0001-01-01T00:00:00+14:00", until="9999-12-31T23:59:59-14:00") == [
        first.pk,
        second.pk,
        third.pk,
        fourth.pk,
    ]
    assert ids(since="2026-11-21T12:30:00-23:59") == []  # 12:29 the next day in UTC


def test_the_ledger_cursor_walks_every_row_once_in_time_order(reader, main, time_machine):
    variant = VariantFactory()
    written = []
    for n in range(7):
        time_machine.move_to(NOW + timedelta(minutes=n // 2), tick=False)  # two rows per minute
        written.append(stock_adjust(variant_id=variant.pk, warehouse_id=main.pk, quantity_change=n + 1).pk)

    seen, url, params = [], reverse("api:ledger-list"), {"page_size": 3}
    while url:
        body = reader.get(url, params).json()
        seen += [row["id"] for row in body["results"]]
        url, params = body["next"], None
    assert seen == written


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "last week"}, "since"),
        ({"until": "2026-11-21T25:00:00Z"}, "until"),
        ({"reason": "stolen"}, "reason"),
        ({"variant": "abc"}, "variant"),
        ({"from": "2026-11-21"}, "from"),
    ],
)
def test_bad_ledger_filters_are_400_problems(reader, params, field):
    response = reader.get(reverse("api:ledger-list"), params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [field]


def test_a_ledger_page_costs_the_same_queries_for_1_or_50_rows(reader, main, django_assert_num_queries):
    user = User.objects.create_user("ada@example.com", is_staff=True)
    for n in range(30):
        variant = VariantFactory()
        stock_adjust(
            variant_id=variant.pk, warehouse_id=main.pk, quantity_change=5, user_id=user.pk, note="in"
        )
        stock_count(variant_id=variant.pk, warehouse_id=main.pk, counted=n)
    reader.get(reverse("api:ledger-list"))  # the key's last use is noted once a minute

    for size in (1, 50):
        with django_assert_num_queries(LEDGER_LIST_QUERIES):
            response = reader.get(reverse("api:ledger-list"), {"page_size": size})
        assert len(results(response)) == size


def test_a_receipts_ledger_row_names_its_purchase_order(reader, main):
    variant = VariantFactory(sku="KET-1")
    po = PurchaseOrderFactory(warehouse=main, reference="PO-77", status=PurchaseOrderStatus.ORDERED)
    line = PurchaseOrderLineFactory(purchase_order=po, variant=variant, quantity_ordered=6)
    purchase_order_receive(purchase_order_id=po.pk)

    row = results(reader.get(reverse("api:ledger-list"), {"variant": variant.pk}))[0]

    assert (row["reason"], row["on_hand_change"]) == ("received", 6)
    assert row["purchase_order"] == {"id": po.pk, "reference": "PO-77", "line": line.pk}
    assert row["order"] is None


def test_an_orders_ledger_row_names_its_line(reader, main):
    variant = VariantFactory(sku="KET-1")
    stock_adjust(variant_id=variant.pk, warehouse_id=main.pk, quantity_change=5)
    with transaction.atomic():  # as checkout does: reserve, create the line, record its allocation
        reservation = allocation_reserve(demands=[Demand(variant_id=variant.pk, quantity=2)])
        line = OrderLineFactory(variant=variant, order__number="BO-000042", quantity=2, quantity_allocated=2)
        allocation_record(reservation=reservation, line_ids={variant.pk: line.pk})

    rows = results(reader.get(reverse("api:ledger-list"), {"variant": variant.pk, "reason": "allocated"}))

    assert [(r["on_hand_change"], r["allocated_change"], r["order"]) for r in rows] == [
        (0, 2, {"number": "BO-000042", "line": line.pk})
    ]


# --- Warehouses ---------------------------------------------------------------------------------


def test_warehouses_list_their_ids_and_codes(reader, main, annex, django_assert_num_queries):
    closed = WarehouseFactory(code="OLD", name="Old", is_active=False)
    reader.get(reverse("api:warehouse-list"))  # the key's last use is noted once a minute

    with django_assert_num_queries(2):
        rows = results(reader.get(reverse("api:warehouse-list")))
    assert rows == [
        {"id": main.pk, "code": "MAIN", "name": "Main", "priority": 0, "is_active": True},
        {"id": annex.pk, "code": "ANNEX", "name": "Annex", "priority": 5, "is_active": True},
        {"id": closed.pk, "code": "OLD", "name": "Old", "priority": 0, "is_active": False},
    ]
    assert [
        r["code"] for r in results(reader.get(reverse("api:warehouse-list"), {"is_active": "false"}))
    ] == ["OLD"]
    with django_assert_num_queries(2):
        assert len(results(reader.get(reverse("api:warehouse-list"), {"page_size": 1}))) == 1
