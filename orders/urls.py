from django.urls import path

from . import views

app_name = "orders"

# Order numbers look like BO-XXXXXXXX, so the fixed paths can never be mistaken for one.
urlpatterns = [
    path("", views.order_history, name="history"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_line_add, name="cart_add"),
    path("cart/lines/<int:line_id>/", views.cart_line_update, name="cart_update"),
    path("cart/lines/<int:line_id>/remove/", views.cart_line_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("<str:number>/", views.order_detail, name="detail"),
    path("<str:number>/cancel/", views.order_cancel, name="cancel"),
]
