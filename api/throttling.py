"""Rate limits: each API key its own `rate_limit_per_minute`; staff sessions API_STAFF_RATE_PER_MINUTE.

Counted in the default cache (Redis in production), so every web node shares one count per key.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .auth import ApiKeyUser


class PerKeyRateThrottle(SimpleRateThrottle):
    scope = "api"

    def __init__(self):  # the rate is per caller, read in allow_request
        pass

    def allow_request(self, request, view) -> bool:
        user = request.user
        if isinstance(user, ApiKeyUser):
            self.num_requests, self.duration = user.api_key.rate_limit_per_minute, 60
            self.key = f"api-throttle:key:{user.api_key.pk}"
        elif user is not None and user.is_authenticated:
            self.num_requests, self.duration = settings.API_STAFF_RATE_PER_MINUTE, 60
            self.key = f"api-throttle:user:{user.pk}"
        else:
            return True  # unauthenticated requests are refused before they cost anything
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()
