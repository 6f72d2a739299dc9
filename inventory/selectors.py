"""Reads for inventory: above all, the one availability answer used everywhere.

`availability_for_variants` answers for any number of variants in two queries:
one for the variants annotated with their free stock and waiting backorders,
one for their open purchase-order lines. Product pages, listings, the cart and
checkout all ask it, so a customer never sees two different answers.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import (
    BooleanField,
    CharField,
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
    Value,
    Window,
)
from django.db.models.functions import Coalesce
from django.utils import dateformat, timezone

from orders.models import OrderLine
from shop.models import Variant

from .conf import inventory_defaults
from .models import (
    OPEN_PO_STATUSES,
    BackorderMode,
    PurchaseOrder,
    PurchaseOrderLine,
    StockItem,
    StockMovement,
    Warehouse,
)
from .projection import Incoming, ordered_incoming, project_ready_date


class AvailabilityStatus:
    """The five answers a customer can get. Plain constants (not a model field)."""

    IN_STOCK = "in_stock"
    LOW_STOCK = "low_stock"
    BACKORDER = "backorder"
    OUT_OF_STOCK = "out_of_stock"
    DISCONTINUED = "discontinued"

    LABELS = {
        IN_STOCK: "In stock",
        LOW_STOCK: "Low stock",
        BACKORDER: "Backorder",
        OUT_OF_STOCK: "Out of stock",
        DISCONTINUED: "No longer available",
    }
    SCHEMA_ORG = {
        IN_STOCK: "https://schema.org/InStock",
        LOW_STOCK: "https://schema.org/LimitedAvailability",
        BACKORDER: "https://schema.org/BackOrder",
        OUT_OF_STOCK: "https://schema.org/OutOfStock",
        DISCONTINUED: "https://schema.org/Discontinued",
    }
    # Best first: a product's badge is the best status among its variants.
    RANK = {IN_STOCK: 0, LOW_STOCK: 1, BACKORDER: 2, OUT_OF_STOCK: 3, DISCONTINUED: 4}


def date_in_words(value: date) -> str:
    return dateformat.format(value, "l j F Y")


@dataclass(frozen=True)
class Availability:
    """What one variant can be sold as, right now."""

    variant_id: int
    status: str
    sellable_now: int  # units that can ship from stock now
    backorderable: int | None  # units that may still be backordered; None = no limit
    expected_date: date | None  # when the next backordered unit would be in stock
    message: str
    free_stock: int
    waiting_backorders: int
    lead_time_days: int
    overdue_grace_days: int
    discount_percent: Decimal | None = None
    today: date | None = None
    incoming: tuple[Incoming, ...] = field(default=(), repr=False)

    @property
    def label(self) -> str:
        return AvailabilityStatus.LABELS[self.status]

    @property
    def schema_org(self) -> str:
        return AvailabilityStatus.SCHEMA_ORG[self.status]

    @property
    def is_purchasable(self) -> bool:
        return self.sellable_now > 0 or self.backorderable is None or self.backorderable > 0

    @property
    def max_orderable(self) -> int | None:
        """Most units one order may take now; None means no limit."""
        if self.backorderable is None:
            return None
        return self.sellable_now + self.backorderable

    def split(self, quantity: int) -> tuple[int, int]:
        """(units from stock now, units to backorder) for an order of `quantity`.

        Raises ValueError when policy or the backorder limit does not allow it.
        """
        now = min(quantity, self.sellable_now)
        later = quantity - now
        if self.backorderable is not None and later > self.backorderable:
            raise ValueError(f"at most {self.max_orderable} can be ordered")
        return now, later

    def backorder_date(self, quantity: int) -> date | None:
        """When all of `quantity` newly backordered units would be in stock."""
        if quantity <= 0:
            return None
        return project_ready_date(
            units_ahead=self.waiting_backorders,
            quantity=quantity,
            free_now=max(self.free_stock - self.sellable_now, 0),
            incoming=self.incoming,
            today=self.today or timezone.localdate(),
            lead_time_days=self.lead_time_days,
            overdue_grace_days=self.overdue_grace_days,
        )


def variants_with_stock(queryset: QuerySet[Variant] | None = None) -> QuerySet[Variant]:
    """Variants annotated with free stock, waiting backorders and the effective policy.

    Annotations: stock_free, backorders_waiting, policy_mode, policy_discontinued,
    policy_limit. Usable for filtering listings in SQL (see `available_now_q`).
    """
    defaults = inventory_defaults()
    queryset = Variant.objects.all() if queryset is None else queryset
    free = (
        StockItem.objects.filter(variant=OuterRef("pk"), warehouse__is_active=True)
        .values("variant")
        .annotate(total=Sum(F("on_hand") - F("allocated")))
        .values("total")
    )
    waiting = (
        OrderLine.objects.filter(variant=OuterRef("pk"), quantity_backordered__gt=0)
        .values("variant")
        .annotate(total=Sum("quantity_backordered"))
        .values("total")
    )
    return queryset.annotate(
        stock_free=Coalesce(Subquery(free, output_field=IntegerField()), 0),
        backorders_waiting=Coalesce(Subquery(waiting, output_field=IntegerField()), 0),
        policy_mode=Coalesce(
            F("backorder_policy__mode"), Value(defaults.backorder_mode), output_field=CharField()
        ),
        policy_discontinued=Coalesce(
            F("backorder_policy__discontinued"), Value(False), output_field=BooleanField()
        ),
        policy_limit=F("backorder_policy__backorder_limit"),
    )


def available_now_q() -> Q:
    """Filter for `variants_with_stock()`: units can ship from stock now."""
    return Q(stock_free__gt=F("backorders_waiting"))


def can_be_backordered_q() -> Q:
    """Filter for `variants_with_stock()`: out of stock now but may be ordered on backorder."""
    return Q(
        stock_free__lte=F("backorders_waiting"), policy_mode=BackorderMode.ALLOW, policy_discontinued=False
    ) & (Q(policy_limit__isnull=True) | Q(policy_limit__gt=F("backorders_waiting")))


def product_availability_filter(*, kind: str) -> Exists | None:
    """An Exists() for a Product queryset: 'now' = available now, 'backorder' = can be backordered."""
    conditions = {"now": available_now_q, "backorder": can_be_backordered_q}
    if kind not in conditions:
        return None
    variants = variants_with_stock(Variant.objects.filter(product=OuterRef("pk"), is_active=True))
    return Exists(variants.filter(conditions[kind]()))


def _incoming_by_variant(variant_ids: Iterable[int]) -> dict[int, list[Incoming]]:
    rows = (
        PurchaseOrderLine.objects.filter(
            variant_id__in=list(variant_ids),
            purchase_order__status__in=OPEN_PO_STATUSES,
            quantity_received__lt=F("quantity_ordered"),
        )
        .values_list(
            "variant_id",
            "purchase_order_id",
            "purchase_order__expected_date",
            "quantity_ordered",
            "quantity_received",
        )
        .order_by("purchase_order__expected_date", "purchase_order_id")
    )
    result: dict[int, list[Incoming]] = defaultdict(list)
    for variant_id, po_id, expected, ordered, received in rows:
        result[variant_id].append(
            Incoming(purchase_order_id=po_id, expected_date=expected, quantity=ordered - received)
        )
    return result


def availability_from_numbers(
    *,
    variant_id: int,
    free_stock: int,
    waiting_backorders: int,
    mode: str,
    discontinued: bool,
    backorder_limit: int | None,
    lead_time_days: int,
    low_stock_threshold: int,
    discount_percent: Decimal | None,
    incoming: Iterable[Incoming],
    today: date,
    overdue_grace_days: int,
) -> Availability:
    """The availability rules, applied to numbers already read. No queries."""
    incoming = tuple(incoming)
    sellable_now = max(free_stock - waiting_backorders, 0)
    if discontinued or mode != BackorderMode.ALLOW:
        backorderable: int | None = 0
    elif backorder_limit is None:
        backorderable = None
    else:
        backorderable = max(backorder_limit - waiting_backorders, 0)
    can_backorder = backorderable is None or backorderable > 0

    expected = None
    if can_backorder:
        expected = project_ready_date(
            units_ahead=waiting_backorders,
            quantity=1,
            free_now=max(free_stock - sellable_now, 0),
            incoming=incoming,
            today=today,
            lead_time_days=lead_time_days,
            overdue_grace_days=overdue_grace_days,
        )

    if sellable_now > 0:
        low = sellable_now <= low_stock_threshold
        status = AvailabilityStatus.LOW_STOCK if low else AvailabilityStatus.IN_STOCK
        message = f"Only {sellable_now} left in stock" if low else "In stock, ready to ship"
        if discontinued:
            message += " (this item will not be restocked)"
        elif can_backorder and expected is not None:
            message += f"; more can be ordered on backorder, expected to ship by {date_in_words(expected)}"
    elif discontinued:
        status = AvailabilityStatus.DISCONTINUED
        message = "No longer available: this item will not be restocked"
    elif can_backorder:
        status = AvailabilityStatus.BACKORDER
        message = f"Available on backorder, expected to ship by {date_in_words(expected)}"
        if backorderable is not None:
            message += f" (only {backorderable} more can be backordered)"
    else:
        status = AvailabilityStatus.OUT_OF_STOCK
        message = "Out of stock"
        if mode == BackorderMode.ALLOW:
            message = "Out of stock: backorders for this item are full"

    return Availability(
        variant_id=variant_id,
        status=status,
        sellable_now=sellable_now,
        backorderable=backorderable,
        expected_date=expected,
        message=message,
        free_stock=free_stock,
        waiting_backorders=waiting_backorders,
        lead_time_days=lead_time_days,
        overdue_grace_days=overdue_grace_days,
        discount_percent=discount_percent if can_backorder else None,
        today=today,
        incoming=incoming,
    )


# The numbers behind availability, for variants by id: the same sums and policy as
# `variants_with_stock` (tested for parity), written out once. This runs on every product
# page, cart, checkout and listing badge; as plain SQL it skips building the ORM query
# (about two thirds of the call's CPU) and model instances. Portable: SQLite and PostgreSQL.
_AVAILABILITY_NUMBERS_SQL = """
SELECT v.id,
       COALESCE((SELECT SUM(si.on_hand - si.allocated)
                   FROM {stock_item} si JOIN {warehouse} w ON w.id = si.warehouse_id
                  WHERE si.variant_id = v.id AND w.is_active), 0),
       COALESCE((SELECT SUM(l.quantity_backordered) FROM {order_line} l
                  WHERE l.variant_id = v.id AND l.quantity_backordered > 0), 0),
       p.mode, p.discontinued, p.backorder_limit, p.lead_time_days, p.low_stock_threshold,
       p.backorder_discount_percent
  FROM {variant} v LEFT JOIN {policy} p ON p.variant_id = v.id
 WHERE v.id IN ({ids})
"""


def _availability_numbers(ids: list[int]) -> list[tuple]:
    from django.db import connection

    from .models import BackorderPolicy

    sql = _AVAILABILITY_NUMBERS_SQL.format(
        stock_item=StockItem._meta.db_table,
        warehouse=Warehouse._meta.db_table,
        order_line=OrderLine._meta.db_table,
        variant=Variant._meta.db_table,
        policy=BackorderPolicy._meta.db_table,
        ids=", ".join(["%s"] * len(ids)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        return cursor.fetchall()


def availability_for_variants(
    *, variant_ids: Iterable[int], today: date | None = None
) -> dict[int, Availability]:
    """Availability of many variants in exactly two queries, whatever their number."""
    ids = list(dict.fromkeys(variant_ids))
    if not ids:
        return {}
    defaults = inventory_defaults()
    today = today or timezone.localdate()
    rows = _availability_numbers(ids)
    incoming = _incoming_by_variant(ids)
    result = {}
    for pk, free, waiting, mode, discontinued, limit, lead_time, threshold, discount in rows:
        result[pk] = availability_from_numbers(
            variant_id=pk,
            free_stock=int(free),
            waiting_backorders=int(waiting),
            mode=mode if mode is not None else defaults.backorder_mode,
            discontinued=bool(discontinued),
            backorder_limit=limit,
            lead_time_days=lead_time if lead_time is not None else defaults.lead_time_days,
            low_stock_threshold=threshold if threshold is not None else defaults.low_stock_threshold,
            # SQLite hands decimals back as numbers: through str() they keep their two places.
            discount_percent=None if discount is None else Decimal(str(discount)).quantize(Decimal("0.01")),
            incoming=incoming.get(pk, ()),
            today=today,
            overdue_grace_days=defaults.overdue_grace_days,
        )
    return result


def availability_for_variant(*, variant_id: int, today: date | None = None) -> Availability | None:
    return availability_for_variants(variant_ids=[variant_id], today=today).get(variant_id)


def availability_best(availabilities: Iterable[Availability]) -> Availability | None:
    """The best answer among a product's variants, for a listing badge."""
    return min(
        availabilities,
        key=lambda a: (AvailabilityStatus.RANK[a.status], a.expected_date or date.max),
        default=None,
    )


@dataclass(frozen=True)
class LedgerDiscrepancy:
    stock_item_id: int
    sku: str
    warehouse: str
    on_hand: int
    allocated: int
    ledger_on_hand: int
    ledger_allocated: int

    def __str__(self) -> str:
        return (
            f"{self.sku} @ {self.warehouse} (stock item {self.stock_item_id}): "
            f"on hand {self.on_hand} but ledger says {self.ledger_on_hand}; "
            f"allocated {self.allocated} but ledger says {self.ledger_allocated}"
        )


def ledger_discrepancies() -> list[LedgerDiscrepancy]:
    """Stock items whose levels differ from the sums of their movements (one query)."""
    on_hand_sum = (
        StockMovement.objects.filter(stock_item=OuterRef("pk"))
        .values("stock_item")
        .annotate(total=Sum("on_hand_delta"))
        .values("total")
    )
    allocated_sum = (
        StockMovement.objects.filter(stock_item=OuterRef("pk"))
        .values("stock_item")
        .annotate(total=Sum("allocated_delta"))
        .values("total")
    )
    items = (
        StockItem.objects.annotate(
            ledger_on_hand=Coalesce(Subquery(on_hand_sum, output_field=IntegerField()), 0),
            ledger_allocated=Coalesce(Subquery(allocated_sum, output_field=IntegerField()), 0),
        )
        .filter(~Q(on_hand=F("ledger_on_hand")) | ~Q(allocated=F("ledger_allocated")))
        .values_list(
            "pk",
            "variant__sku",
            "warehouse__code",
            "on_hand",
            "allocated",
            "ledger_on_hand",
            "ledger_allocated",
        )
        .order_by("pk")
    )
    return [LedgerDiscrepancy(*row) for row in items]


# --- the backorder queue, as staff see it -------------------------------------------------------


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
    projected_date: date  # the same projection as backorder_dates_refresh, computed now
    source: str  # a QueueSource
    purchase_order_id: int | None = None  # the open purchase order expected to cover the line
    purchase_order_reference: str = ""
    purchase_order_expected_date: date | None = None  # as recorded on the purchase order

    @property
    def purchase_order_overdue(self) -> bool:
        """The covering purchase order is late: the projection counts on today + grace instead."""
        recorded = self.purchase_order_expected_date
        return (
            self.source == QueueSource.PURCHASE_ORDER
            and recorded is not None
            and recorded != self.projected_date
        )


@dataclass(frozen=True)
class QueueIncoming:
    """An open purchase order the queue counts on, in the order it serves the queue."""

    purchase_order_id: int
    reference: str
    expected_date: date | None  # as recorded
    promised_date: date  # what the projection counts on (overdue: today + grace)
    quantity: int


@dataclass(frozen=True)
class QueuePage:
    variant_id: int
    availability: Availability
    entries: list[QueueEntry]
    total_lines: int
    incoming: list[QueueIncoming]  # open purchase orders with a date, in serving order


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
            [inc], today=today, overdue_grace_days=availability.overdue_grace_days
        )
    )


def backorder_queue_page(
    *, variant_id: int, today: date | None = None, offset: int = 0, limit: int | None = None
) -> QueuePage | None:
    """A variant's waiting lines in service order, each with the date it is projected to be served.

    None when the variant does not exist. Constant queries whatever the number
    of lines: availability (2), the waiting lines with their running sum of
    units (1; a window function, so a page that starts mid-queue still knows
    what is ahead of it), their count (1, only for a partial page) and the
    references of the purchase orders counted on (1, only when there are any).
    """
    today = today or timezone.localdate()
    availability = availability_for_variants(variant_ids=[variant_id], today=today).get(variant_id)
    if availability is None:
        return None
    # The auto-allocation pass's own order of service. Imported here: services reads selectors.
    from .services import _queue_order

    waiting = OrderLine.objects.filter(variant_id=variant_id, quantity_backordered__gt=0)
    order = _queue_order()
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
        projected = project_ready_date(
            units_ahead=ahead,
            quantity=units,
            free_now=availability.free_stock,
            incoming=availability.incoming,
            today=today,
            lead_time_days=availability.lead_time_days,
            overdue_grace_days=availability.overdue_grace_days,
        )
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
                projected_date=projected,
                source=source,
                purchase_order_id=po_id,
                purchase_order_reference=references.get(po_id, ""),
                purchase_order_expected_date=recorded.get(po_id),
            )
        )
    incoming = [
        QueueIncoming(
            purchase_order_id=po_id,
            reference=references.get(po_id, ""),
            expected_date=recorded.get(po_id),
            promised_date=when,
            quantity=qty,
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
            OrderLine.objects.filter(variant=OuterRef("pk"), quantity_backordered__gt=0)
            .order_by()
            .values("variant")
            .annotate(value=aggregate)
            .values("value")
        )

    variants = Variant.objects.filter(
        Exists(OrderLine.objects.filter(variant=OuterRef("pk"), quantity_backordered__gt=0))
    )
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
