"""The replenishment report: per active variant, stock, demand, supplier and a suggested order
(docs/staff.md, "Replenishment"), its sorting and the grouping of suggestions per supplier."""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum

from inventory.conf import inventory_defaults
from inventory.models import (
    OPEN_PO_STATUSES,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockItem,
    Supplier,
)
from orders.models import OrderLine
from shop.models import Variant

from .base import zero_if_null


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
        return zero_if_null(Subquery(qs.order_by().values("variant").annotate(t=Sum(expr)).values("t")))

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
            _backordered=OrderLine.objects.waiting_units_subquery("pk"),
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
