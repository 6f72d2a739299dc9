"""Read-only figures for the staff console: the backorder dashboard, its charts and the
replenishment report (docs/staff.md defines every figure).

Each function answers in a small, constant number of queries whatever the
number of rows: aggregates and correlated subqueries in SQL, the arithmetic in
Python. Nothing here writes.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from orders.models import OrderEvent, OrderEventKind, OrderLine, ShipmentLine
from shop.models import Variant

from .conf import inventory_defaults
from .models import (
    OPEN_PO_STATUSES,
    MovementReason,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockItem,
    StockMovement,
    Supplier,
)
from .projection import ordered_incoming
from .selectors import availability_for_variants, variants_with_stock


def local_midnight(day: date) -> datetime:
    """The first instant of `day` in the shop's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _int(expr):
    return Coalesce(expr, 0, output_field=IntegerField())


# --- the dashboard ------------------------------------------------------------------------------

FILL_RATE_WINDOW_DAYS = 30

# (label, lowest age in whole days, highest age or None): ages are days since the order was placed.
AGE_BUCKETS = [
    ("Under 1 week", 0, 6),
    ("1–2 weeks", 7, 13),
    ("2–4 weeks", 14, 27),
    ("4–8 weeks", 28, 55),
    ("8 weeks or more", 56, None),
]


@dataclass(frozen=True)
class AgeBucket:
    label: str
    lines: int
    units: int


@dataclass(frozen=True)
class BackorderFigures:
    lines: int
    units: int
    customers: int
    oldest_placed_at: datetime | None
    oldest_wait_days: int | None
    overdue_lines: int
    age_buckets: list[AgeBucket]


def backorder_figures(*, today: date) -> BackorderFigures:
    """Open backorder lines (units still waiting), their customers, ages and overdue count: one query."""
    aggregates = {
        "lines": Count("pk"),
        "units": _int(Sum("quantity_backordered")),
        "customers": Count("order__email", distinct=True),
        "oldest": Min("order__placed_at"),
        "overdue": Count("pk", filter=Q(expected_date__lt=today)),
    }
    for n, (_, low, high) in enumerate(AGE_BUCKETS):
        # Age d days <=> placed on local day today - d: placed before the end of day (today - low)
        # and, when the bucket has an upper end, from the start of day (today - high).
        placed = Q(order__placed_at__lt=local_midnight(today - timedelta(days=low - 1)))
        if high is not None:
            placed &= Q(order__placed_at__gte=local_midnight(today - timedelta(days=high)))
        aggregates[f"lines_{n}"] = Count("pk", filter=placed)
        aggregates[f"units_{n}"] = _int(Sum("quantity_backordered", filter=placed))
    row = OrderLine.objects.filter(quantity_backordered__gt=0).aggregate(**aggregates)
    oldest = row["oldest"]
    return BackorderFigures(
        lines=row["lines"],
        units=row["units"],
        customers=row["customers"],
        oldest_placed_at=oldest,
        oldest_wait_days=(today - timezone.localdate(oldest)).days if oldest else None,
        overdue_lines=row["overdue"],
        age_buckets=[
            AgeBucket(label=label, lines=row[f"lines_{n}"], units=row[f"units_{n}"])
            for n, (label, _, _) in enumerate(AGE_BUCKETS)
        ],
    )


@dataclass(frozen=True)
class FillRate:
    start: date
    end: date
    units_promised: int
    units_on_time: int

    @property
    def percent(self) -> Decimal | None:
        if not self.units_promised:
            return None
        value = Decimal(100 * self.units_on_time) / Decimal(self.units_promised)
        return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def fill_rate(*, today: date, days: int = FILL_RATE_WINDOW_DAYS) -> FillRate:
    """Units delivered on time ÷ units promised, for promises that fell due in the last `days` days.

    A line's units in stock at checkout were promised "now" (due the day the order
    was placed) and count as on time: they were allocated at once. Its units
    backordered at checkout were promised for `first_promised_date`; they count as
    on time when they shipped on or before that day (shop time). Shipments take
    a line's units from its start, so the in-stock units are the first to ship:
    on-time backordered units = shipped by the due day − units in stock at
    checkout, between 0 and the units backordered. Cancelled units were promised
    and not delivered. One query.
    """
    start = today - timedelta(days=days - 1)
    shipped_by_due = _int(
        Subquery(
            ShipmentLine.objects.filter(
                order_line=OuterRef("pk"), shipment__created_at__date__lte=OuterRef("first_promised_date")
            )
            .order_by()
            .values("order_line")
            .annotate(total=Sum("quantity"))
            .values("total")
        )
    )
    in_stock_units = F("quantity") - F("quantity_backordered_at_placement")
    placed_in_window = Q(
        order__placed_at__gte=local_midnight(start),
        order__placed_at__lt=local_midnight(today + timedelta(days=1)),
    )
    due_in_window = Q(
        quantity_backordered_at_placement__gt=0,
        first_promised_date__gte=start,
        first_promised_date__lte=today,
    )
    row = (
        OrderLine.objects.filter(placed_in_window | due_in_window)
        .annotate(
            _in_stock=ExpressionWrapper(in_stock_units, output_field=IntegerField()),
            _on_time_bo=Greatest(
                Value(0),
                Least(F("quantity_backordered_at_placement"), shipped_by_due - in_stock_units),
                output_field=IntegerField(),
            ),
        )
        .aggregate(
            in_stock=_int(Sum("_in_stock", filter=placed_in_window)),
            backordered=_int(Sum("quantity_backordered_at_placement", filter=due_in_window)),
            on_time_bo=_int(Sum("_on_time_bo", filter=due_in_window)),
        )
    )
    return FillRate(
        start=start,
        end=today,
        units_promised=row["in_stock"] + row["backordered"],
        units_on_time=row["in_stock"] + row["on_time_bo"],
    )


@dataclass(frozen=True)
class PurchaseOrderFigures:
    due_this_week: int
    overdue: int
    week_end: date  # the Sunday ending this week


def purchase_order_figures(*, today: date) -> PurchaseOrderFigures:
    """Open purchase orders (ordered or partly received) due from today to Sunday, and overdue: one query."""
    week_end = week_end_of(today)
    row = PurchaseOrder.objects.filter(status__in=OPEN_PO_STATUSES).aggregate(
        due=Count("pk", filter=Q(expected_date__gte=today, expected_date__lte=week_end)),
        overdue=Count("pk", filter=Q(expected_date__lt=today)),
    )
    return PurchaseOrderFigures(due_this_week=row["due"], overdue=row["overdue"], week_end=week_end)


def week_end_of(day: date) -> date:
    return day + timedelta(days=6 - day.weekday())


def low_stock_variants() -> QuerySet[Variant]:
    """Active, not discontinued variants whose sellable units (free − waiting, at least 0) are at or
    below their low-stock threshold: the same rule as the staff low-stock email."""
    threshold = inventory_defaults().low_stock_threshold
    return (
        variants_with_stock(Variant.objects.filter(is_active=True))
        .annotate(
            _sellable=Greatest(
                F("stock_free") - F("backorders_waiting"), Value(0), output_field=IntegerField()
            ),
            _threshold=Coalesce(
                F("backorder_policy__low_stock_threshold"), Value(threshold), output_field=IntegerField()
            ),
        )
        .filter(policy_discontinued=False, _sellable__lte=F("_threshold"))
    )


# --- charts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekPoint:
    week_start: date  # Monday
    at: datetime  # the instant measured: the end of the week, or now for the current week
    units: int


def units_waiting_by_week(*, now: datetime, units_now: int, weeks: int = 12) -> list[WeekPoint]:
    """Units waiting on backorder at the end of each of the last `weeks` weeks (the current one: now).

    Walks back from the units waiting now (`units_now`, as the dashboard counted
    them): units waiting at instant t = units waiting now − units ordered after t
    + units allocated to order lines after t (ledger movements "allocated" minus
    "deallocated") + units cancelled after t (the "Items cancelled" events).
    Units allocated at checkout cancel out with the units ordered, so only units
    that really waited are counted. Three queries.
    """
    today = timezone.localdate(now)
    monday = today - timedelta(days=today.weekday())
    starts = [monday - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    # The instants measured: the end of each past week (next Monday 00:00), and now.
    instants = [local_midnight(s + timedelta(days=7)) for s in starts[:-1]] + [now]
    past = instants[:-1]
    if not past:
        return [WeekPoint(week_start=starts[0], at=now, units=units_now)]
    earliest = past[0]

    ordered = OrderLine.objects.filter(order__placed_at__gt=earliest, order__placed_at__lte=now).aggregate(
        **{f"t{k}": _int(Sum("quantity", filter=Q(order__placed_at__gt=t))) for k, t in enumerate(past)}
    )
    # Units allocated to (or released from) order lines. Auto-allocation writes one movement per
    # stock item and batch, without a line, so the reason alone says what these are.
    allocated = StockMovement.objects.filter(
        reason__in=[MovementReason.ALLOCATED, MovementReason.DEALLOCATED],
        created_at__gt=earliest,
        created_at__lte=now,
    ).aggregate(
        **{f"t{k}": _int(Sum("allocated_delta", filter=Q(created_at__gt=t))) for k, t in enumerate(past)}
    )
    cancelled = [0] * len(past)
    events = OrderEvent.objects.filter(
        kind=OrderEventKind.CANCELLED, created_at__gt=earliest, created_at__lte=now
    ).values_list("created_at", "data")
    for created_at, data in events.iterator(chunk_size=2000):
        n = sum(int(q) for q in (data or {}).get("lines", {}).values())
        for k, t in enumerate(past):
            if created_at > t:
                cancelled[k] += n

    points = []
    for k, (start, at) in enumerate(zip(starts, instants, strict=True)):
        if k == len(past):
            units = units_now
        else:
            units = units_now - ordered[f"t{k}"] + allocated[f"t{k}"] + cancelled[k]
        points.append(WeekPoint(week_start=start, at=at, units=units))
    return points


@dataclass(frozen=True)
class ProjectionWeek:
    week_start: date
    week_end: date
    incoming: int  # units of open purchase orders counted on arriving this week
    on_hand: int  # at the end of the week: on hand now + everything arrived so far
    waiting: int  # backordered units still waiting at the end of the week
    free: int  # on hand not promised to anyone, once the queue is served


@dataclass(frozen=True)
class VariantProjection:
    variant: Variant
    on_hand: int
    free: int
    waiting: int
    lead_time_days: int
    weeks: list[ProjectionWeek]
    beyond: int  # incoming units counted on after the last week shown
    undated: int  # incoming units of open purchase orders without a date (promise nothing)


def projection_variant_default() -> int | None:
    """The variant with the most units waiting (ties: lowest id); None when nobody waits. One query."""
    row = (
        OrderLine.objects.filter(quantity_backordered__gt=0)
        .values("variant_id")
        .annotate(units=Sum("quantity_backordered"))
        .order_by("-units", "variant_id")
        .values_list("variant_id", flat=True)
        .first()
    )
    return row


def variant_projection(*, variant_id: int, today: date, weeks: int = 8) -> VariantProjection | None:
    """On hand, incoming purchase orders and waiting backorders of one variant over the coming weeks.

    Uses the availability answer (free stock, waiting units, open purchase
    orders) and the projection's effective arrival dates (an overdue purchase
    order is counted on today + the grace days). Arriving units serve the queue
    first; new orders are not forecast here. Four queries.
    """
    variant = Variant.objects.select_related("product").filter(pk=variant_id).first()
    if variant is None:
        return None
    a = availability_for_variants(variant_ids=[variant_id], today=today)[variant_id]
    on_hand = _int(Sum("on_hand"))
    on_hand_now = StockItem.objects.filter(variant_id=variant_id, warehouse__is_active=True).aggregate(
        n=on_hand
    )["n"]
    arrivals = ordered_incoming(a.incoming, today=today, overdue_grace_days=a.overdue_grace_days)
    undated = sum(inc.quantity for inc in a.incoming if inc.expected_date is None)
    monday = today - timedelta(days=today.weekday())
    rows, arrived = [], 0
    for k in range(weeks):
        start = monday + timedelta(weeks=k)
        end = start + timedelta(days=6)
        incoming = sum(q for when, q in arrivals if start <= when <= end)
        arrived += incoming
        supply = a.free_stock + arrived
        rows.append(
            ProjectionWeek(
                week_start=start,
                week_end=end,
                incoming=incoming,
                on_hand=on_hand_now + arrived,
                waiting=max(a.waiting_backorders - supply, 0),
                free=max(supply - a.waiting_backorders, 0),
            )
        )
    last = rows[-1].week_end if rows else today
    return VariantProjection(
        variant=variant,
        on_hand=on_hand_now,
        free=a.free_stock,
        waiting=a.waiting_backorders,
        lead_time_days=a.lead_time_days,
        weeks=rows,
        beyond=sum(q for when, q in arrivals if when > last),
        undated=undated,
    )


# --- replenishment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplenishmentSettings:
    window_days: int  # sales velocity is measured over this many days
    safety_days: int  # safety stock covers this many days of sales
    review_days: int  # a suggested order covers this many days beyond the reorder point


def replenishment_settings() -> ReplenishmentSettings:
    return ReplenishmentSettings(
        window_days=getattr(settings, "INVENTORY_REPLENISHMENT_WINDOW_DAYS", 30),
        safety_days=getattr(settings, "INVENTORY_REPLENISHMENT_SAFETY_DAYS", 7),
        review_days=getattr(settings, "INVENTORY_REPLENISHMENT_REVIEW_DAYS", 14),
    )


@dataclass(frozen=True)
class ReplenishmentRow:
    variant_id: int
    sku: str
    name: str
    supplier_id: int | None
    supplier_name: str
    lead_time_days: int
    lead_time_source: str  # "supplier", "policy" or "default"
    discontinued: bool
    on_hand: int
    allocated: int
    backordered: int
    incoming: int
    sold: int  # units ordered in the window
    velocity: Decimal  # units per day, 2 decimals
    days_of_cover: int | None  # None: no sales in the window
    safety_stock: int
    reorder_point: int
    position: int  # free + incoming − backordered
    suggested: int

    @property
    def free(self) -> int:
        return self.on_hand - self.allocated


def replenishment_figures(
    *,
    on_hand: int,
    allocated: int,
    backordered: int,
    incoming: int,
    sold: int,
    lead_time_days: int,
    discontinued: bool,
    config: ReplenishmentSettings,
) -> dict:
    """The replenishment arithmetic for one variant (no queries); docs/staff.md has the formula.

    velocity v = sold / window days; safety stock = ⌈v × safety days⌉;
    reorder point = ⌈v × lead time⌉ + safety stock; position = free + incoming −
    backordered; when position ≤ reorder point, suggested = reorder point +
    ⌈v × review days⌉ − position (and at least the backorders not yet covered),
    else 0. Discontinued variants: never suggested.
    """
    window = Decimal(config.window_days)
    velocity = Decimal(sold) / window
    safety = math.ceil(Decimal(sold * config.safety_days) / window)
    reorder_point = math.ceil(Decimal(sold * lead_time_days) / window) + safety
    free = on_hand - allocated
    position = free + incoming - backordered
    available = max(free - backordered, 0)
    days_of_cover = None if sold == 0 else int(Decimal(available) / velocity)
    suggested = 0
    if not discontinued and position <= reorder_point and (sold > 0 or position < 0):
        suggested = reorder_point + math.ceil(Decimal(sold * config.review_days) / window) - position
    return {
        "velocity": velocity.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        "days_of_cover": days_of_cover,
        "safety_stock": safety,
        "reorder_point": reorder_point,
        "position": position,
        "suggested": max(suggested, 0),
    }


def replenishment_rows(
    *,
    now: datetime,
    supplier_id: int | None = None,
    warehouse_id: int | None = None,
    search: str = "",
    variant_ids: list[int] | None = None,
    config: ReplenishmentSettings | None = None,
) -> list[ReplenishmentRow]:
    """One row per active variant, in SKU order. Two queries (variants with subqueries, suppliers).

    A variant's supplier is the supplier of its most recent purchase order that
    was not cancelled (drafts count); variants never ordered have none and can
    only be ordered by hand. `warehouse_id` limits on hand, allocated and
    incoming to that warehouse; backorders and sales are shop-wide (orders are not
    tied to a warehouse).
    """
    config = config or replenishment_settings()
    defaults = inventory_defaults()
    stock = StockItem.objects.filter(variant=OuterRef("pk"), warehouse__is_active=True)
    po_lines = PurchaseOrderLine.objects.filter(
        variant=OuterRef("pk"),
        purchase_order__status__in=OPEN_PO_STATUSES,
        quantity_received__lt=F("quantity_ordered"),
    )
    if warehouse_id is not None:
        stock = stock.filter(warehouse_id=warehouse_id)
        po_lines = po_lines.filter(purchase_order__warehouse_id=warehouse_id)

    def total(qs, expr):
        return _int(Subquery(qs.order_by().values("variant").annotate(t=Sum(expr)).values("t")))

    last_supplier = (
        PurchaseOrderLine.objects.filter(variant=OuterRef("pk"))
        .exclude(purchase_order__status=PurchaseOrderStatus.CANCELLED)
        .order_by("-purchase_order__created_at", "-purchase_order_id")
        .values("purchase_order__supplier_id")[:1]
    )
    since = now - timedelta(days=config.window_days)
    variants = (
        Variant.objects.filter(is_active=True)
        .select_related("product", "backorder_policy")
        .annotate(
            _on_hand=total(stock, "on_hand"),
            _allocated=total(stock, "allocated"),
            _incoming=total(po_lines, F("quantity_ordered") - F("quantity_received")),
            _backordered=total(
                OrderLine.objects.filter(variant=OuterRef("pk"), quantity_backordered__gt=0),
                "quantity_backordered",
            ),
            _sold=total(
                OrderLine.objects.filter(
                    variant=OuterRef("pk"), order__placed_at__gt=since, order__placed_at__lte=now
                ),
                "quantity",
            ),
            _supplier_id=Subquery(last_supplier, output_field=IntegerField()),
        )
        .order_by("sku")
    )
    if supplier_id is not None:
        variants = variants.filter(_supplier_id=supplier_id)
    if search:
        variants = variants.filter(Q(sku__icontains=search) | Q(product__name__icontains=search))
    if variant_ids is not None:
        variants = variants.filter(pk__in=variant_ids)
    suppliers = {s.pk: s for s in Supplier.objects.all()}
    rows = []
    for v in variants:
        policy = getattr(v, "backorder_policy", None)
        supplier = suppliers.get(v._supplier_id)
        if supplier is not None:
            lead, source = supplier.lead_time_days, "supplier"
        elif policy is not None and policy.lead_time_days is not None:
            lead, source = policy.lead_time_days, "policy"
        else:
            lead, source = defaults.lead_time_days, "default"
        discontinued = bool(policy and policy.discontinued)
        figures = replenishment_figures(
            on_hand=v._on_hand,
            allocated=v._allocated,
            backordered=v._backordered,
            incoming=v._incoming,
            sold=v._sold,
            lead_time_days=lead,
            discontinued=discontinued,
            config=config,
        )
        rows.append(
            ReplenishmentRow(
                variant_id=v.pk,
                sku=v.sku,
                name=str(v),
                supplier_id=supplier.pk if supplier else None,
                supplier_name=supplier.name if supplier else "",
                lead_time_days=lead,
                lead_time_source=source,
                discontinued=discontinued,
                on_hand=v._on_hand,
                allocated=v._allocated,
                backordered=v._backordered,
                incoming=v._incoming,
                sold=v._sold,
                **figures,
            )
        )
    return rows


REPLENISHMENT_SORTS = {
    "sku": lambda r: r.sku,
    "supplier": lambda r: (r.supplier_name == "", r.supplier_name, r.sku),
    "on_hand": lambda r: r.on_hand,
    "allocated": lambda r: r.allocated,
    "backordered": lambda r: r.backordered,
    "incoming": lambda r: r.incoming,
    "velocity": lambda r: r.velocity,
    "days_of_cover": lambda r: (r.days_of_cover is None, r.days_of_cover or 0),
    "reorder_point": lambda r: r.reorder_point,
    "suggested": lambda r: r.suggested,
}


def replenishment_sort(rows: list[ReplenishmentRow], *, key: str, descending: bool) -> list[ReplenishmentRow]:
    """Sort by one column (SKU breaks ties); an unknown key sorts by most suggested first."""
    if key not in REPLENISHMENT_SORTS:
        key, descending = "suggested", True
    rows = sorted(rows, key=lambda r: r.sku)
    return sorted(rows, key=REPLENISHMENT_SORTS[key], reverse=descending)


def group_suggestions_by_supplier(
    rows: list[ReplenishmentRow],
) -> tuple[dict[int, dict[int, int]], list[str]]:
    """({supplier id: {variant id: units}}, SKUs that cannot be drafted and why) for rows to order."""
    groups: dict[int, dict[int, int]] = defaultdict(dict)
    skipped = []
    for row in rows:
        if row.suggested <= 0:
            skipped.append(f"{row.sku}: nothing to order")
        elif row.supplier_id is None:
            skipped.append(f"{row.sku}: no supplier known (never on a purchase order); order it by hand")
        else:
            groups[row.supplier_id][row.variant_id] = row.suggested
    return dict(groups), skipped
