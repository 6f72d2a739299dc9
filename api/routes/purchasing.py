"""Routes of the purchasing endpoints (api/views/purchasing.py)."""

urlpatterns: list = []
