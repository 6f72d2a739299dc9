"""Every write to the API's tables: keys (create, revoke, last use) and kept answers (keep, prune)."""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from .models import ApiKey, IdempotentRequest
from .scopes import SCOPES

KEY_PREFIX = "shk_"
# last_used_at is written at most this often per key, so a busy integration is not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# A key is "shk_" + 8 hex characters + "_" + 43 URL-safe characters (32 random bytes): 56 characters.
KEY_MAX_LENGTH = 100


class ApiKeyError(ValueError):
    pass


def api_key_hash(raw: str) -> str:
    """Keys are 32 random bytes, so a fast hash is enough (no password stretching needed)."""
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic  # not durable: the admin calls it inside its own transaction (changeform_view)
def api_key_create(
    *, name: str, scopes: list[str], created_by_id: int | None, rate_limit_per_minute: int = 600
) -> tuple[ApiKey, str]:
    """Create a key; return it with the raw key, which is never stored and is shown once."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ApiKeyError(f"Unknown scope: {', '.join(unknown)}.")
    if not scopes:
        raise ApiKeyError("Choose at least one scope.")
    if not name.strip():
        raise ApiKeyError("Name the integration that will use this key.")
    if rate_limit_per_minute < 1:
        raise ApiKeyError("The rate limit must be at least 1 request per minute.")
    prefix = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        acting_user=_acting_user_create(name=name.strip(), prefix=prefix),
        name=name.strip(),
        prefix=prefix,
        key_hash=api_key_hash(raw),
        scopes=sorted(set(scopes)),
        rate_limit_per_minute=rate_limit_per_minute,
        created_by_id=created_by_id,
    )
    return key, raw


def _acting_user_create(*, name: str, prefix: str):
    """The account the shop's records name for a key's changes ("api-warehouse-system-1a2b3c4d@api.invalid").

    It is not staff, not active and has no usable password: it cannot sign in anywhere; it exists so
    the ledger, date histories and timelines say which integration did what, as they say which
    staff member did.
    """
    # An address of the reserved .invalid domain (RFC 2606): unique (the prefix is), and no mail can go there.
    email = f"api-{slugify(name)[:40] or 'key'}-{prefix}@api.invalid"
    user = get_user_model()(email=email, first_name=name[:150], last_name="(API key)", is_active=False)
    user.set_unusable_password()
    user.save()
    return user


def api_key_revoke(*, key_id: int) -> bool:
    """Revoke a key at once; True if it was active. Its requests fail with 401 from the next one."""
    return bool(ApiKey.objects.filter(pk=key_id, revoked_at__isnull=True).update(revoked_at=timezone.now()))


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """The active key `raw` names, with its last use noted (at most once a minute); None if none."""
    if not raw.startswith(KEY_PREFIX) or len(raw) > KEY_MAX_LENGTH:
        return None
    key = ApiKey.objects.filter(key_hash=api_key_hash(raw), revoked_at__isnull=True).first()
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def idempotent_request_keep(
    *, key: str, owner: str, method: str, path: str, fingerprint: str, status_code: int, body
) -> bool:
    """Keep the first answer to a request with this Idempotency-Key; False if a twin kept one first."""
    try:
        with transaction.atomic():
            IdempotentRequest.objects.create(
                key=key,
                owner=owner,
                method=method,
                path=path[:300],
                fingerprint=fingerprint,
                status_code=status_code,
                body=body,
            )
    except IntegrityError:
        return False  # both answers describe the same single change (the service's submission key)
    return True


def idempotent_requests_prune(*, keep_days: int) -> int:
    """Forget answers kept longer than `keep_days` days; return how many. Retries older than that are
    new requests to the shop (the services' submission keys still refuse to apply a change twice)."""
    cutoff = timezone.now() - timedelta(days=keep_days)
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=cutoff).delete()
    return deleted
