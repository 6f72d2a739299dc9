"""Shim (issue 15): the stock-count export resource moved to `inventory.console.resources`.

Kept only for inventory/admin.py (`StockCountResource`). Switch it, then delete this module.
"""

from inventory.console.resources import StockCountResource

__all__ = ["StockCountResource"]
