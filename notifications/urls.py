from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("notify-me/<int:variant_id>/", views.subscribe, name="subscribe"),
    path("notify-me/<int:variant_id>/done/", views.subscribe_done, name="subscribe_done"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    # Also the List-Unsubscribe URL of marketing emails (RFC 8058 one-click POST).
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
