"""The SQL availability reads (`availability_for_variants` in `.availability` turns its rows into
answers): everything for a page of variants in one statement, and the can-it-ship-now expression the
product page filters with. Portable: SQLite and PostgreSQL."""

from datetime import UTC, date, datetime

from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from orders.models import OrderLine
from shop.models import Variant

from ..models import (
    OPEN_PO_STATUSES,
    BackorderPolicy,
    MovementReason,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    ShopClosure,
    StockItem,
    StockMovement,
    Warehouse,
)

# The numbers behind availability, for variants by id: the plain-SQL twin of
# `variants_with_stock` above (the same sums and policy; the waiting filter is
# `orders.querysets.WAITING`), written out once. Parity test:
# inventory/tests/test_demo.py::test_availability_reads_the_same_numbers_as_the_listing_filters.
# The last column is the variant's supplier, by the replenishment report's rule (its most recent
# purchase order not cancelled: `inventory.console.reports.replenishment`; parity test:
# inventory/tests/test_dates_learned.py::test_a_variants_supplier_is_the_replenishment_reports).
# A variant's free stock and its waiting units, for the variant row `{variant}` (a table or alias).
_FREE_STOCK_SQL = """COALESCE((SELECT SUM(si.on_hand - si.allocated)
                   FROM {stock_item} si JOIN {warehouse} w ON w.id = si.warehouse_id
                  WHERE si.variant_id = {variant}.id AND w.is_active), 0)"""
_WAITING_SQL = """COALESCE((SELECT SUM(l.quantity_backordered) FROM {order_line} l
                  WHERE l.variant_id = {variant}.id AND l.quantity_backordered > 0), 0)"""
_AVAILABILITY_NUMBERS_SQL = """
SELECT v.id AS variant_id,
       {free_stock} AS free_stock,
       {waiting} AS waiting,
       p.mode AS mode, p.discontinued AS discontinued, p.backorder_limit AS backorder_limit,
       p.lead_time_days AS lead_time_days, p.low_stock_threshold AS low_stock_threshold,
       p.backorder_discount_percent AS discount,
       (SELECT po.supplier_id FROM {po_line} pl JOIN {po} po ON po.id = pl.purchase_order_id
         WHERE pl.variant_id = v.id AND po.status <> %s
         ORDER BY po.created_at DESC, po.id DESC LIMIT 1) AS supplier_id
  FROM {variant} v LEFT JOIN {policy} p ON p.variant_id = v.id
 WHERE v.id IN ({ids})
"""

# Everything availability reads, in one statement (one round trip for a page, whatever its number of
# variants): kind 1, the numbers above; kind 2, the open purchase-order lines still to arrive (as the
# ORM query of `_incoming_rows` before it: open orders, lines not received in full); kind 3, every
# order not a draft of the suppliers of those (`suppliers._supplier_habits`' rows: its units ordered
# and received and its last receipt); kind 4, the closures not ended (`calendar._shipping_calendar`),
# only when the calendar is not known yet. Columns are shared by kind so that each keeps its type:
#   kind  c1        c2         c3        c4     c5          c6         c7        c8     c9    c10
#   1     variant   free       waiting   limit  lead time   threshold  supplier  mode   disc. discount
#   2     variant   order      ordered   recd   supplier
#   3     supplier  ordered    received                                          status
#   (c11, c12: kind 2 and 3 the expected and promised dates, kind 4 the closure's first and last day;
#    c13: kind 3 the last receipt). Portable: SQLite and PostgreSQL.
_AVAILABILITY_PAGE_SQL = """
WITH nums AS ({numbers}),
inc AS (
  SELECT pl.variant_id AS variant_id, pl.purchase_order_id AS purchase_order_id,
         po.expected_date AS expected_date, po.promised_date_at_order AS promised,
         pl.quantity_ordered AS ordered, pl.quantity_received AS received, po.supplier_id AS supplier_id
    FROM {po_line} pl JOIN {po} po ON po.id = pl.purchase_order_id
   WHERE pl.variant_id IN ({ids}) AND po.status IN (%s, %s) AND pl.quantity_received < pl.quantity_ordered
)
SELECT 1, variant_id, free_stock, waiting, backorder_limit, lead_time_days, low_stock_threshold,
       supplier_id, mode, discontinued, discount, NULL, NULL, CAST(NULL AS TIMESTAMP WITH TIME ZONE)
  FROM nums
UNION ALL
SELECT 2, variant_id, purchase_order_id, ordered, received, supplier_id, NULL,
       NULL, NULL, NULL, NULL, expected_date, promised, NULL
  FROM inc
UNION ALL
SELECT 3, po.supplier_id,
       (SELECT SUM(ol.quantity_ordered) FROM {po_line} ol WHERE ol.purchase_order_id = po.id),
       (SELECT SUM(ol.quantity_received) FROM {po_line} ol WHERE ol.purchase_order_id = po.id),
       NULL, NULL, NULL, NULL, po.status, NULL, NULL, po.expected_date, po.promised_date_at_order,
       (SELECT MAX(sm.created_at) FROM {movement} sm JOIN {po_line} ml ON ml.id = sm.po_line_id
         WHERE sm.reason = %s AND ml.purchase_order_id = po.id)
  FROM {po} po
 WHERE po.status <> %s
   AND po.supplier_id IN (SELECT supplier_id FROM nums WHERE supplier_id IS NOT NULL
                          UNION SELECT supplier_id FROM inc)
{closures}"""

_CLOSURES_SQL = """UNION ALL
SELECT 4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, starts_on, ends_on, NULL
  FROM {closure} WHERE ends_on >= %s
"""


def _free_stock_sql(*, variant: str) -> str:
    return _FREE_STOCK_SQL.format(
        stock_item=StockItem._meta.db_table, warehouse=Warehouse._meta.db_table, variant=variant
    )


def _waiting_sql(*, variant: str) -> str:
    return _WAITING_SQL.format(order_line=OrderLine._meta.db_table, variant=variant)


def can_ship_now_expression() -> RawSQL:
    """For a Variant queryset: whether units can ship from stock now (free stock above the waiting
    units), as `available_now_q` on `variants_with_stock` says, written with the SQL availability
    reads (`_AVAILABILITY_NUMBERS_SQL`): cheap to build for a page that asks only this."""
    table = Variant._meta.db_table
    return RawSQL(
        f"({_free_stock_sql(variant=table)} > {_waiting_sql(variant=table)})",
        (),
        output_field=BooleanField(),
    )


def _as_date(value) -> date | None:
    """A date column of `_AVAILABILITY_PAGE_SQL`: SQLite may hand it back as its ISO text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _as_datetime(value) -> datetime | None:
    """A timestamp column: SQLite may hand it back as its text, in UTC without a zone."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def _availability_rows(ids: list[int], *, today: date, closures: bool) -> list[tuple]:
    """The rows of `_AVAILABILITY_PAGE_SQL` for variants `ids`: one query."""
    marks = ", ".join(["%s"] * len(ids))
    numbers = _AVAILABILITY_NUMBERS_SQL.format(
        free_stock=_free_stock_sql(variant="v"),
        waiting=_waiting_sql(variant="v"),
        variant=Variant._meta.db_table,
        policy=BackorderPolicy._meta.db_table,
        po_line=PurchaseOrderLine._meta.db_table,
        po=PurchaseOrder._meta.db_table,
        ids=marks,
    )
    sql = _AVAILABILITY_PAGE_SQL.format(
        numbers=numbers,
        po_line=PurchaseOrderLine._meta.db_table,
        po=PurchaseOrder._meta.db_table,
        movement=StockMovement._meta.db_table,
        ids=marks,
        closures=_CLOSURES_SQL.format(closure=ShopClosure._meta.db_table) if closures else "",
    )
    params = [
        PurchaseOrderStatus.CANCELLED.value,
        *ids,
        *ids,
        *(status.value for status in OPEN_PO_STATUSES),
        MovementReason.RECEIVED.value,
        PurchaseOrderStatus.DRAFT.value,
    ]
    if closures:
        params.append(today)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _incoming_order(row: tuple) -> tuple:
    """The order of `_incoming_rows` (expected date, then order), with the database's place for an
    order without a date: last on PostgreSQL, first on SQLite, as the ORM's ORDER BY put it."""
    expected = row[2]
    if expected is None:
        return (connection.vendor == "postgresql", date.min, row[1])
    return (False, expected, row[1])
