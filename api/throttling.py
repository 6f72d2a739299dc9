"""Rate limits: each API key its own `rate_limit_per_minute`; staff sessions API_STAFF_RATE_PER_MINUTE.

A fixed one-minute window counted with the cache's atomic increment (Redis in production), so every
web node shares one count per key and concurrent requests cannot both take the last place. Over the
limit the answer is 429 with `Retry-After` (the seconds left in the window). If the cache is down, the
request goes through unless RATELIMIT_FAIL_OPEN is off; RATELIMIT_ENABLE off turns it off, as for the
shop's other throttles.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from .auth import ApiKeyUser

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60


def throttle_subject(request) -> tuple[str, int] | None:
    """(the counter's name, requests allowed per minute) for this caller; None if not counted."""
    user = request.user
    if isinstance(user, ApiKeyUser):
        # The key's random prefix, not its pk: counters outlive a test database's reused ids.
        return f"key:{user.api_key.prefix}", user.api_key.rate_limit_per_minute
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}", settings.API_STAFF_RATE_PER_MINUTE
    return None  # unauthenticated requests are refused before they cost anything


def _now() -> float:
    return time.time()


class PerKeyRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        subject = throttle_subject(request)
        if subject is None or not settings.RATELIMIT_ENABLE:
            return True
        name, limit = subject
        now = _now()
        window = int(now // WINDOW_SECONDS)
        counter = f"api-throttle:{settings.SHOP_CACHE_NAMESPACE}:{name}:{window}"
        try:
            cache.add(counter, 0, timeout=WINDOW_SECONDS * 2)
            count = cache.incr(counter)
        except Exception:  # noqa: BLE001  (a cache outage must not close the API)
            if not settings.RATELIMIT_FAIL_OPEN:
                raise
            logger.warning("API throttle: the cache is unavailable; request let through", exc_info=True)
            return True
        self._wait = (window + 1) * WINDOW_SECONDS - now
        return count <= limit

    def wait(self) -> float:
        return max(1.0, self._wait)
