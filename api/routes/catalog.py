"""Routes of the catalog endpoints (api/views/catalog.py)."""

urlpatterns: list = []
