"""Routes of the purchasing endpoints (api/views/purchasing.py)."""

from django.urls import path

from api.views.purchasing import (
    PurchaseOrderCancelView,
    PurchaseOrderDetailView,
    PurchaseOrderExpectedDateView,
    PurchaseOrderListView,
    PurchaseOrderMarkOrderedView,
    PurchaseOrderReceiveView,
    SupplierListView,
)

urlpatterns = [
    path("purchase-orders/", PurchaseOrderListView.as_view(), name="purchase-order-list"),
    path("purchase-orders/<int:pk>/", PurchaseOrderDetailView.as_view(), name="purchase-order-detail"),
    path(
        "purchase-orders/<int:pk>/mark-ordered/",
        PurchaseOrderMarkOrderedView.as_view(),
        name="purchase-order-mark-ordered",
    ),
    path(
        "purchase-orders/<int:pk>/expected-date/",
        PurchaseOrderExpectedDateView.as_view(),
        name="purchase-order-expected-date",
    ),
    path(
        "purchase-orders/<int:pk>/receive/", PurchaseOrderReceiveView.as_view(), name="purchase-order-receive"
    ),
    path("purchase-orders/<int:pk>/cancel/", PurchaseOrderCancelView.as_view(), name="purchase-order-cancel"),
    path("suppliers/", SupplierListView.as_view(), name="supplier-list"),
]
