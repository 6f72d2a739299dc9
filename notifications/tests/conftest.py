import uuid

import pytest


@pytest.fixture(autouse=True)
def isolated_rate_limits(settings):
    """Each test counts signups under its own cache prefix (the cache may be a shared Redis)."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl:test-{uuid.uuid4().hex}:"
