from django.urls import path

from . import views

app_name = "shop"

urlpatterns = [
    path("healthz", views.health, name="health"),
    path("", views.home, name="home"),
]
