"""The demand table's vocabulary: which order lines wait, how many units, and in which order.

Everything that reads the backorder queue (availability, the queue pages, the
allocation pass, expected dates, delay checks, reports) asks the same three
questions; they are spelled here once:

* `WAITING` / `OrderLine.objects.waiting()`: lines with units waiting on backorder;
* `OrderLine.objects.waiting_units_by_variant()` and `.waiting_units_subquery(ref)`:
  those units summed per variant, as rows or as a subquery for an annotation;
* `queue_order()`: the order the queue is served in.

No imports from the rest of the project: `orders.models` builds its manager from
this module, and the inventory domain reads the demand table through it.
"""

from django.db import models
from django.db.models import Func, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

# A line waits while some of its units are backordered. Also the condition of the partial
# index `orderline_waiting_by_variant`, so a query with this filter can use it.
WAITING = Q(quantity_backordered__gt=0)


def queue_order() -> tuple[str, ...]:
    """The order of service of a variant's backorder queue: staff priority first, then the oldest
    order, then the line id (a total order, so two readers never disagree on a tie).

    For `OrderLine` querysets: `.order_by(*queue_order())`, or a window's `order_by`. The
    allocation pass's PostgreSQL statement spells the same order in SQL
    (`ORDER BY o.is_priority DESC, o.placed_at, l.id`).
    """
    return ("-order__is_priority", "order__placed_at", "pk")


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
