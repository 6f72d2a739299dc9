"""The staff console: admin pages that belong to no single model (docs/staff.md).

- `dashboard`: the backorder dashboard (figures, tiles, three charts);
- `replenishment`: the replenishment report, its CSV and drafting purchase orders from it;
- `stock_counts`: the stock-count import page;
- `queue`: the backorder queues (every variant's, and one variant's with its priority and
  "run allocation now" buttons), routed under the stock items by `StockItemAdmin.get_urls`;
- `reports/`: the read-only figures the pages show, one module per report;
- `charts`: server-side SVG charts;
- `imports`: the stock-count CSV import (the page and `manage.py import_stock_counts`);
- `resources`: the stock-level CSV export (django-import-export);
- `permissions`, `page`: who may open a page, and how a page is rendered.

An interface, the staff's to stock and orders alike: it reads orders' and inventory's models and
selectors, and writes only through the services (`inventory.services`; `orders.services` for
priority). Routed in config/urls.py, except the queues (see `queue`).
"""
