"""Open purchase orders falling due: due this week and overdue (the dashboard's purchasing tiles)."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q

from inventory.models import OPEN_PO_STATUSES, PurchaseOrder

from .base import week_end_of


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
