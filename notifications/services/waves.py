"""Back-in-stock waves: when a variant is available again, tell its subscribers, a few at a time.

Waves are set-based: one wave locks the subscriptions it picks (oldest
confirmed first, SKIP LOCKED), writes their notifications with the outbox's one
insert and closes them with one UPDATE per page, all in one transaction per
variant. The variant's `RestockWave` row is locked first, so two passes over
one variant run one after the other; the next wave's due time lives in that
row, not in a Celery countdown. A wave notifies up to BACK_IN_STOCK_NOTIFY_RATIO
subscriptions per free unit; the beat sends the next wave when the wait is over.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from inventory.selectors import availability_for_variant, availability_for_variants
from inventory.selectors.scope import read_scope

from ..locks import restock_wave_lock, subscriptions_skip_locked
from ..models import (
    BackInStockSubscription,
    EmailPreference,
    NotificationKind,
    RestockWave,
    SubscriptionStatus,
)
from .outbox import notifications_enqueue_on_commit, notifications_insert


def _notify_ratio() -> int:
    return getattr(settings, "BACK_IN_STOCK_NOTIFY_RATIO", 3)


def _wave_wait() -> timedelta:
    return timedelta(minutes=getattr(settings, "BACK_IN_STOCK_WAVE_WAIT_MINUTES", 60))


def _wave_page_size() -> int:
    return getattr(settings, "BACK_IN_STOCK_PAGE_SIZE", 5000)


@read_scope()  # one shipping calendar (and supplier habits) for the whole pass
def back_in_stock_process(*, variant_ids: list[int]) -> dict[int, int]:
    """Stock of these variants grew: start a restock where units are free beyond the backorder queue.

    A restock starts only when none is in progress for the variant (the
    transition to available): its first wave goes out now; later waves are the
    beat's job (`back_in_stock_send_due_waves`). Returns {variant_id: number of
    subscriptions notified now} for the variants that had a wave.
    """
    ids = sorted(set(variant_ids))
    waiting = set(
        BackInStockSubscription.objects.filter(variant_id__in=ids, status=SubscriptionStatus.ACTIVE)
        .values_list("variant_id", flat=True)
        .distinct()
    )
    if not waiting:
        return {}
    available = sorted(
        variant_id
        for variant_id, availability in availability_for_variants(variant_ids=waiting).items()
        if availability.sellable_now > 0
    )
    RestockWave.objects.bulk_create([RestockWave(variant_id=pk) for pk in available], ignore_conflicts=True)
    result = {}
    for variant_id in available:
        with transaction.atomic():
            state = restock_wave_lock(variant_id)
            if state.next_wave_due_at is not None:
                continue  # a restock is in progress; its next wave is due at next_wave_due_at
            result[variant_id] = _wave_send(state=state)
    return result


@read_scope()  # one shipping calendar (and supplier habits) for the whole pass
def back_in_stock_send_due_waves(*, limit: int = 100) -> dict[int, int]:
    """Beat: send the next wave of every restock whose wait is over; end those with no stock left."""
    now = timezone.now()
    due = list(
        RestockWave.objects.filter(next_wave_due_at__lte=now)
        .order_by("next_wave_due_at", "pk")
        .values_list("variant_id", flat=True)[:limit]
    )
    result = {}
    for variant_id in due:
        with transaction.atomic():
            state = restock_wave_lock(variant_id)
            if state.next_wave_due_at is None or state.next_wave_due_at > now:
                continue  # another pass got here first
            result[variant_id] = _wave_send(state=state)
    return result


def _wave_send(*, state: RestockWave) -> int:
    """With `state` locked: send the next wave if units are free, or end the restock. Returns how many."""
    availability = availability_for_variant(variant_id=state.variant_id)
    free = availability.sellable_now if availability else 0
    now = timezone.now()
    limit = _notify_ratio() * free
    notified = (
        _wave_notify(variant_id=state.variant_id, wave=state.number + 1, limit=limit, now=now) if free else 0
    )
    if notified:
        state.number += 1
        state.started_at = now
        state.free_units = free
        state.notified = notified
        # Fewer than the limit: everybody waiting has heard, no further wave is needed.
        state.next_wave_due_at = now + _wave_wait() if notified == limit else None
    else:
        state.next_wave_due_at = None
    state.save(update_fields=["number", "started_at", "free_units", "notified", "next_wave_due_at"])
    return notified


def _wave_notify(*, variant_id: int, wave: int, limit: int, now) -> int:
    """Notify up to `limit` of the oldest confirmed subscriptions of a variant. Returns how many.

    Pages of subscriptions are locked with SKIP LOCKED in (confirmed_at, id)
    order, so a concurrent pass or a checkout holding a row never makes us wait
    or notify it twice. Each page costs one SELECT of ids and addresses (the
    lock), one read of where the next page starts, one insert of the
    notifications (`notifications_insert`) and one UPDATE closing the
    subscriptions: no query per subscription. The rows of the whole wave are
    published in one message after commit.
    """
    page_size = _wave_page_size()
    opted_out = EmailPreference.objects.filter(email=OuterRef("email"), marketing_opt_out=True)
    queue = (
        BackInStockSubscription.objects.filter(variant_id=variant_id, status=SubscriptionStatus.ACTIVE)
        .filter(~Exists(opted_out))
        .order_by("confirmed_at", "id")
    )
    notification_ids: list[int] = []
    count = 0
    after = None
    while count < limit:
        page = queue
        if after is not None:
            # Keyset: `confirmed_at >= x` lets the index start where the last page ended.
            page = page.filter(confirmed_at__gte=after[0]).filter(
                Q(confirmed_at__gt=after[0]) | Q(id__gt=after[1])
            )
        rows = list(
            subscriptions_skip_locked(page).values_list("id", "email", "language")[
                : min(page_size, limit - count)
            ]
        )
        if not rows:
            break
        ids = [pk for pk, _, _ in rows]
        after = (
            BackInStockSubscription.objects.values_list("confirmed_at", flat=True).get(pk=ids[-1]),
            ids[-1],
        )
        notification_ids.extend(
            notifications_insert(
                rows=_back_in_stock_rows(page=rows, variant_id=variant_id, wave=wave), enqueue=False
            )
        )
        BackInStockSubscription.objects.filter(id__in=ids, status=SubscriptionStatus.ACTIVE).update(
            status=SubscriptionStatus.NOTIFIED, wave=wave, notified_at=now
        )
        count += len(ids)
    notifications_enqueue_on_commit(notification_ids)
    return count


def _back_in_stock_rows(*, page: list[tuple[int, str, str]], variant_id: int, wave: int) -> list[dict]:
    """The outbox rows of these (subscription id, email, language) rows, in queue order: one email per wave."""
    return [
        {
            "kind": NotificationKind.BACK_IN_STOCK,
            "recipient": email,
            "dedupe_key": f"back-in-stock:{pk}:{wave}",
            "context": {"subscription_id": pk, "variant_id": variant_id, "wave": wave},
            "language": language,
        }
        for pk, email, language in page
    ]
