"""The order-line state machine (diagram: docs/lifecycle.md).

A line's status is a pure function of its quantities, and every quantity
change goes through `line_apply`, which checks that the transition is allowed.
The order's status is derived from its lines and its ship policy. Nothing else
sets a status.

Quantity moves (n units each):

    allocate   backordered -> allocated    stock arrived or was free at checkout
    deallocate allocated   -> backordered  staff released the units
    ship       allocated   -> shipped      a shipment left the warehouse
    cancel     backordered -> cancelled    customer or staff cancelled waiting units

Each status rule is ONE table below (`LINE_STATUS_TABLE`, `ORDER_STATUS_TABLE`):
conditions in order, first match wins. The Python functions (`line_status`,
`order_status`) evaluate the table; statements that move many lines at once (the
allocation pass on PostgreSQL) render the same table as an SQL `CASE` with
`StatusTable.case_sql`, the statuses travelling as query parameters. Parity of
the two, on SQLite and PostgreSQL: orders/tests/test_lifecycle_parity.py.
"""

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .models import LineStatus, OrderLine, OrderStatus, ShipPolicy


class TransitionError(ValueError):
    """A quantity move the line's current quantities do not allow."""


# --- the rules' vocabulary ----------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """A number (or a choice) a rule reads; in SQL, the expression the caller names for it."""

    name: str

    def __sub__(self, other: "Input") -> "Difference":
        return Difference(self, other)


@dataclass(frozen=True)
class Difference:
    left: Input
    right: Input


_OPERATORS = {"=": operator.eq, ">": operator.gt}


@dataclass(frozen=True)
class Condition:
    """`left op right`; `right` is an input, a difference of two, a whole number (written into the
    SQL) or a choice's value (a query parameter)."""

    left: Input
    op: str
    right: "Input | Difference | int | str"


def eq(left: Input, right) -> Condition:
    return Condition(left, "=", right)


def gt(left: Input, right) -> Condition:
    return Condition(left, ">", right)


def _plain(value) -> str:
    """A choice as the string the database stores ('cancelled'), not the enum member."""
    return str(getattr(value, "value", value))


class StatusTable:
    """One status rule: (status, conditions) rows in order; the first row whose conditions all hold
    decides. The last row has no condition: "otherwise"."""

    def __init__(self, name: str, rows: Iterable[tuple[str, Iterable[Condition]]]) -> None:
        self.name = name
        self.rows = tuple((status, tuple(conditions)) for status, conditions in rows)
        if not self.rows or self.rows[-1][1]:
            raise ValueError(f"{name}: the last row must be the unconditional 'otherwise'")
        self.inputs = frozenset(
            i.name
            for _, conditions in self.rows
            for c in conditions
            for side in (c.left, c.right)
            for i in ((side.left, side.right) if isinstance(side, Difference) else (side,))
            if isinstance(i, Input)
        )

    # Python ---------------------------------------------------------------------------------

    def decide(self, values: Mapping[str, object]) -> str:
        """The status these values get: the first row whose conditions all hold."""
        for status, conditions in self.rows:
            if all(_OPERATORS[c.op](values[c.left.name], _operand(c.right, values)) for c in conditions):
                return status
        raise AssertionError("unreachable: the last row always holds")

    # SQL ------------------------------------------------------------------------------------

    def case_sql(self, columns: Mapping[str, str], *, param_prefix: str) -> tuple[str, dict[str, str]]:
        """The table as `CASE WHEN ... THEN %(p)s ... ELSE %(p)s END` and its parameters.

        `columns`: the SQL expression of each input (`{"shipped": "l.quantity_shipped"}`).
        Statuses and choices are named parameters `%(<param_prefix>N)s`; whole numbers are
        written in. Portable SQL: the same text runs on PostgreSQL and SQLite.
        """
        missing = self.inputs - set(columns)
        if missing:
            raise ValueError(f"{self.name}: no SQL expression for {sorted(missing)}")
        params: dict[str, str] = {}

        def param(value) -> str:
            name = f"{param_prefix}{len(params)}"
            params[name] = _plain(value)
            return f"%({name})s"

        def expr(operand) -> str:
            if isinstance(operand, Input):
                return columns[operand.name]
            if isinstance(operand, Difference):
                return f"({columns[operand.left.name]} - {columns[operand.right.name]})"
            if isinstance(operand, int):
                return str(int(operand))
            return param(operand)

        whens = []
        for status, conditions in self.rows[:-1]:
            test = " AND ".join(f"{expr(c.left)} {c.op} {expr(c.right)}" for c in conditions)
            whens.append(f"WHEN {test} THEN {param(status)}")
        return f"CASE {' '.join(whens)} ELSE {param(self.rows[-1][0])} END", params


def _operand(operand, values: Mapping[str, object]):
    if isinstance(operand, Input):
        return values[operand.name]
    if isinstance(operand, Difference):
        return values[operand.left.name] - values[operand.right.name]
    return operand


# --- a line's status ------------------------------------------------------------------------------

QUANTITY, ALLOCATED, BACKORDERED, SHIPPED, CANCELLED = (
    Input(name) for name in ("quantity", "allocated", "backordered", "shipped", "cancelled")
)

# Quantities are never negative (PositiveIntegerField), so "> 0" is "some".
LINE_STATUS_TABLE = StatusTable(
    "line status",
    [
        (LineStatus.CANCELLED, [eq(CANCELLED, QUANTITY)]),
        (LineStatus.SHIPPED, [gt(SHIPPED, 0), eq(SHIPPED, QUANTITY - CANCELLED)]),
        (LineStatus.PARTIALLY_SHIPPED, [gt(SHIPPED, 0)]),
        (LineStatus.ALLOCATED, [gt(ALLOCATED, 0), eq(BACKORDERED, 0)]),
        (LineStatus.PARTIALLY_ALLOCATED, [gt(ALLOCATED, 0)]),
        (LineStatus.BACKORDERED, []),  # nothing allocated or shipped, units waiting
    ],
)


def line_status(*, quantity: int, allocated: int, backordered: int, shipped: int, cancelled: int) -> str:
    return LINE_STATUS_TABLE.decide(
        {
            "quantity": quantity,
            "allocated": allocated,
            "backordered": backordered,
            "shipped": shipped,
            "cancelled": cancelled,
        }
    )


@dataclass(frozen=True)
class Move:
    allocate: int = 0
    deallocate: int = 0
    ship: int = 0
    cancel: int = 0


def line_apply(line: OrderLine, move: Move) -> str:
    """Apply a quantity move to `line` in memory and return its new status.

    Raises TransitionError, leaving the line unchanged, when the move would take
    more units than are in the state they move from.
    """
    allocated, backordered = line.quantity_allocated, line.quantity_backordered
    if min(move.allocate, move.deallocate, move.ship, move.cancel) < 0:
        raise TransitionError("quantities moved must not be negative")
    if move.allocate > backordered:
        raise TransitionError(f"{line.sku}: cannot allocate {move.allocate}, only {backordered} waiting")
    backordered -= move.allocate
    allocated += move.allocate
    if move.deallocate > allocated:
        raise TransitionError(f"{line.sku}: cannot release {move.deallocate}, only {allocated} allocated")
    allocated -= move.deallocate
    backordered += move.deallocate
    if move.ship > allocated:
        raise TransitionError(f"{line.sku}: cannot ship {move.ship}, only {allocated} allocated")
    allocated -= move.ship
    if move.cancel > backordered:
        raise TransitionError(
            f"{line.sku}: cannot cancel {move.cancel}, only {backordered} still waiting (allocated or shipped "
            "units cannot be cancelled here)"
        )
    backordered -= move.cancel
    line.quantity_allocated = allocated
    line.quantity_backordered = backordered
    line.quantity_shipped += move.ship
    line.quantity_cancelled += move.cancel
    line.status = line_status(
        quantity=line.quantity,
        allocated=line.quantity_allocated,
        backordered=line.quantity_backordered,
        shipped=line.quantity_shipped,
        cancelled=line.quantity_cancelled,
    )
    return line.status


# --- an order's status ----------------------------------------------------------------------------

# The order's status reads the totals of its open lines: every line that is not cancelled.
CLOSED_LINE_STATUS = LineStatus.CANCELLED

OPEN_LINES, OPEN_ALLOCATED, OPEN_BACKORDERED, OPEN_SHIPPED, SHIP_POLICY = (
    Input(name) for name in ("open_lines", "allocated", "backordered", "shipped", "ship_policy")
)

# "Ship everything together" orders are ready only when every open unit is allocated; until then
# they wait, whatever part is already allocated.
ORDER_STATUS_TABLE = StatusTable(
    "order status",
    [
        (OrderStatus.CANCELLED, [eq(OPEN_LINES, 0)]),
        (OrderStatus.SHIPPED, [eq(OPEN_ALLOCATED, 0), eq(OPEN_BACKORDERED, 0)]),
        (OrderStatus.PARTIALLY_SHIPPED, [gt(OPEN_SHIPPED, 0)]),
        (OrderStatus.READY, [eq(OPEN_BACKORDERED, 0)]),
        (OrderStatus.PARTIALLY_READY, [gt(OPEN_ALLOCATED, 0), eq(SHIP_POLICY, ShipPolicy.SPLIT)]),
        (OrderStatus.WAITING, []),  # nothing allocated, or "together" with units waiting
    ],
)


def order_totals(lines: Iterable[OrderLine]) -> dict[str, int]:
    """What the order-status rule reads of the lines: the open lines and their units."""
    open_lines = [line for line in lines if line.status != CLOSED_LINE_STATUS]
    return {
        "open_lines": len(open_lines),
        "allocated": sum(line.quantity_allocated for line in open_lines),
        "backordered": sum(line.quantity_backordered for line in open_lines),
        "shipped": sum(line.quantity_shipped for line in open_lines),
    }


def order_totals_sql(*, status: str, allocated: str, backordered: str, shipped: str, param: str) -> str:
    """`order_totals` as the select list of a `GROUP BY order` over the lines (PostgreSQL, SQLite).

    The arguments name the lines' columns; `param` names the query parameter that holds
    `CLOSED_LINE_STATUS` (the caller passes it: `{param: CLOSED_LINE_STATUS.value}`). Gives
    the columns `open_lines, allocated, backordered, shipped`.
    """
    is_open = f"FILTER (WHERE {status} <> %({param})s)"
    return (
        f"COUNT(*) {is_open} AS open_lines, "
        f"COALESCE(SUM({allocated}) {is_open}, 0) AS allocated, "
        f"COALESCE(SUM({backordered}) {is_open}, 0) AS backordered, "
        f"COALESCE(SUM({shipped}) {is_open}, 0) AS shipped"
    )


def order_status_of_totals(
    *, open_lines: int, allocated: int, backordered: int, shipped: int, ship_policy: str
) -> str:
    return ORDER_STATUS_TABLE.decide(
        {
            "open_lines": open_lines,
            "allocated": allocated,
            "backordered": backordered,
            "shipped": shipped,
            "ship_policy": ship_policy,
        }
    )


def order_status(lines: list[OrderLine], *, ship_policy: str) -> str:
    """The order's status from its lines (`ORDER_STATUS_TABLE` over `order_totals`)."""
    return order_status_of_totals(**order_totals(lines), ship_policy=ship_policy)


def shippable_quantities(lines: list[OrderLine], *, ship_policy: str) -> dict[int, int]:
    """{line id: units to ship now} under the ship policy; empty when nothing may ship yet."""
    if ship_policy == ShipPolicy.TOGETHER and any(line.quantity_backordered for line in lines):
        return {}
    return {line.pk: line.quantity_allocated for line in lines if line.quantity_allocated}
