"""Routes of the stock endpoints (api/views/stock.py)."""

urlpatterns: list = []
