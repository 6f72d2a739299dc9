"""Where an order's waiting lines stand in their variants' backorder queues, told in counts only.

For each waiting line of the order: how many units of other lines come before it in the queue
(the order the allocation pass serves it in, `orders.querysets.queue_order()`), and what will
serve it: the stock already here, the open purchase order whose units reach it (the same walk
down the queue as the staff queue page, `inventory.selectors.queue`), or nothing booked yet. It
says nothing of whose the other units are: a count, a delivery's size and its date.

Constant queries whatever the number of lines: the variants' availability (with their purchase
orders) and one query of the order's waiting lines with their running sum of each queue.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import F, Max, RowRange, Sum, Window
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from inventory.selectors import availability_for_variants
from inventory.selectors.queue import QueueSource, _queue_supply
from shop.formatting import date_in_words

from ..models import Order, OrderLine
from ..querysets import queue_order


@dataclass(frozen=True)
class QueuePlace:
    """One waiting line's place: "3 units ahead of yours; 20 arriving about Thursday 12 March"."""

    line_id: int
    units_ahead: int  # waiting units of lines served before this one (any order, this one's too)
    source: str  # a QueueSource: the stock here, a purchase order, or nothing booked yet
    delivery_quantity: int | None = None  # the covering purchase order's units of this variant
    delivery_date: date | None = None  # the date the projection counts on for that delivery

    def text(self) -> str:
        """The place in words, for the order page, beside the line's status (which says its date)."""
        if self.units_ahead:
            ahead = ngettext(
                "%(count)s unit ahead of yours", "%(count)s units ahead of yours", self.units_ahead
            ) % {"count": self.units_ahead}
        else:
            ahead = gettext("Yours are first in line")
        if self.source == QueueSource.STOCK:
            return gettext("%(ahead)s; the stock is here and is being set aside for you") % {"ahead": ahead}
        if self.source == QueueSource.PURCHASE_ORDER:
            return gettext("%(ahead)s; %(count)s arriving about %(date)s") % {
                "ahead": ahead,
                "count": self.delivery_quantity,
                "date": date_in_words(self.delivery_date, weekday=True),
            }
        # The status beside it says the date: not said twice.
        return gettext(
            "%(ahead)s; no delivery is booked yet, so that date is our estimate from the usual wait"
        ) % {"ahead": ahead}


def order_queue_places(*, order: Order, today: date | None = None) -> dict[int, QueuePlace]:
    """{line id: QueuePlace} for the order's waiting lines (`order.lines.all()`, prefetched by
    `order_get_for_customer`); {} and no query when nothing waits."""
    waiting = [line for line in order.lines.all() if line.quantity_backordered]
    if not waiting:
        return {}
    today = today or timezone.localdate()
    variant_ids = sorted({line.variant_id for line in waiting})
    availability = availability_for_variants(variant_ids=variant_ids, today=today)
    # The running sum runs over each variant's whole queue; only this order's lines come back.
    # A condition on a window expression is applied after the windows are computed (Django wraps
    # the query), so `_order` (each line's own order id, as a window over the line itself) picks
    # the rows without taking the other lines out of the sum.
    rows = (
        OrderLine.objects.waiting()
        .filter(variant_id__in=variant_ids)
        .annotate(
            _through=Window(
                Sum("quantity_backordered"),
                partition_by=[F("variant_id")],
                order_by=queue_order(),
                frame=RowRange(end=0),
            ),
            _order=Window(Max("order_id"), partition_by=[F("pk")]),
        )
        .filter(_order=order.pk)
        .values_list("pk", "variant_id", "quantity_backordered", "_through")
    )
    places = {}
    for pk, variant_id, units, through in rows:
        a = availability.get(variant_id)
        if a is None:
            continue
        places[pk] = _place(
            pk,
            units_ahead=through - units,
            through=through,
            supply=_queue_supply(a, today),
            free=a.free_stock,
        )
    return places


def _place(pk: int, *, units_ahead: int, through: int, supply: list, free: int) -> QueuePlace:
    """The line's source, as the queue page finds it: stock covers the first `free` units of the
    queue, then each purchase order in serving order its quantity; `through` is the line's last unit."""
    if free >= through:
        return QueuePlace(pk, units_ahead, QueueSource.STOCK)
    covered = free
    for when, _po_id, quantity in supply:
        covered += quantity
        if covered >= through:
            return QueuePlace(pk, units_ahead, QueueSource.PURCHASE_ORDER, quantity, when)
    return QueuePlace(pk, units_ahead, QueueSource.LEAD_TIME)
