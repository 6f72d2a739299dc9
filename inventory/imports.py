"""Shim (issue 15): the stock-count import moved to `inventory.console.imports`.

Kept only for inventory/management/commands/import_stock_counts.py. Switch it, then delete this module.
"""

from inventory.console.imports import StockCountFileError, stock_count_import

__all__ = ["StockCountFileError", "stock_count_import"]
