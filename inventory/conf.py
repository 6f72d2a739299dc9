"""Shop-wide inventory defaults, read from Django settings with fallbacks."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class InventoryDefaults:
    backorder_mode: str
    lead_time_days: int
    low_stock_threshold: int
    overdue_grace_days: int


def inventory_defaults() -> InventoryDefaults:
    return InventoryDefaults(
        backorder_mode=getattr(settings, "INVENTORY_DEFAULT_BACKORDER_MODE", "deny"),
        lead_time_days=getattr(settings, "INVENTORY_DEFAULT_LEAD_TIME_DAYS", 21),
        low_stock_threshold=getattr(settings, "INVENTORY_LOW_STOCK_THRESHOLD", 5),
        overdue_grace_days=getattr(settings, "INVENTORY_OVERDUE_GRACE_DAYS", 3),
    )
