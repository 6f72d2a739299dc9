"""inventory.locks: each lock returns the rows asked for; on PostgreSQL it takes `FOR NO KEY UPDATE` on its
own table, rows in primary-key order, and lets other transactions insert rows that point at the locked ones
(a ledger row pointing at a variant and a stock item: the deadlock docs/concurrency.md describes)."""

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from inventory.locks import (
    allocations_lock,
    purchase_order_lines_lock,
    purchase_order_lock,
    stock_item_lock,
    stock_items_lock,
    variant_stock_items_lock,
    variants_lock,
)
from inventory.models import Allocation, MovementReason, StockItem, StockMovement, Warehouse
from inventory.services import purchase_order_receive, stock_count, stock_count_bulk, stock_receive_bulk
from inventory.tests.factories import PurchaseOrderLineFactory
from orders.tests.helpers import give_stock, place
from orders.tests.locks_helpers import NO_KEY, hold_while, locking_sql
from shop.tests.factories import VariantFactory


@pytest.fixture
def world(db):
    """A tent with stock in an active and an inactive warehouse, one unit allocated to an order, and a
    purchase order with two lines."""
    tent, mug = VariantFactory(), VariantFactory()
    active = give_stock(tent, 3)
    closed = give_stock(tent, 2)
    Warehouse.objects.filter(pk=closed.pk).update(is_active=False)
    place([(tent, 1)])
    line = PurchaseOrderLineFactory(variant=tent, purchase_order__warehouse=active)
    PurchaseOrderLineFactory(variant=mug, purchase_order=line.purchase_order)
    return {
        "tent": tent,
        "mug": mug,
        "items": sorted(StockItem.objects.filter(variant=tent).values_list("pk", flat=True)),
        "active_item": StockItem.objects.get(variant=tent, warehouse=active),
        "po": line.purchase_order,
        "allocations": list(Allocation.objects.values_list("pk", flat=True)),
    }


CASES = {
    # name: (call, table, rows several: ORDER BY id)
    "variants_lock": (lambda w: variants_lock([w["mug"].pk, w["tent"].pk]), "shop_variant", True),
    "purchase_order_lock": (lambda w: purchase_order_lock(w["po"].pk), "inventory_purchaseorder", False),
    "purchase_order_lines_lock": (
        lambda w: purchase_order_lines_lock(w["po"]),
        "inventory_purchaseorderline",
        True,
    ),
    "stock_items_lock": (lambda w: stock_items_lock(w["items"]), "inventory_stockitem", True),
    "stock_item_lock": (lambda w: stock_item_lock(w["items"][0]), "inventory_stockitem", False),
    "variant_stock_items_lock": (
        lambda w: variant_stock_items_lock([w["tent"].pk]),
        "inventory_stockitem",
        True,
    ),
    "allocations_lock": (lambda w: allocations_lock(w["allocations"]), "inventory_allocation", True),
}


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("name", CASES)
def test_each_lock_takes_no_key_update_on_its_own_table_in_primary_key_order(world, name):
    call, table, ordered = CASES[name]
    sql = locking_sql(lambda: call(world))
    assert re.match(rf'SELECT .* FROM "{table}" ', sql), sql
    assert re.search(rf'{NO_KEY}( OF "{table}")?$', sql), sql
    if ordered:
        assert re.search(rf'ORDER BY ("{table}"\."id"|1) ASC', sql), sql  # 1: the id, when it is all we read


@pytest.mark.django_db
def test_the_helpers_lock_the_rows_asked_for(world):
    with transaction.atomic():
        assert [i.pk for i in stock_items_lock(reversed(world["items"]))] == world["items"]
        # Only active warehouses' stock, and the warehouse is read but not locked
        assert list(
            variant_stock_items_lock([world["tent"].pk]).values_list("pk", "warehouse__priority")
        ) == [(world["active_item"].pk, world["active_item"].warehouse.priority)]
        item = stock_item_lock(world["active_item"].pk)
        assert (item, item.variant, item.warehouse) == (
            world["active_item"],
            world["tent"],
            world["active_item"].warehouse,
        )
        assert purchase_order_lock(world["po"].pk) == world["po"]
        lines = list(purchase_order_lines_lock(world["po"]))
        assert [line.variant for line in lines] == [world["tent"], world["mug"]]
        assert [a.pk for a in allocations_lock(world["allocations"])] == world["allocations"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "lock",
    [
        lambda w: variants_lock([w["tent"].pk]),  # the allocation pass, checkout, the delay check
        lambda w: list(stock_items_lock(w["items"])),  # a bulk stock count took FOR UPDATE before
        lambda w: list(variant_stock_items_lock([w["tent"].pk])),
    ],
    ids=["variants_lock", "stock_items_lock", "variant_stock_items_lock"],
)
def test_a_ledger_row_pointing_at_locked_rows_can_be_inserted_meanwhile(world, lock):
    item = world["active_item"]

    def insert_a_movement():  # its foreign keys check (FOR KEY SHARE) the variant and the stock item
        StockMovement.objects.create(
            stock_item=item,
            variant_id=item.variant_id,
            warehouse_id=item.warehouse_id,
            on_hand_delta=1,
            reason=MovementReason.ADJUSTED,
        )

    before = StockMovement.objects.count()
    hold_while(lambda: lock(world), insert_a_movement)
    assert StockMovement.objects.count() == before + 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_stock_services_lock_through_the_helpers_only(world):
    """Counts, bulk receipts and counts and a receipt take only the helpers' locks: FOR NO KEY UPDATE
    of their own table (a bulk count took a plain FOR UPDATE before)."""
    tent, item = world["tent"], world["active_item"]

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        stock_receive_bulk(rows=[(tent.pk, item.warehouse_id, 2)])
        stock_count_bulk(counts=[(tent.pk, item.warehouse_id, 9)])
        stock_count(variant_id=tent.pk, warehouse_id=item.warehouse_id, counted=8)
        purchase_order_receive(purchase_order_id=world["po"].pk)

    locks = [q["sql"] for q in queries.captured_queries if " FOR " in q["sql"]]
    tables = [re.search(r' FROM "(\w+)"', sql).group(1) for sql in locks]
    assert tables == [
        "inventory_stockitem",  # the bulk receipt
        "inventory_stockitem",  # the bulk count
        "inventory_stockitem",  # the count
        "inventory_purchaseorder",  # the receipt: its order, its lines, the stock items it fills
        "inventory_purchaseorderline",
        "inventory_stockitem",
    ]
    assert all(
        re.search(rf'{NO_KEY}( OF "{table}")?$', sql) for sql, table in zip(locks, tables, strict=True)
    ), locks
