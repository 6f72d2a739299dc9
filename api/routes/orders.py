"""Routes of the orders endpoints (api/views/orders.py)."""

from django.urls import path

from ..views import orders

urlpatterns: list = [
    path("orders/", orders.OrderListView.as_view(), name="order-list"),
    path("orders/<str:number>/", orders.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<str:number>/ship/", orders.OrderShipView.as_view(), name="order-ship"),
    path(
        "orders/<str:number>/cancel-waiting/",
        orders.OrderCancelWaitingView.as_view(),
        name="order-cancel-waiting",
    ),
    path("orders/<str:number>/priority/", orders.OrderPriorityView.as_view(), name="order-priority"),
    path(
        "variants/<int:variant_id>/backorder-queue/",
        orders.BackorderQueueView.as_view(),
        name="variant-backorder-queue",
    ),
]
