"""Routes of the catalog endpoints (api/views/catalog.py)."""

from django.urls import path

from api.views.catalog import VariantDetailView, VariantListView

urlpatterns: list = [
    path("variants/", VariantListView.as_view(), name="variant-list"),
    path("variants/<int:pk>/", VariantDetailView.as_view(), name="variant-detail"),
]
