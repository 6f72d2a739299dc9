"""Inventory's public pages: the supplier's page behind a purchase order's emailed link."""

from django.urls import path

from . import views

app_name = "inventory"

urlpatterns = [
    path("po/<str:token>/", views.supplier_po, name="supplier_po"),
]
