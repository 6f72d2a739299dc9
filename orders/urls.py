from django.urls import path

from . import views
from .views import card_payment

app_name = "orders"

# Order numbers look like BO-XXXXXXXX, so the fixed paths can never be mistaken for one.
urlpatterns = [
    path("", views.order_history, name="history"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_line_add, name="cart_add"),
    path("cart/lines/<int:line_id>/", views.cart_line_update, name="cart_update"),
    path("cart/lines/<int:line_id>/remove/", views.cart_line_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/card/", views.checkout_card_setup, name="checkout_card_setup"),
    # Signed links from delay and feedback emails: GET shows a page, only its button (POST) acts.
    path("delays/<str:token>/keep-waiting/", views.delay_keep, name="delay_keep"),
    path("delays/<str:token>/cancel/", views.delay_cancel, name="delay_cancel"),
    path("feedback/<str:token>/", views.feedback, name="feedback"),
    path("pay/<str:token>/", card_payment.card_payment, name="card_payment"),
    path("email-preferences/", views.email_preferences, name="email_preferences"),
    path("email-preferences/<str:token>/", views.email_preferences_link, name="email_preferences_link"),
    path("<str:number>/", views.order_detail, name="detail"),
    path("<str:number>/cancel/", views.order_cancel, name="cancel"),
    path("<str:number>/question/", views.order_question, name="question"),
]
