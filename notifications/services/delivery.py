"""Delivery: a worker claims outbox rows, sends their emails and records each outcome.

Sending claims the row with a conditional UPDATE (pending to sending), so two
workers that got the same message send one email. A failure is retried with
exponential backoff until the attempts run out; a recipient refused for good
fails the row at once. A batch (`notification_send_many`) is claimed in one
statement and sent over one SMTP connection, each row marked sent right after
its email. The sweep finds what a lost message or a dead worker left behind.
"""

import json
import logging
import random
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..emails import EmailBatch, PermanentEmailError, build_message, shared_lookups
from ..locks import notifications_claim_lock
from ..models import Notification, NotificationStatus
from .outbox import notifications_enqueue_on_commit

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


def notification_send(*, notification_id: int, connection: BaseEmailBackend | None = None) -> SendOutcome:
    """Send one notification if it is due and nobody else is sending it.

    `connection`: an open email backend to reuse (see `notification_send_many`).
    """
    if not _claim(notification_id):
        return SendOutcome("skipped")
    return _deliver(Notification.objects.get(pk=notification_id), connection=connection)


def _deliver(
    notification: Notification,
    *,
    connection: BaseEmailBackend | None = None,
    batch: EmailBatch | None = None,
    cursor=None,
) -> SendOutcome:
    """Send a notification this worker has claimed (status sending) and record the outcome.

    A recipient the SMTP server refuses for good (5xx) fails the row at once; a
    temporary refusal (4xx) and any other error (network, server) schedule a
    retry with backoff, until the attempts run out.
    """
    try:
        _send_email(notification, connection=connection, batch=batch)
    except PermanentEmailError as exc:
        _mark_failed(notification, f"{exc}")
        return SendOutcome("failed")
    except smtplib.SMTPRecipientsRefused as exc:
        # smtplib reset the session after the refusal, so the batch goes on over the same
        # connection; unless the server closed it (421), then the next email opens a new one.
        if connection is not None and any(code == 421 for code, _ in exc.recipients.values()):
            _close_quietly(connection)
        if all(code >= 500 for code, _ in exc.recipients.values()):
            _mark_failed(notification, f"recipient refused by the SMTP server: {_refusals(exc)}")
            return SendOutcome("failed")
        return _retry_later(notification, f"recipient refused for now: {_refusals(exc)}")
    except Exception as exc:  # noqa: BLE001 - SMTP and network errors are retried
        if connection is not None:
            _close_quietly(connection)  # the session may be broken; the next send opens a new one
        return _retry_later(notification, repr(exc))
    _mark_sent(notification.pk, cursor=cursor)
    return SendOutcome("sent")


def _refusals(exc: smtplib.SMTPRecipientsRefused) -> str:
    return "; ".join(
        f"{address}: {code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
        for address, (code, reply) in exc.recipients.items()
    )


def _plain_smtp(connection: BaseEmailBackend | None) -> bool:
    """Django's own SMTP backend, whose sending we may do ourselves (a subclass may sign or log: not)."""
    return isinstance(connection, SMTPBackend) and type(connection)._send is SMTPBackend._send


def _send_email(
    notification: Notification, *, connection: BaseEmailBackend | None, batch: EmailBatch | None
) -> None:
    """Render and send one email; raises what rendering or the backend raises.

    In a batch over Django's SMTP backend the bytes composed by the batch go to
    the open SMTP session directly (`EmailBatch.smtp_payload`); otherwise a
    Django message is built and sent through the backend.
    """
    if batch is not None and _plain_smtp(connection):
        payload = batch.smtp_payload(notification)
        if payload is not None:
            recipient, data = payload
            if connection.connection is None:
                raise smtplib.SMTPServerDisconnected("no SMTP connection (opening it failed)")
            _smtp_send(connection.connection, batch.envelope_sender, recipient, data)
            return
    message = batch.message(notification) if batch is not None else build_message(notification)
    if connection is not None:
        message.connection = connection
    message.send(fail_silently=False)


def _smtp_send(smtp: smtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
    """Hand the batch's composed bytes to the open SMTP session (smtplib's own `sendmail`).

    What Django's SMTP backend does for a message, without building it again:
    smtplib writes the envelope, dot-stuffs the data, resets the session after
    a refusal (closing it on 421) and raises its usual errors.
    """
    smtp.sendmail(sender, [recipient], data)


def _retry_later(notification: Notification, error: str) -> SendOutcome:
    if notification.attempts >= _max_attempts():
        _mark_failed(notification, f"gave up after {notification.attempts} attempts: {error}")
        return SendOutcome("failed")
    delay = retry_delay(notification.attempts)
    Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
        status=NotificationStatus.PENDING,
        next_attempt_at=timezone.now() + delay,
        last_error=f"attempt {notification.attempts}: {error}"[:2000],
    )
    logger.warning("notification %s: attempt %s failed: %s", notification.pk, notification.attempts, error)
    return SendOutcome("retry", retry_in=delay)


def _mark_failed(notification: Notification, error: str) -> None:
    Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
        status=NotificationStatus.FAILED, last_error=error[:2000]
    )
    logger.error("notification %s failed: %s", notification.pk, error)


_MARK_SENT_SQL = (
    f"UPDATE {Notification._meta.db_table} SET status = %s, sent_at = %s, last_error = '' "
    "WHERE id = %s AND status = %s"
)


def _mark_sent(notification_id: int, *, cursor=None) -> None:
    """One row marked sent right after its email: a worker killed mid-batch re-sends at most one.

    A plain statement on the batch's cursor, not the ORM: in a wave it runs
    once per email.
    """
    params = [
        NotificationStatus.SENT.value,
        timezone.now(),
        notification_id,
        NotificationStatus.SENDING.value,
    ]
    if cursor is not None:
        cursor.execute(_MARK_SENT_SQL, params)
        return
    with transaction.get_connection().cursor() as own:
        own.execute(_MARK_SENT_SQL, params)


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
    notifications_enqueue_on_commit(ids)  # in send batches, one message whatever the number
    return len(ids)


# --- sending in batches ----------------------------------------------------------------


def _close_quietly(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - closing a broken session may fail too; it is dropped anyway
        logger.debug("closing the email connection failed", exc_info=True)


# Claims the due, pending rows among some ids in one statement. The subquery locks them (SKIP
# LOCKED: a row another worker is claiming is left to it); a row changed and committed meanwhile is
# re-checked against the WHERE clause when locked, so a row is claimed by one worker only.
_CLAIM_SQL = """
    UPDATE {table} n
       SET status = %(sending)s, claimed_at = %(now)s, attempts = n.attempts + 1
     WHERE n.id IN (
               SELECT id FROM {table}
                WHERE id = ANY(%(ids)s) AND status = %(pending)s
                  AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s)
                ORDER BY id
                  FOR NO KEY UPDATE SKIP LOCKED
           )
       AND n.status = %(pending)s
    RETURNING n.id, n.kind, n.recipient, n.context, n.attempts, n.language
"""


def _claim_many(notification_ids: list[int]) -> list[Notification]:
    """Claim the due, pending rows among these ids (pending to sending); returns them in id order.

    Each row is claimed on its own condition, so no row is sent twice. On
    PostgreSQL one UPDATE ... RETURNING claims the batch and returns what
    sending needs; elsewhere the rows are locked, read and updated.
    """
    db = transaction.get_connection()
    now = timezone.now()
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute(
                _CLAIM_SQL.format(table=Notification._meta.db_table),
                {
                    "ids": notification_ids,
                    "now": now,
                    "pending": NotificationStatus.PENDING.value,
                    "sending": NotificationStatus.SENDING.value,
                },
            )
            rows = cursor.fetchall()
        return [
            Notification(
                pk=pk,
                kind=kind,
                recipient=recipient,
                context=json.loads(context) if isinstance(context, str) else context,
                attempts=attempts,
                status=NotificationStatus.SENDING,
                claimed_at=now,
                language=language,  # the email is written in it (notifications.emails)
            )
            for pk, kind, recipient, context, attempts, language in sorted(rows)
        ]
    with transaction.atomic():
        rows = notifications_claim_lock(notification_ids, now=now)
        Notification.objects.filter(
            pk__in=[row.pk for row in rows], status=NotificationStatus.PENDING
        ).update(status=NotificationStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    for row in rows:
        row.status, row.claimed_at, row.attempts = NotificationStatus.SENDING, now, row.attempts + 1
    return rows


def notification_send_many(*, notification_ids: Iterable[int]) -> dict[int, SendOutcome]:
    """Send several notifications over one SMTP connection (a batch of a back-in-stock wave).

    The batch is claimed in one statement, the emails of one kind and variant
    are rendered once (`EmailBatch`), and each row is marked sent right after
    its email went out. One email's failure does not stop the others: it is
    retried or failed on its own.
    """
    ids = list(notification_ids)
    outcomes = dict.fromkeys(ids, SendOutcome("skipped"))
    claimed = _claim_many(ids)
    if not claimed:
        return outcomes
    connection = get_connection(fail_silently=False)
    batch = EmailBatch()
    try:
        with shared_lookups(), transaction.get_connection().cursor() as cursor:
            for notification in claimed:
                try:
                    connection.open()  # no-op while open; reconnects after a failed send closed it
                except Exception:  # noqa: BLE001 - the send below fails too and schedules a retry
                    logger.warning("cannot open an email connection", exc_info=True)
                outcomes[notification.pk] = _deliver(
                    notification, connection=connection, batch=batch, cursor=cursor
                )
    finally:
        _close_quietly(connection)
    return outcomes
