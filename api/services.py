"""Every write to the API's tables: keys (create, revoke, last use) and kept answers."""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .models import ApiKey
from .scopes import SCOPES

KEY_PREFIX = "shk_"
# last_used_at is written at most this often per key, so a busy integration is not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyError(ValueError):
    pass


def api_key_hash(raw: str) -> str:
    """Keys are 32 random bytes, so a fast hash is enough (no password stretching needed)."""
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic(durable=True)
def api_key_create(
    *, name: str, scopes: list[str], created_by_id: int | None, rate_limit_per_minute: int = 600
) -> tuple[ApiKey, str]:
    """Create a key; return it with the raw key, which is never stored and is shown once."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ApiKeyError(f"Unknown scope: {', '.join(unknown)}.")
    if not scopes:
        raise ApiKeyError("Choose at least one scope.")
    prefix = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        key_hash=api_key_hash(raw),
        scopes=sorted(set(scopes)),
        rate_limit_per_minute=rate_limit_per_minute,
        created_by_id=created_by_id,
    )
    return key, raw


def api_key_revoke(*, key_id: int) -> bool:
    """Revoke a key at once; True if it was active. Its requests fail with 401 from the next one."""
    return bool(ApiKey.objects.filter(pk=key_id, revoked_at__isnull=True).update(revoked_at=timezone.now()))


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """The active key `raw` names, with its last use noted (at most once a minute); None if none."""
    if not raw.startswith(KEY_PREFIX) or len(raw) > 100:
        return None
    key = ApiKey.objects.filter(key_hash=api_key_hash(raw), revoked_at__isnull=True).first()
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
