"""Read-only figures for the staff console (docs/staff.md defines every figure), one module per report.

Each function answers in a small, constant number of queries whatever the
number of rows: aggregates and correlated subqueries in SQL, the arithmetic in
Python. Nothing here writes. The public names are re-exported here.
"""

from .backorders import (
    AGE_BUCKETS,
    AgeBucket,
    BackorderFigures,
    WeekPoint,
    backorder_figures,
    units_waiting_by_week,
)
from .base import DUE_SOON_DAYS, due_soon_end, local_midnight, week_end_of
from .fill_rate import FILL_RATE_WINDOW_DAYS, FillRate, fill_rate
from .item_projection import ProjectionWeek, VariantProjection, projection_variant_default, variant_projection
from .low_stock import low_stock_variants
from .purchasing import PurchaseOrderFigures, purchase_order_figures
from .replenishment import (
    REPLENISHMENT_SORTS,
    ReplenishmentRow,
    ReplenishmentSettings,
    group_suggestions_by_supplier,
    replenishment_figures,
    replenishment_rows,
    replenishment_settings,
    replenishment_sort,
)

__all__ = [
    "AGE_BUCKETS",
    "DUE_SOON_DAYS",
    "FILL_RATE_WINDOW_DAYS",
    "REPLENISHMENT_SORTS",
    "AgeBucket",
    "BackorderFigures",
    "FillRate",
    "ProjectionWeek",
    "PurchaseOrderFigures",
    "ReplenishmentRow",
    "ReplenishmentSettings",
    "VariantProjection",
    "WeekPoint",
    "backorder_figures",
    "due_soon_end",
    "fill_rate",
    "group_suggestions_by_supplier",
    "local_midnight",
    "low_stock_variants",
    "projection_variant_default",
    "purchase_order_figures",
    "replenishment_figures",
    "replenishment_rows",
    "replenishment_settings",
    "replenishment_sort",
    "units_waiting_by_week",
    "variant_projection",
    "week_end_of",
]
