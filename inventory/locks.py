"""Every row lock the inventory domain takes, one named function per lock.

The lock order across the whole project (docs/concurrency.md): whenever a
transaction locks rows of several kinds it locks them in this order, and rows
of one kind in primary-key order, so two transactions can wait for each other
but never deadlock:

1. variants (the per-variant mutex of the backorder queue)   `variants_lock`
2. purchase order                                            `purchase_order_lock`
3. purchase-order lines                                      `purchase_order_lines_lock`
4. stock items                                               `stock_items_lock`, `stock_item_lock`,
                                                             `variant_stock_items_lock`
5. allocations (of the stock items just locked)              `allocations_lock`
6. order lines, 7. orders, 8. the payment                    `orders.locks`

Every lock is `FOR NO KEY UPDATE`: the transactions that take them update the
rows but never delete them or change their keys, and plain `FOR UPDATE` would
also block the `FOR KEY SHARE` lock that a foreign-key check takes when another
transaction inserts a row pointing at the locked one (a ledger row pointing at
a variant, an allocation pointing at a stock item): a deadlock the race tests
found. Helpers that return a queryset lock only their own table
(`of=("self",)`), so a caller that adds `select_related()` or a join does not
lock the joined rows out of order. On SQLite these are plain SELECTs: a writer
there locks the whole database.

A helper must be called inside `transaction.atomic()`; the locks are held until
it commits.
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from shop.models import Variant

from .models import Allocation, PurchaseOrder, PurchaseOrderLine, StockItem


def variants_lock(variant_ids: Iterable[int]) -> None:
    """Lock these variants' rows (pk order): the per-variant mutex of their backorder queues.

    First in the lock order. Every writer that reads a variant's queue (the
    units waiting on backorder) and then acts on it takes it first: checkout's
    `allocation_reserve`, the auto-allocation pass, the delay check. Two of
    them for one variant run one after the other; for different variants they
    do not wait for each other.
    SQL: SELECT id FROM shop_variant WHERE id IN (...) ORDER BY id FOR NO KEY UPDATE
    """
    list(
        Variant.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(set(variant_ids)))
        .order_by("pk")
        .values("pk")
    )


def purchase_order_lock(purchase_order_id: int) -> PurchaseOrder:
    """Lock one purchase order's row and return it (DoesNotExist when there is none).

    Second in the lock order, after the variants. Its status, dates and
    received quantities change one writer at a time: marking it ordered,
    cancelling, moving its expected date, receiving, the admin's save.
    SQL: SELECT ... FROM inventory_purchaseorder WHERE id = %s FOR NO KEY UPDATE
    """
    return PurchaseOrder.objects.select_for_update(no_key=True).order_by("pk").get(pk=purchase_order_id)


def purchase_order_lines_lock(purchase_order: PurchaseOrder) -> QuerySet[PurchaseOrderLine]:
    """The lines of a purchase order, locked in pk order when evaluated (a receipt reads and raises them).

    Third in the lock order, after their purchase order.
    SQL: SELECT ... FROM inventory_purchaseorderline WHERE purchase_order_id = %s
         ORDER BY id FOR NO KEY UPDATE OF inventory_purchaseorderline
    """
    return purchase_order.lines.select_for_update(of=("self",), no_key=True).order_by("pk")


def stock_items_lock(item_ids: Iterable[int]) -> QuerySet[StockItem]:
    """These stock items, locked in pk order when evaluated: lock, compute, write.

    Fourth in the lock order (after variants and a purchase order, before
    allocations and order lines). Used where the new levels depend on reading
    the rows: a receipt, a bulk receipt, a bulk count, recording a reservation,
    shipping. The caller may narrow the columns (`.values_list(...)`).
    SQL: SELECT ... FROM inventory_stockitem WHERE id IN (...) ORDER BY id
         FOR NO KEY UPDATE OF inventory_stockitem
    """
    return (
        StockItem.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk__in=sorted(set(item_ids)))
        .order_by("pk")
    )


def stock_item_lock(item_id: int) -> StockItem:
    """One stock item, locked, with its variant and warehouse loaded (but not locked): a stock count.

    Fourth in the lock order. DoesNotExist when there is none.
    SQL: SELECT ... FROM inventory_stockitem JOIN shop_variant JOIN inventory_warehouse
         WHERE inventory_stockitem.id = %s FOR NO KEY UPDATE OF inventory_stockitem
    """
    return (
        StockItem.objects.select_for_update(of=("self",), no_key=True)
        .select_related("variant", "warehouse")
        .get(pk=item_id)
    )


def variant_stock_items_lock(variant_ids: Iterable[int]) -> QuerySet[StockItem]:
    """The stock items of these variants in active warehouses, locked in pk order when evaluated.

    Fourth in the lock order, taken right after `variants_lock` of the same
    variants by checkout (`allocation_reserve`) and by the allocation pass:
    only then are their free units read. The caller may read the warehouse's
    columns (`.values_list(..., "warehouse__priority")`): only stock items are
    locked.
    SQL: SELECT ... FROM inventory_stockitem JOIN inventory_warehouse
         WHERE variant_id IN (...) AND inventory_warehouse.is_active ORDER BY id
         FOR NO KEY UPDATE OF inventory_stockitem
    """
    return (
        StockItem.objects.select_for_update(of=("self",), no_key=True)
        .filter(variant_id__in=sorted(set(variant_ids)), warehouse__is_active=True)
        .order_by("pk")
    )


def allocations_lock(allocation_ids: Iterable[int]) -> QuerySet[Allocation]:
    """These allocations, locked in pk order when evaluated: shipping draws units from them.

    Fifth in the lock order: after the stock items they draw on, before the
    order lines they serve.
    SQL: SELECT ... FROM inventory_allocation WHERE id IN (...) ORDER BY id
         FOR NO KEY UPDATE OF inventory_allocation
    """
    return (
        Allocation.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk__in=sorted(set(allocation_ids)))
        .order_by("pk")
    )
