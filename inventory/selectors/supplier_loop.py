"""Reads of the supplier loop (docs/inventory.md, "The supplier loop"): the purchase order a supplier's
link shows, the orders whose supplier is due a reminder, and the staff dashboard's figures on
suppliers' answers and on waiting units that no open purchase order covers.

Every function answers in a constant number of queries, whatever the number of rows.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from orders.models import OrderLine
from shop.models import Variant

from ..models import (
    OPEN_PO_STATUSES,
    DateChangeSource,
    PurchaseOrder,
    PurchaseOrderDateChange,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockItem,
)

# How far back the dashboard lists dates that suppliers moved.
SUPPLIER_MOVES_WINDOW_DAYS = 30
# The dashboard lists at most this many rows per figure; the figure itself counts them all.
LIST_LIMIT = 10
UNCOVERED_LIMIT = 50


def purchase_order_for_supplier(*, purchase_order_id: int) -> PurchaseOrder | None:
    """The purchase order a supplier's link names, with its supplier and lines (two queries)."""
    return (
        PurchaseOrder.objects.select_related("supplier", "warehouse")
        .prefetch_related("lines__variant__product")
        .filter(pk=purchase_order_id)
        .exclude(status=PurchaseOrderStatus.DRAFT)  # a draft was never sent: no link names it
        .first()
    )


def awaiting_confirmation() -> Q:
    """Open, and the supplier has not confirmed the date we now expect (never, or another date)."""
    return Q(status__in=OPEN_PO_STATUSES, expected_date__isnull=False) & (
        Q(confirmed_date__isnull=True) | ~Q(confirmed_date=F("expected_date"))
    )


@dataclass(frozen=True)
class Reminder:
    purchase_order_id: int
    recipient: str
    reason: str  # "unconfirmed" or "overdue"


def purchase_orders_to_remind(*, now: datetime, unconfirmed_after_days: int) -> list[Reminder]:
    """Open purchase orders whose supplier (with an email) is due a reminder. One query.

    Unconfirmed: the supplier never answered, `unconfirmed_after_days` after it was ordered.
    Overdue: the expected date has passed and it is not fully received. An order may be both.
    Whether the reminder went already is the outbox's dedupe key, not this read.
    """
    today = timezone.localdate(now)
    unconfirmed = Q(confirmed_at__isnull=True, ordered_at__lte=now - timedelta(days=unconfirmed_after_days))
    overdue = Q(expected_date__lt=today)
    rows = (
        PurchaseOrder.objects.filter(status__in=OPEN_PO_STATUSES)
        .exclude(supplier__contact_email="")
        .filter(unconfirmed | overdue)
        .order_by("pk")
        .values_list("pk", "supplier__contact_email", "confirmed_at", "ordered_at", "expected_date")
    )
    due = []
    cutoff = now - timedelta(days=unconfirmed_after_days)
    for pk, email, confirmed_at, ordered_at, expected in rows:
        if confirmed_at is None and ordered_at is not None and ordered_at <= cutoff:
            due.append(Reminder(pk, email, "unconfirmed"))
        if expected is not None and expected < today:
            due.append(Reminder(pk, email, "overdue"))
    return due


# --- the staff dashboard -----------------------------------------------------------------------


@dataclass(frozen=True)
class SupplierAnswers:
    awaiting: int
    awaiting_rows: list[PurchaseOrder]
    moved: int
    moved_rows: list[PurchaseOrderDateChange]
    overdue: int
    overdue_rows: list[PurchaseOrder]


def supplier_answers(*, today: date) -> SupplierAnswers:
    """Open purchase orders awaiting the supplier's confirmation, dates suppliers moved in the last
    `SUPPLIER_MOVES_WINDOW_DAYS` days, and overdue purchase orders. Four queries."""
    counts = PurchaseOrder.objects.aggregate(
        awaiting=Count("pk", filter=awaiting_confirmation()),
        overdue=Count("pk", filter=Q(status__in=OPEN_PO_STATUSES, expected_date__lt=today)),
    )
    open_orders = PurchaseOrder.objects.select_related("supplier")
    awaiting_rows = list(
        open_orders.filter(awaiting_confirmation()).order_by("ordered_at", "pk")[:LIST_LIMIT]
    )
    overdue_rows = list(
        open_orders.filter(status__in=OPEN_PO_STATUSES, expected_date__lt=today).order_by(
            "expected_date", "pk"
        )[:LIST_LIMIT]
    )
    since = timezone.now() - timedelta(days=SUPPLIER_MOVES_WINDOW_DAYS)
    moves = (
        PurchaseOrderDateChange.objects.filter(source=DateChangeSource.SUPPLIER, changed_at__gte=since)
        .select_related("purchase_order__supplier")
        .order_by("-changed_at", "-pk")
    )
    moved_rows = list(moves[: LIST_LIMIT + 1])
    moved = len(moved_rows) if len(moved_rows) <= LIST_LIMIT else moves.count()
    return SupplierAnswers(
        awaiting=counts["awaiting"],
        awaiting_rows=awaiting_rows,
        moved=moved,
        moved_rows=moved_rows[:LIST_LIMIT],
        overdue=counts["overdue"],
        overdue_rows=overdue_rows,
    )


@dataclass(frozen=True)
class UncoveredItem:
    variant_id: int
    sku: str
    name: str
    waiting: int
    free: int
    incoming: int
    shortfall: int
    supplier_id: int | None
    supplier_name: str


def _sum(queryset, expression) -> Coalesce:
    rows = queryset.order_by().values("variant").annotate(total=Sum(expression)).values("total")
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def uncovered_waiting_units(*, variant_ids: list[int] | None = None) -> tuple[list[UncoveredItem], int]:
    """Waiting units that no open purchase order covers, per SKU, most first; and how many SKUs.

    Shortfall = units waiting − free stock (active warehouses) − units still to arrive on open
    purchase orders (ordered or partly received). The supplier is the item's usual one: the supplier
    of its latest purchase order that was not cancelled (drafts count), as the replenishment report
    says; None when it was never ordered. Two queries (the rows, up to `UNCOVERED_LIMIT`; the count).
    """
    waiting = OrderLine.objects.waiting_units_subquery("pk")
    free = _sum(
        StockItem.objects.with_free_units().filter(variant=OuterRef("pk")), F("on_hand") - F("allocated")
    )
    incoming = _sum(
        PurchaseOrderLine.objects.filter(
            variant=OuterRef("pk"),
            purchase_order__status__in=OPEN_PO_STATUSES,
            quantity_received__lt=F("quantity_ordered"),
        ),
        F("quantity_ordered") - F("quantity_received"),
    )
    latest = (
        PurchaseOrderLine.objects.filter(variant=OuterRef("pk"))
        .exclude(purchase_order__status=PurchaseOrderStatus.CANCELLED)
        .order_by("-purchase_order__created_at", "-purchase_order_id")
    )
    variants = (
        Variant.objects.filter(pk__in=OrderLine.objects.waiting().values("variant"))
        .annotate(_waiting=waiting, _free=free, _incoming=incoming)
        .annotate(_shortfall=F("_waiting") - F("_free") - F("_incoming"))
        .filter(_shortfall__gt=0)
    )
    if variant_ids is not None:
        variants = variants.filter(pk__in=variant_ids)
    total = variants.count()
    rows = (
        variants.annotate(
            _supplier_id=Subquery(latest.values("purchase_order__supplier_id")[:1]),
            _supplier_name=Subquery(latest.values("purchase_order__supplier__name")[:1]),
        )
        .select_related("product")
        .order_by("-_shortfall", "sku")[:UNCOVERED_LIMIT]
    )
    items = [
        UncoveredItem(
            variant_id=v.pk,
            sku=v.sku,
            name=str(v),
            waiting=v._waiting,
            free=v._free,
            incoming=v._incoming,
            shortfall=v._shortfall,
            supplier_id=v._supplier_id,
            supplier_name=v._supplier_name or "",
        )
        for v in rows
    ]
    return items, total
