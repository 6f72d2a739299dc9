"""A Redis cache that degrades instead of failing when Redis is unreachable.

The cache only holds rate-limit counters and other things the shop can live
without for a while. When Redis is down, reads miss, writes are dropped, and a
warning is logged; rate limits then fail open (RATELIMIT_FAIL_OPEN) rather
than turning every page that counts requests into an error page.
"""

import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class ResilientRedisCache(RedisCache):
    def _guard(self, operation: str, default, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except RedisError as exc:
            logger.warning("cache %s failed, continuing without the cache: %s", operation, exc)
            return default

    def add(self, key, value, timeout=None, version=None):
        return self._guard("add", False, super().add, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._guard("get", default, super().get, key, default, version)

    def set(self, key, value, timeout=None, version=None):
        return self._guard("set", None, super().set, key, value, timeout, version)

    def delete(self, key, version=None):
        return self._guard("delete", False, super().delete, key, version)

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except RedisError as exc:
            logger.warning("cache incr failed, continuing without the cache: %s", exc)
            raise ValueError("cache unavailable") from exc

    def get_many(self, keys, version=None):
        return self._guard("get_many", {}, super().get_many, keys, version)
