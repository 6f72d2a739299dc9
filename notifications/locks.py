"""Every row lock the notifications app takes, one named function per lock.

None of these is held together with a lock of stock or orders (docs/concurrency.md):
a wave, a low-stock check and a send each run in their own short transaction, after
the stock change they react to has committed. Rows of one kind are locked in
primary-key order, or skipped when locked (SKIP LOCKED), which cannot deadlock.

Every lock is `FOR NO KEY UPDATE`: the transactions update these rows but never
delete them or change their keys. On SQLite these are plain SELECTs.
A helper must be called inside `transaction.atomic()`.

The outbox's claim of many rows at once on PostgreSQL is one UPDATE whose subquery
locks with `FOR NO KEY UPDATE SKIP LOCKED` (`_CLAIM_SQL` in services/delivery.py, next
to its ORM twin, which uses `notifications_claim_lock`).
"""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q, QuerySet

from .models import BackInStockSubscription, LowStockState, Notification, NotificationStatus, RestockWave


def restock_wave_lock(variant_id: int) -> RestockWave:
    """The variant's back-in-stock wave state: two passes over one variant run one after the other."""
    return RestockWave.objects.select_for_update(no_key=True).get(variant_id=variant_id)


def low_stock_states_lock(variant_ids: Iterable[int]) -> list[LowStockState]:
    """The low-stock alert state of these variants (the rows must exist), in primary-key order."""
    return list(
        LowStockState.objects.select_for_update(no_key=True)
        .filter(variant_id__in=sorted(set(variant_ids)))
        .order_by("pk")
    )


def subscriptions_skip_locked(page: QuerySet[BackInStockSubscription]) -> QuerySet[BackInStockSubscription]:
    """A page of subscriptions, locked, skipping rows another wave or a checkout holds.

    The page keeps its own order (oldest confirmed first): with SKIP LOCKED a
    transaction never waits for a row, so the order cannot deadlock.
    """
    return page.select_for_update(skip_locked=True, no_key=True)


def notifications_claim_lock(notification_ids: Iterable[int], *, now: datetime) -> list[Notification]:
    """Pending outbox rows that are due, locked, skipping rows another sender is claiming."""
    return list(
        Notification.objects.select_for_update(skip_locked=True, no_key=True)
        .filter(pk__in=list(notification_ids), status=NotificationStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("pk")
    )
