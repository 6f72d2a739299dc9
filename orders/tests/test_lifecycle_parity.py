"""Parity: each status rule's Python function and the SQL CASE built from the same table
(orders.lifecycle) give the same status for every small combination of quantities, evaluated by
the database under test (SQLite; PostgreSQL in CI's second run).

The SQL statements that use the CASEs (the allocation pass on PostgreSQL) carry no status
string: statuses travel as query parameters (checked at the end).
"""

import itertools

import pytest
from django.db import connection

from orders.lifecycle import (
    CLOSED_LINE_STATUS,
    LINE_STATUS_TABLE,
    ORDER_STATUS_TABLE,
    line_status,
    order_status,
    order_status_of_totals,
    order_totals_sql,
)
from orders.models import LineStatus, OrderLine, OrderStatus, ShipPolicy

pytestmark = pytest.mark.django_db

SMALL = range(3)  # 0, 1, 2 of each quantity
LINE_INPUTS = ("quantity", "allocated", "backordered", "shipped", "cancelled")
ORDER_INPUTS = ("open_lines", "allocated", "backordered", "shipped", "ship_policy")


def _sql_value(value) -> str:
    return str(value) if isinstance(value, int) else f"'{value}'"


def _rows_sql(rows) -> str:
    return ", ".join("(" + ", ".join(_sql_value(v) for v in row) + ")" for row in rows)


def _fetch(sql: str, params: dict) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[1] for row in cursor.fetchall()]


def test_line_status_in_python_and_in_sql_agree_for_every_small_combination():
    combos = list(itertools.product(SMALL, repeat=5))
    case, params = LINE_STATUS_TABLE.case_sql({name: f"v.{name}" for name in LINE_INPUTS}, param_prefix="s")

    in_sql = _fetch(
        f"WITH v(n, {', '.join(LINE_INPUTS)}) AS (VALUES {_rows_sql((n, *c) for n, c in enumerate(combos))}) "
        f"SELECT n, {case} FROM v ORDER BY n",
        params,
    )

    in_python = [line_status(**dict(zip(LINE_INPUTS, c, strict=True))) for c in combos]
    assert in_sql == in_python
    assert set(in_python) == set(LineStatus.values)  # every row of the table is reached


def test_order_status_in_python_and_in_sql_agree_for_every_small_combination_and_policy():
    combos = [
        (*totals, policy) for totals in itertools.product(SMALL, repeat=4) for policy in ShipPolicy.values
    ]
    case, params = ORDER_STATUS_TABLE.case_sql({name: f"v.{name}" for name in ORDER_INPUTS}, param_prefix="s")

    in_sql = _fetch(
        f"WITH v(n, {', '.join(ORDER_INPUTS)}) AS (VALUES {_rows_sql((n, *c) for n, c in enumerate(combos))}) "
        f"SELECT n, {case} FROM v ORDER BY n",
        params,
    )

    in_python = [order_status_of_totals(**dict(zip(ORDER_INPUTS, c, strict=True))) for c in combos]
    assert in_sql == in_python
    assert set(in_python) == set(OrderStatus.values)


def _line(allocated, backordered, shipped, cancelled) -> OrderLine:
    quantity = allocated + backordered + shipped + cancelled
    return OrderLine(
        quantity=quantity,
        quantity_allocated=allocated,
        quantity_backordered=backordered,
        quantity_shipped=shipped,
        quantity_cancelled=cancelled,
        status=line_status(
            quantity=quantity,
            allocated=allocated,
            backordered=backordered,
            shipped=shipped,
            cancelled=cancelled,
        ),
    )


def test_order_status_from_lines_in_python_and_in_sql_agree():
    """The whole rule as the pass's statement runs it: totals of the open lines grouped per order
    (order_totals_sql), then the CASE; orders of one and of two lines of every small kind."""
    kinds = [k for k in itertools.product(range(2), repeat=4) if sum(k) > 0]
    shapes = [[k] for k in kinds] + [[a, b] for a in kinds for b in kinds]
    orders = [(lines, policy) for lines in shapes for policy in ShipPolicy.values]
    line_rows = [
        (n, line.status, line.quantity_allocated, line.quantity_backordered, line.quantity_shipped)
        for n, (kinds_of_order, _) in enumerate(orders)
        for line in (_line(*k) for k in kinds_of_order)
    ]
    totals = order_totals_sql(
        status="l.status",
        allocated="l.quantity_allocated",
        backordered="l.quantity_backordered",
        shipped="l.quantity_shipped",
        param="closed",
    )
    case, params = ORDER_STATUS_TABLE.case_sql(
        {**{name: f"a.{name}" for name in ORDER_INPUTS}, "ship_policy": "o.ship_policy"}, param_prefix="s"
    )

    in_sql = _fetch(
        f"WITH l(order_n, status, quantity_allocated, quantity_backordered, quantity_shipped) AS "
        f"(VALUES {_rows_sql(line_rows)}), "
        f"o(n, ship_policy) AS (VALUES {_rows_sql((n, policy) for n, (_, policy) in enumerate(orders))}), "
        f"a AS (SELECT l.order_n, {totals} FROM l GROUP BY l.order_n) "
        f"SELECT o.n, {case} FROM o JOIN a ON a.order_n = o.n ORDER BY o.n",
        {**params, "closed": CLOSED_LINE_STATUS.value},
    )

    in_python = [order_status([_line(*k) for k in lines], ship_policy=policy) for lines, policy in orders]
    assert in_sql == in_python
    assert set(in_python) == set(OrderStatus.values)


def test_the_pass_statements_carry_no_status_string():
    from inventory.services.serving import _STOCK_SERVE_SQL
    from orders.services.after_allocation import _ORDERS_ALLOCATED_SQL
    from orders.services.allocation_batches import _SERVE_SQL

    literals = {f"'{v}'" for v in (*LineStatus.values, *OrderStatus.values, *ShipPolicy.values)}
    for sql in (_SERVE_SQL, _ORDERS_ALLOCATED_SQL, _STOCK_SERVE_SQL):
        assert [literal for literal in literals if literal in sql] == []
