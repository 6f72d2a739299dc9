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
