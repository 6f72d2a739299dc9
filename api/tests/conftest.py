"""Shared fixtures of the API tests: a client holding a key with given scopes, a staff client."""

import uuid

import pytest
from rest_framework.test import APIClient

from api.scopes import SCOPES
from api.services import api_key_create


@pytest.fixture
def api_client_with():
    """`api_client_with("catalog:read", ...)`: an APIClient sending a fresh key with those scopes.

    The key's row is on `client.api_key`, the raw key on `client.raw_key`.
    """

    def make(*scopes: str, rate_limit_per_minute: int = 10_000) -> APIClient:
        key, raw = api_key_create(
            name=f"Test integration {uuid.uuid4().hex[:6]}",
            scopes=list(scopes or SCOPES),
            created_by_id=None,
            rate_limit_per_minute=rate_limit_per_minute,
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        client.api_key, client.raw_key = key, raw
        return client

    return make


def idempotency_headers(key: str | None = None) -> dict:
    """Headers for a POST: a fresh Idempotency-Key unless `key` is given (to retry)."""
    return {"HTTP_IDEMPOTENCY_KEY": key or str(uuid.uuid4())}


class Stocked:
    """One variant with 10 units on hand in one warehouse (the shared machinery's tests write through
    inventory's stock_adjust)."""

    def __init__(self):
        from inventory.models import StockItem
        from inventory.services.ledger import stock_adjust
        from inventory.tests.factories import WarehouseFactory
        from shop.tests.factories import VariantFactory

        self.variant = VariantFactory()
        self.warehouse = WarehouseFactory()
        stock_adjust(variant_id=self.variant.pk, warehouse_id=self.warehouse.pk, quantity_change=10)
        self._items = StockItem.objects.filter(variant=self.variant, warehouse=self.warehouse)

    def adjust(self, quantity_change: int) -> dict:
        return {
            "variant_id": self.variant.pk,
            "warehouse_id": self.warehouse.pk,
            "quantity_change": quantity_change,
        }

    def on_hand(self) -> int:
        return self._items.get().on_hand


@pytest.fixture
def stocked(db) -> Stocked:
    return Stocked()
