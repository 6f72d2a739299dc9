"""Routes of the stock endpoints (api/views/stock.py)."""

from django.urls import path

from api.views.stock import (
    LedgerDetailView,
    LedgerListView,
    StockAdjustmentView,
    StockCountView,
    StockItemDetailView,
    StockItemListView,
    WarehouseListView,
)

urlpatterns: list = [
    path("warehouses/", WarehouseListView.as_view(), name="warehouse-list"),
    path("stock/", StockItemListView.as_view(), name="stock-list"),
    path("stock/<int:pk>/", StockItemDetailView.as_view(), name="stock-detail"),
    path("stock/adjustments/", StockAdjustmentView.as_view(), name="stock-adjustment"),
    path("stock/counts/", StockCountView.as_view(), name="stock-count"),
    path("ledger/", LedgerListView.as_view(), name="ledger-list"),
    path("ledger/<int:pk>/", LedgerDetailView.as_view(), name="ledger-detail"),
]
