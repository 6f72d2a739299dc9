"""Open purchase orders falling due: due in the next 7 days and overdue (the dashboard's purchasing tiles)."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q

from inventory.models import OPEN_PO_STATUSES, PurchaseOrder

from .base import due_soon_end


@dataclass(frozen=True)
class PurchaseOrderFigures:
    due_soon: int  # due from today to `due_until` (DUE_SOON_DAYS days, today included)
    overdue: int
    due_until: date


def purchase_order_figures(*, today: date) -> PurchaseOrderFigures:
    """Open purchase orders (ordered or partly received) due in the next 7 days (today and the 6 after),
    and overdue: one query."""
    until = due_soon_end(today)
    row = PurchaseOrder.objects.filter(status__in=OPEN_PO_STATUSES).aggregate(
        due=Count("pk", filter=Q(expected_date__gte=today, expected_date__lte=until)),
        overdue=Count("pk", filter=Q(expected_date__lt=today)),
    )
    return PurchaseOrderFigures(due_soon=row["due"], overdue=row["overdue"], due_until=until)
