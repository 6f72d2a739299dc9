"""Writes for notifications: the outbox.

`notification_create` runs inside the caller's transaction, so the email row
commits together with the change it reports; the send task is enqueued only
after that commit. Sending claims the row with a conditional UPDATE, so two
workers that got the same message send one email.
"""

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from .emails import PermanentEmailError, build_message
from .models import Notification, NotificationStatus

logger = logging.getLogger(__name__)


def _max_attempts() -> int:
    return getattr(settings, "NOTIFICATIONS_MAX_ATTEMPTS", 6)


def _sending_timeout() -> timedelta:
    return timedelta(seconds=getattr(settings, "NOTIFICATIONS_SENDING_TIMEOUT_SECONDS", 600))


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with full jitter: up to 30 s, 60 s, 120 s ... capped at one hour."""
    base = getattr(settings, "NOTIFICATIONS_RETRY_BASE_SECONDS", 30)
    ceiling = min(base * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def notification_create(
    *, kind: str, recipient: str, dedupe_key: str, context: dict | None = None
) -> Notification | None:
    """Add an email to the outbox; None when that dedupe key already exists.

    Call it inside the transaction that makes the change the email reports.
    """
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                kind=kind, recipient=recipient, dedupe_key=dedupe_key, context=context or {}
            )
    except IntegrityError:
        if not Notification.objects.filter(dedupe_key=dedupe_key).exists():
            raise
        return None
    from .tasks import send_notification

    send_notification.delay_on_commit(notification_id=notification.pk)
    return notification


@dataclass(frozen=True)
class SendOutcome:
    status: str  # "sent", "retry", "failed", "skipped"
    retry_in: timedelta | None = None


def _claim(notification_id: int) -> bool:
    now = timezone.now()
    return (
        Notification.objects.filter(pk=notification_id, status=NotificationStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=NotificationStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
        == 1
    )


def notification_send(*, notification_id: int) -> SendOutcome:
    """Send one notification if it is due and nobody else is sending it."""
    if not _claim(notification_id):
        return SendOutcome("skipped")
    notification = Notification.objects.get(pk=notification_id)
    try:
        message = build_message(notification)
        message.send(fail_silently=False)
    except PermanentEmailError as exc:
        _mark_failed(notification, f"{exc}")
        return SendOutcome("failed")
    except Exception as exc:  # noqa: BLE001 - SMTP and network errors are retried
        if notification.attempts >= _max_attempts():
            _mark_failed(notification, f"gave up after {notification.attempts} attempts: {exc!r}")
            return SendOutcome("failed")
        delay = retry_delay(notification.attempts)
        Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
            status=NotificationStatus.PENDING,
            next_attempt_at=timezone.now() + delay,
            last_error=f"attempt {notification.attempts}: {exc!r}"[:2000],
        )
        logger.warning("notification %s: attempt %s failed: %r", notification.pk, notification.attempts, exc)
        return SendOutcome("retry", retry_in=delay)
    Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
        status=NotificationStatus.SENT, sent_at=timezone.now(), last_error=""
    )
    return SendOutcome("sent")


def _mark_failed(notification: Notification, error: str) -> None:
    Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
        status=NotificationStatus.FAILED, last_error=error[:2000]
    )
    logger.error("notification %s failed: %s", notification.pk, error)


def notification_sweep(*, limit: int = 1000) -> list[int]:
    """Find notifications a lost message or a dead worker left behind; return their ids to re-send.

    Rows stuck in `sending` longer than the timeout go back to `pending`;
    pending rows that are due are returned. Claiming is conditional, so
    enqueueing a row that is also queued elsewhere sends it once.
    """
    now = timezone.now()
    Notification.objects.filter(
        status=NotificationStatus.SENDING, claimed_at__lt=now - _sending_timeout()
    ).update(status=NotificationStatus.PENDING, next_attempt_at=now)
    # Leave fresh rows to their own on-commit message; sweep only what is overdue.
    grace = now - timedelta(seconds=getattr(settings, "NOTIFICATIONS_SWEEP_GRACE_SECONDS", 60))
    due = Notification.objects.filter(status=NotificationStatus.PENDING).filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, created_at__lte=grace)
    )
    return list(due.order_by("pk").values_list("pk", flat=True)[:limit])


@transaction.atomic
def notification_retry_failed(*, notification_ids: Iterable[int]) -> int:
    """Staff action: put failed notifications back in the queue. Returns how many."""
    ids = list(
        Notification.objects.filter(
            pk__in=list(notification_ids), status=NotificationStatus.FAILED
        ).values_list("pk", flat=True)
    )
    Notification.objects.filter(pk__in=ids, status=NotificationStatus.FAILED).update(
        status=NotificationStatus.PENDING, attempts=0, next_attempt_at=None
    )
    from .tasks import send_notification

    for pk in ids:
        send_notification.delay_on_commit(notification_id=pk)
    return len(ids)
