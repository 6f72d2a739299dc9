"""Shim (issue 15): the staff console's reports moved to `inventory.console.reports`.

Kept only for its remaining importers: inventory/admin.py (`week_end_of`) and shop/admin.py
(`low_stock_variants`). Switch them to `inventory.console.reports`, then delete this module.
"""

from inventory.console.reports import low_stock_variants, week_end_of

__all__ = ["low_stock_variants", "week_end_of"]
