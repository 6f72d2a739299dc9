"""The backorder queue, as staff see it: each waiting line in the order the auto-allocation pass
serves it (`orders.querysets.queue_order()`), with the date it is projected to be served and what
covers it (stock here, an open purchase order, or nothing yet); and the variants that have a queue.

Reads only, no locks: a page shows the queue as of its query.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    RowRange,
    Subquery,
    Sum,
    Window,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from orders.models import OrderLine
from orders.querysets import queue_order
from shop.models import Variant

from ..conf import inventory_defaults
from ..models import OPEN_PO_STATUSES, PurchaseOrder, PurchaseOrderLine
from ..projection import DateRange, arrival_counted_on, ordered_incoming
from .availability import Availability, availability_for_variants, variants_with_stock
from .calendar import shipping_calendar
from .suppliers import purchase_order_incoming, supplier_habits


class QueueSource:
    """What serves a waiting line: the stock already here, an open purchase order, or nothing yet."""

    STOCK = "stock"
    PURCHASE_ORDER = "purchase_order"
    LEAD_TIME = "lead_time"


@dataclass(frozen=True)
class QueueEntry:
    """One waiting order line of a variant, in the order the auto-allocation pass will serve it."""

    position: int  # 1 = served first
    line_id: int
    order_id: int
    order_number: str
    email: str
    units_waiting: int
    units_ahead: int  # waiting units of the lines before this one
    placed_at: datetime
    age_days: int  # whole days since the order was placed (shop time zone)
    is_priority: bool
    ship_policy: str
    expected_date: date | None  # as stored on the line (last written by backorder_dates_refresh)
    projected_date: date  # the same projection as backorder_dates_refresh, computed now (confident end)
    source: str  # a QueueSource
    purchase_order_id: int | None = None  # the open purchase order expected to cover the line
    purchase_order_reference: str = ""
    purchase_order_expected_date: date | None = None  # as recorded on the purchase order
    # The covering purchase order is past its recorded date: the projection counts on what its supplier's
    # deliveries that late took, or today + grace (docs/dates.md).
    purchase_order_overdue: bool = False
    projected_range: DateRange | None = None  # earliest and confident ends; projected_date is the latter


@dataclass(frozen=True)
class QueueIncoming:
    """An open purchase order the queue counts on, in the order it serves the queue."""

    purchase_order_id: int
    reference: str
    expected_date: date | None  # as recorded
    promised_date: date  # what the projection counts on at the confident end (docs/dates.md)
    quantity: int
    overdue: bool = False  # its recorded date has passed


@dataclass(frozen=True)
class QueuePage:
    variant_id: int
    availability: Availability
    entries: list[QueueEntry]
    total_lines: int
    incoming: list[QueueIncoming]  # open purchase orders with a date, in serving order


@dataclass(frozen=True)
class NextDelivery:
    """The open purchase order that brings a variant first: the one its backorder queue is served from
    next (the projection's order: the date counted on, then the purchase order)."""

    purchase_order_id: int
    reference: str
    expected_date: date | None  # as recorded; None: the supplier gave no date yet
    # What the projection counts on (the confident end: padded by the supplier's record, on a shipping
    # day; overdue: by its deliveries that late, or today + grace); None: no date.
    promised_date: date | None
    quantity: int  # units still to arrive for this variant
    overdue: bool = False  # its recorded date has passed


def next_deliveries(*, variant_ids: Iterable[int], today: date | None = None) -> dict[int, NextDelivery]:
    """For each variant with units still to arrive on an open purchase order, the one that arrives first;
    one without a date comes after every dated one (the projection does not count on it). Three queries:
    the lines, the shop's closures and the suppliers' habits."""
    ids = list(dict.fromkeys(variant_ids))
    if not ids:
        return {}
    today = today or timezone.localdate()
    grace = inventory_defaults().overdue_grace_days
    calendar = shipping_calendar(today=today)
    rows = list(
        PurchaseOrderLine.objects.filter(
            variant_id__in=ids,
            purchase_order__status__in=OPEN_PO_STATUSES,
            quantity_received__lt=F("quantity_ordered"),
        )
        .order_by()
        .values_list(
            "variant_id",
            "purchase_order_id",
            "purchase_order__reference",
            "purchase_order__expected_date",
            "purchase_order__promised_date_at_order",
            "quantity_ordered",
            "quantity_received",
            "purchase_order__supplier_id",
        )
    )
    habits = supplier_habits({row[-1] for row in rows}, today=today) if rows else {}
    result: dict[int, NextDelivery] = {}
    for variant_id, po_id, reference, expected, at_order, ordered, received, supplier_id in rows:
        incoming = purchase_order_incoming(
            habits=habits[supplier_id],
            purchase_order_id=po_id,
            expected=expected,
            promised_at_order=at_order,
            ordered=ordered,
            received=received,
        )
        promised = arrival_counted_on(
            incoming, today=today, overdue_grace_days=grace, calendar=calendar, confidence="confident"
        )
        overdue = expected is not None and expected < today
        candidate = NextDelivery(po_id, reference, expected, promised, ordered - received, overdue)
        current = result.get(variant_id)
        if current is None or _arrives_first(candidate, current):
            result[variant_id] = candidate
    return result


def _arrives_first(a: NextDelivery, b: NextDelivery) -> bool:
    def key(d: NextDelivery):
        return (d.promised_date is None, d.promised_date or date.max, d.purchase_order_id)

    return key(a) < key(b)


def _queue_supply(availability: Availability, today: date) -> list[tuple[date, int, int]]:
    """(date counted on, purchase order id, units) of the open purchase orders, in serving order.

    `ordered_incoming` gives the date each purchase order is counted on and the
    order it serves the queue in, (date, purchase order id); it returns no id,
    so each purchase order goes through it alone and the ids are kept here.
    """
    return sorted(
        (when, inc.purchase_order_id, qty)
        for inc in availability.incoming
        for when, qty in ordered_incoming(
            [inc],
            today=today,
            overdue_grace_days=availability.overdue_grace_days,
            calendar=availability.calendar,
        )
    )


def backorder_queue_page(
    *, variant_id: int, today: date | None = None, offset: int = 0, limit: int | None = None
) -> QueuePage | None:
    """A variant's waiting lines in service order, each with the date it is projected to be served.

    None when the variant does not exist. Constant queries whatever the number
    of lines: availability (at most 4: docs/dates.md), the waiting lines with their running sum of
    units (1; a window function, so a page that starts mid-queue still knows
    what is ahead of it), their count (1, only for a partial page) and the
    references of the purchase orders counted on (1, only when there are any).
    """
    today = today or timezone.localdate()
    availability = availability_for_variants(variant_ids=[variant_id], today=today).get(variant_id)
    if availability is None:
        return None
    waiting = OrderLine.objects.waiting().filter(variant_id=variant_id)
    order = queue_order()  # the auto-allocation pass's own order of service
    rows = (
        waiting.annotate(
            _through=Window(Sum("quantity_backordered"), order_by=order, frame=RowRange(end=0)),
        )
        .order_by(*order)
        .values_list(
            "pk",
            "order_id",
            "order__number",
            "order__email",
            "quantity_backordered",
            "_through",
            "order__placed_at",
            "order__is_priority",
            "order__ship_policy",
            "expected_date",
        )
    )
    rows = list(rows[offset : offset + limit] if limit is not None else rows[offset:])
    if limit is None or (offset == 0 and len(rows) < limit):
        total_lines = offset + len(rows)
    else:
        total_lines = waiting.aggregate(n=Count("pk"))["n"]

    supply = _queue_supply(availability, today)
    references = {}
    if supply:
        references = dict(
            PurchaseOrder.objects.filter(pk__in={po for _, po, _ in supply}).values_list("pk", "reference")
        )
    recorded = {inc.purchase_order_id: inc.expected_date for inc in availability.incoming}

    entries = []
    step, covered = 0, availability.free_stock  # units covered by stock and supply[:step]
    for n, (pk, order_id, number, email, units, through, placed_at, priority, policy, stored) in enumerate(
        rows
    ):
        ahead = through - units
        projected = availability.project(units_ahead=ahead, quantity=units, today=today)
        while covered < through and step < len(supply):
            covered += supply[step][2]
            step += 1
        po_id = None
        if availability.free_stock >= through:
            source = QueueSource.STOCK
        elif covered >= through:
            source, po_id = QueueSource.PURCHASE_ORDER, supply[step - 1][1]
        else:
            source = QueueSource.LEAD_TIME
        entries.append(
            QueueEntry(
                position=offset + n + 1,
                line_id=pk,
                order_id=order_id,
                order_number=number,
                email=email,
                units_waiting=units,
                units_ahead=ahead,
                placed_at=placed_at,
                age_days=(today - timezone.localdate(placed_at)).days,
                is_priority=priority,
                ship_policy=policy,
                expected_date=stored,
                projected_date=projected.confident,
                source=source,
                purchase_order_id=po_id,
                purchase_order_reference=references.get(po_id, ""),
                purchase_order_expected_date=recorded.get(po_id),
                purchase_order_overdue=po_id is not None and _before(recorded.get(po_id), today),
                projected_range=projected,
            )
        )
    incoming = [
        QueueIncoming(
            purchase_order_id=po_id,
            reference=references.get(po_id, ""),
            expected_date=recorded.get(po_id),
            promised_date=when,
            quantity=qty,
            overdue=_before(recorded.get(po_id), today),
        )
        for when, po_id, qty in supply
    ]
    return QueuePage(
        variant_id=variant_id,
        availability=availability,
        entries=entries,
        total_lines=total_lines,
        incoming=incoming,
    )


def _before(day: date | None, today: date) -> bool:
    return day is not None and day < today


def backorder_queue(*, variant_id: int, today: date | None = None) -> list[QueueEntry]:
    """The variant's whole backorder queue in service order (see `backorder_queue_page`)."""
    page = backorder_queue_page(variant_id=variant_id, today=today)
    return page.entries if page else []


def backorder_queue_variants(*, search: str = "") -> QuerySet[Variant]:
    """Variants with units waiting on backorder, longest wait first: one query (plus a count to page).

    Annotations, besides those of `variants_with_stock`: queue_lines (waiting
    lines), queue_priority_lines (of priority orders), queue_oldest_placed_at.
    """

    def per_variant(aggregate):
        return Subquery(
            OrderLine.objects.waiting()
            .filter(variant=OuterRef("pk"))
            .order_by()
            .values("variant")
            .annotate(value=aggregate)
            .values("value")
        )

    variants = Variant.objects.filter(Exists(OrderLine.objects.waiting().filter(variant=OuterRef("pk"))))
    if search:
        variants = variants.filter(Q(sku__icontains=search) | Q(product__name__icontains=search))
    return (
        variants_with_stock(variants)
        .select_related("product")
        .annotate(
            queue_lines=per_variant(Count("pk")),
            queue_priority_lines=Coalesce(
                per_variant(Count("pk", filter=Q(order__is_priority=True))), 0, output_field=IntegerField()
            ),
            queue_oldest_placed_at=per_variant(Min("order__placed_at")),
        )
        .order_by("queue_oldest_placed_at", "pk")
    )
