"""The staff console: admin pages that belong to no single model (docs/staff.md).

- `dashboard`: the backorder dashboard (figures, tiles, three charts);
- `replenishment`: the replenishment report, its CSV and drafting purchase orders from it;
- `stock_counts`: the stock-count import page;
- `reports/`: the read-only figures the pages show, one module per report;
- `charts`: server-side SVG charts;
- `imports`: the stock-count CSV import (the page and `manage.py import_stock_counts`);
- `resources`: the stock-level CSV export (django-import-export);
- `permissions`, `page`: who may open a page, and how a page is rendered.

An interface: it reads orders' and inventory's models and selectors, and writes only through
`inventory.services`. Routed in config/urls.py.
"""
