"""The demand table's vocabulary: which order lines wait, how many units, and in which order.

Everything that reads the backorder queue (availability, the queue pages, the
allocation pass, expected dates, delay checks, reports) asks the same three
questions; they are spelled here once:

* `WAITING` / `OrderLine.objects.waiting()`: lines with units waiting on backorder;
* `OrderLine.objects.waiting_units_by_variant()` and `.waiting_units_subquery(ref)`:
  those units summed per variant, as rows or as a subquery for an annotation;
* `queue_order()` (`QUEUE_KEYS`): the order the queue is served in, and its SQL twin.

No imports from the rest of the project: `orders.models` builds its manager from
this module, and the inventory domain reads the demand table through it.
"""

from dataclasses import dataclass

from django.db import models
from django.db.models import F, Func, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.expressions import OrderBy
from django.db.models.functions import Coalesce

# A line waits while some of its units are backordered. Also the condition of the partial
# index `orderline_waiting_by_variant`, so a query with this filter can use it.
WAITING = Q(quantity_backordered__gt=0)


@dataclass(frozen=True)
class QueueKey:
    """One key of the queue's order: the `OrderLine` field path, its column in the allocation pass's
    SQL (l: the line, o: its order), and its direction. `queue_order()` and the pass's SQL
    (`queue_order_sql()`) are both built from `QUEUE_KEYS`, so they cannot disagree."""

    field: str
    column: str
    descending: bool = False
    nulls_last: bool = False

    def expression(self) -> OrderBy:
        if self.descending:
            return F(self.field).desc()
        return F(self.field).asc(nulls_last=True) if self.nulls_last else F(self.field).asc()

    def sql(self) -> str:
        return f"{self.column}{' DESC' if self.descending else ''}{' NULLS LAST' if self.nulls_last else ''}"


# The order of service of a variant's backorder queue: staff priority first; then orders whose
# customer needs them by a date, the earliest date first (orders with none after them); then the
# oldest order; then the line id (a total order, so two readers never disagree on a tie).
QUEUE_KEYS = (
    QueueKey("order__is_priority", "o.is_priority", descending=True),
    QueueKey("order__need_by", "o.need_by", nulls_last=True),
    QueueKey("order__placed_at", "o.placed_at"),
    QueueKey("pk", "l.id"),
)


def queue_order() -> tuple[OrderBy, ...]:
    """The order of service of a variant's backorder queue (`QUEUE_KEYS`).

    For `OrderLine` querysets: `.order_by(*queue_order())`, or a window's `order_by`. The
    allocation pass's PostgreSQL statement uses `queue_order_sql()`, built from the same keys
    (orders/tests/test_querysets.py checks both orders on the same rows).
    """
    return tuple(key.expression() for key in QUEUE_KEYS)


def queue_order_sql() -> str:
    """`queue_order()` as an SQL `ORDER BY` list over `l` (the line) and `o` (its order)."""
    return ", ".join(key.sql() for key in QUEUE_KEYS)


def queue_order_columns() -> list[str]:
    """The order's columns the queue is ordered by (without `o.`), for a statement that reads them."""
    return [key.column[2:] for key in QUEUE_KEYS if key.column.startswith("o.")]


class OrderLineQuerySet(models.QuerySet):
    def waiting(self) -> "OrderLineQuerySet":
        """Lines with units waiting on backorder (the backorder queues of every variant)."""
        return self.filter(WAITING)

    def waiting_units_by_variant(self) -> "OrderLineQuerySet":
        """Units waiting per variant: one row `{"variant": id, "units": n}` per variant that has any.

        Unordered; add `.order_by(...)` or `.values_list("variant", "units")` as needed.
        """
        return self.waiting()._units_by_variant()

    def waiting_units_subquery(self, variant_ref: str) -> Func:
        """Units waiting for the variant that `OuterRef(variant_ref)` names (0 when none), for an
        annotation: `Variant.objects.annotate(w=OrderLine.objects.waiting_units_subquery("pk"))`.
        One subquery, no query per row."""
        units = self.waiting().filter(variant=OuterRef(variant_ref))._units_by_variant().values("units")
        return Coalesce(Subquery(units, output_field=IntegerField()), 0)

    def _units_by_variant(self) -> "OrderLineQuerySet":
        return self.order_by().values("variant").annotate(units=Sum("quantity_backordered"))
