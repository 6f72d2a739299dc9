"""The API's endpoints, one module per sub-domain (docs/api.md):
- `docs`: the OpenAPI schema, Swagger UI and Redoc (staff only)
- `catalog`: variants with availability, stock per warehouse, the ledger (read)
- `stock`: adjustments and counts (write)
- `purchasing`: purchase orders (read and write)
- `orders`: orders, lines, the backorder queue (read); ship, cancel waiting units, priority (write)
"""
