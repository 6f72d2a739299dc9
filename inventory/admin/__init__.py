"""Staff admin for inventory, one module per model family.

The admin never writes stock numbers itself. Stock levels, the ledger, received
quantities and a purchase order's status and expected date change only through
`inventory.services`: the stock pages and purchase-order buttons collect input,
call a service with the staff user's id, and show a refused change (a
StockError) as a message on the page. The ledger is read-only here.

- `warehouses`: WarehouseAdmin;
- `closures`: ShopClosureAdmin (days nothing ships; inventory/calendar.py);
- `stock`: StockItemAdmin, its "Adjust stock" and "Record a stock count" pages, and the routes of
  the backorder queue pages (their views are the staff console's, `inventory.console.queue`);
- `ledger`: StockMovementAdmin (the append-only ledger);
- `policy`: BackorderPolicyAdmin, and the inline shop/admin.py puts on the variant page;
- `suppliers`: SupplierAdmin;
- `purchasing`: PurchaseOrderAdmin, its inlines, and the receive / mark-ordered / cancel pages.

Django's admin autodiscovery imports `inventory.admin`; importing the modules here runs their
`@admin.register` decorators.
"""

from . import closures, ledger, policy, purchasing, stock, suppliers, warehouses

__all__ = ["closures", "ledger", "policy", "purchasing", "stock", "suppliers", "warehouses"]
