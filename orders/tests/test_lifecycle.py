"""orders/lifecycle.py: the status tables decide as the rules of docs/lifecycle.md say."""

import itertools

import pytest

from orders.lifecycle import (
    LINE_STATUS_TABLE,
    ORDER_STATUS_TABLE,
    StatusTable,
    eq,
    gt,
    line_status,
    order_status,
    order_status_of_totals,
    order_totals,
)
from orders.models import LineStatus, OrderLine, OrderStatus, ShipPolicy

SMALL = range(3)


def reference_line_status(*, quantity, allocated, backordered, shipped, cancelled):
    """docs/lifecycle.md's line-status table, as the if-chain the table replaced."""
    if cancelled == quantity:
        return LineStatus.CANCELLED
    if shipped and shipped == quantity - cancelled:
        return LineStatus.SHIPPED
    if shipped:
        return LineStatus.PARTIALLY_SHIPPED
    if allocated and not backordered:
        return LineStatus.ALLOCATED
    if allocated:
        return LineStatus.PARTIALLY_ALLOCATED
    return LineStatus.BACKORDERED


def reference_order_status(*, open_lines, allocated, backordered, shipped, ship_policy):
    """docs/lifecycle.md's order-status table, as the if-chain the table replaced."""
    if not open_lines:
        return OrderStatus.CANCELLED
    if not allocated and not backordered:
        return OrderStatus.SHIPPED
    if shipped:
        return OrderStatus.PARTIALLY_SHIPPED
    if not backordered:
        return OrderStatus.READY
    if allocated and ship_policy == ShipPolicy.SPLIT:
        return OrderStatus.PARTIALLY_READY
    return OrderStatus.WAITING


def test_line_status_decides_as_the_documented_rule_for_every_small_combination():
    for quantity, allocated, backordered, shipped, cancelled in itertools.product(SMALL, repeat=5):
        values = {
            "quantity": quantity,
            "allocated": allocated,
            "backordered": backordered,
            "shipped": shipped,
            "cancelled": cancelled,
        }
        assert line_status(**values) == reference_line_status(**values), values


def test_order_status_decides_as_the_documented_rule_for_every_small_combination():
    for (open_lines, allocated, backordered, shipped), policy in itertools.product(
        itertools.product(SMALL, repeat=4), ShipPolicy.values
    ):
        values = {
            "open_lines": open_lines,
            "allocated": allocated,
            "backordered": backordered,
            "shipped": shipped,
            "ship_policy": policy,
        }
        assert order_status_of_totals(**values) == reference_order_status(**values), values


def _line(allocated=0, backordered=0, shipped=0, cancelled=0):
    line = OrderLine(
        quantity=allocated + backordered + shipped + cancelled,
        quantity_allocated=allocated,
        quantity_backordered=backordered,
        quantity_shipped=shipped,
        quantity_cancelled=cancelled,
    )
    line.status = line_status(
        quantity=line.quantity,
        allocated=allocated,
        backordered=backordered,
        shipped=shipped,
        cancelled=cancelled,
    )
    return line


def test_the_order_reads_its_open_lines_only():
    lines = [_line(allocated=2), _line(cancelled=3), _line(backordered=0, shipped=1)]

    assert order_totals(lines) == {"open_lines": 2, "allocated": 2, "backordered": 0, "shipped": 1}
    assert order_status(lines, ship_policy=ShipPolicy.SPLIT) == OrderStatus.PARTIALLY_SHIPPED
    assert order_status([_line(cancelled=1)], ship_policy=ShipPolicy.SPLIT) == OrderStatus.CANCELLED


@pytest.mark.parametrize(
    ("policy", "expected"), [(ShipPolicy.SPLIT, "partially_ready"), (ShipPolicy.TOGETHER, "waiting")]
)
def test_a_together_order_waits_while_any_unit_waits(policy, expected):
    assert order_status([_line(allocated=1), _line(backordered=1)], ship_policy=policy) == expected


def test_every_status_has_a_row_and_the_last_row_is_otherwise():
    assert [status for status, _ in LINE_STATUS_TABLE.rows] == [
        "cancelled",
        "shipped",
        "partially_shipped",
        "allocated",
        "partially_allocated",
        "backordered",
    ]
    assert sorted(status for status, _ in ORDER_STATUS_TABLE.rows) == sorted(OrderStatus.values)
    assert LINE_STATUS_TABLE.rows[-1][1] == () and ORDER_STATUS_TABLE.rows[-1][1] == ()


def test_a_table_without_otherwise_is_refused():
    from orders.lifecycle import Input

    with pytest.raises(ValueError, match="otherwise"):
        StatusTable("broken", [("a", [gt(Input("x"), 0)])])


def test_case_sql_needs_an_expression_for_every_input_and_passes_statuses_as_parameters():
    with pytest.raises(ValueError, match="no SQL expression"):
        LINE_STATUS_TABLE.case_sql({"quantity": "q"}, param_prefix="s")
    from orders.lifecycle import Input

    table = StatusTable(
        "small", [("done", [eq(Input("left"), 0), gt(Input("n"), Input("left"))]), ("open", [])]
    )

    sql, params = table.case_sql({"left": "t.left", "n": "t.n"}, param_prefix="p")

    assert sql == "CASE WHEN t.left = 0 AND t.n > t.left THEN %(p0)s ELSE %(p1)s END"
    assert params == {"p0": "done", "p1": "open"}
