"""Routes of the orders endpoints (api/views/orders.py)."""

urlpatterns: list = []
