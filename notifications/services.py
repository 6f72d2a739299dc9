"""Writes for notifications: the outbox, back-in-stock subscriptions and waves, low-stock alerts.

`notification_create` runs inside the caller's transaction, so the email row
commits together with the change it reports; the send task is enqueued only
after that commit. Sending claims the row with a conditional UPDATE, so two
workers that got the same message send one email.

Back-in-stock waves are set-based: one wave locks the subscriptions it picks
(oldest confirmed first, SKIP LOCKED), bulk-creates their notifications and
closes them with one UPDATE per page, all in one transaction per variant. The
variant's `RestockWave` row is locked first, so two passes over one variant run
one after the other; the next wave's due time lives in that row, not in a
Celery countdown.
"""

import json
import logging
import random
import smtplib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from .emails import EmailBatch, PermanentEmailError, build_message, shared_lookups
from .models import (
    OPEN_SUBSCRIPTION_STATUSES,
    BackInStockSubscription,
    EmailPreference,
    LowStockState,
    Notification,
    NotificationKind,
    NotificationStatus,
    RestockWave,
    SubscriptionStatus,
)

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
    from django.db import connection as db

    params = [
        NotificationStatus.SENT.value,
        timezone.now(),
        notification_id,
        NotificationStatus.SENDING.value,
    ]
    if cursor is not None:
        cursor.execute(_MARK_SENT_SQL, params)
        return
    with db.cursor() as own:
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
    RETURNING n.id, n.kind, n.recipient, n.context, n.attempts
"""


def _claim_many(notification_ids: list[int]) -> list[Notification]:
    """Claim the due, pending rows among these ids (pending to sending); returns them in id order.

    Each row is claimed on its own condition, so no row is sent twice. On
    PostgreSQL one UPDATE ... RETURNING claims the batch and returns what
    sending needs; elsewhere the rows are locked, read and updated.
    """
    from django.db import connection as db

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
            )
            for pk, kind, recipient, context, attempts in sorted(rows)
        ]
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(pk__in=notification_ids, status=NotificationStatus.PENDING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("pk")
        )
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
    from django.db import connection as db

    connection = get_connection(fail_silently=False)
    batch = EmailBatch()
    try:
        with shared_lookups(), db.cursor() as cursor:
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


def _send_batch_size() -> int:
    return getattr(settings, "NOTIFICATIONS_SEND_BATCH_SIZE", 100)


def notification_id_runs(notification_ids: Iterable[int]) -> list[list[int]]:
    """Ids as runs of consecutive numbers, [[first, last], ...]: rows inserted together have few."""
    runs: list[list[int]] = []
    for pk in sorted(set(notification_ids)):
        if runs and runs[-1][1] == pk - 1:
            runs[-1][1] = pk
        else:
            runs.append([pk, pk])
    return runs


def notification_batches(runs: list[list[int]], *, size: int | None = None) -> Iterator[list[int]]:
    """The ids of these runs in send batches of `size` (NOTIFICATIONS_SEND_BATCH_SIZE)."""
    size = size or _send_batch_size()
    batch: list[int] = []
    for first, last in runs:
        pk = first
        while pk <= last:
            take = min(size - len(batch), last - pk + 1)
            batch.extend(range(pk, pk + take))
            pk += take
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def notifications_enqueue_on_commit(notification_ids: list[int]) -> None:
    """After commit, send these rows in batches of NOTIFICATIONS_SEND_BATCH_SIZE (one SMTP session each).

    One broker message whatever the number of rows: up to one batch goes
    straight to `send_notifications`; more go to `dispatch_notifications` as
    runs of ids, and the worker that takes it publishes the batches. If that
    message is lost (broker down at commit), the rows stay pending and the
    sweep sends them.
    """
    _enqueue(notification_ids, on_commit=True)


def notifications_enqueue_now(notification_ids: list[int]) -> None:
    """The same, published at once: for callers with nothing to commit first (the sweep)."""
    _enqueue(notification_ids, on_commit=False)


def _enqueue(notification_ids: list[int], *, on_commit: bool) -> None:
    from .tasks import dispatch_notifications, send_notifications

    if not notification_ids:
        return
    if len(notification_ids) <= _send_batch_size():
        task, kwargs = send_notifications, {"notification_ids": list(notification_ids)}
    else:
        task, kwargs = dispatch_notifications, {"runs": notification_id_runs(notification_ids)}
    (task.delay_on_commit if on_commit else task.delay)(**kwargs)


# --- back-in-stock subscriptions -----------------------------------------------------------


def email_normalize(email: str) -> str:
    return email.strip().lower()


def _marketing_opt_in(email: str) -> None:
    """An explicit new signup lifts an earlier marketing opt-out of this address."""
    EmailPreference.objects.filter(email=email, marketing_opt_out=True).update(marketing_opt_out=False)


def _subscription_open(*, variant_id: int, email: str, **fields) -> BackInStockSubscription:
    """The open subscription of this address to this variant, created with `fields` if none.

    One open subscription per address and variant is a partial unique
    constraint, so a concurrent duplicate fails to insert and we return the
    winner's row instead: a duplicate signup is a silent no-op.
    """
    open_rows = BackInStockSubscription.objects.filter(
        variant_id=variant_id, email=email, status__in=OPEN_SUBSCRIPTION_STATUSES
    )
    existing = open_rows.first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return BackInStockSubscription.objects.create(variant_id=variant_id, email=email, **fields)
    except IntegrityError:
        existing = open_rows.first()
        if existing is None:
            raise
        return existing


@transaction.atomic
def subscription_create(
    *, variant_id: int, email: str, user_id: int | None = None
) -> BackInStockSubscription:
    """Ask for an email when a variant is back in stock.

    A signed-in customer (`user_id`) is active at once. A guest's subscription
    waits for confirmation (double opt-in): a confirmation email goes out, at
    most one a day per subscription. Whatever existed before, the caller must
    answer the same way, so nobody can learn whether an address is subscribed.
    """
    email = email_normalize(email)
    now = timezone.now()
    if user_id is not None:
        BackInStockSubscription.objects.filter(
            variant_id=variant_id, email=email, status=SubscriptionStatus.UNCONFIRMED
        ).update(status=SubscriptionStatus.ACTIVE, confirmed_at=now, user_id=user_id)
        subscription = _subscription_open(
            variant_id=variant_id,
            email=email,
            user_id=user_id,
            status=SubscriptionStatus.ACTIVE,
            confirmed_at=now,
        )
        _marketing_opt_in(email)
        return subscription
    subscription = _subscription_open(
        variant_id=variant_id, email=email, status=SubscriptionStatus.UNCONFIRMED
    )
    if subscription.status == SubscriptionStatus.UNCONFIRMED:
        notification_create(
            kind=NotificationKind.SUBSCRIPTION_CONFIRM,
            recipient=email,
            dedupe_key=f"subscription-confirm:{subscription.pk}:{timezone.localdate(now).isoformat()}",
            context={"subscription_id": subscription.pk, "variant_id": variant_id},
        )
    return subscription


@transaction.atomic
def subscription_confirm(*, subscription_id: int) -> BackInStockSubscription | None:
    """Double opt-in: the unconfirmed subscription becomes active.

    Returns the subscription when it is confirmed (now or before), None when it
    no longer exists or was closed (unsubscribed, bought).
    """
    confirmed = BackInStockSubscription.objects.filter(
        pk=subscription_id, status=SubscriptionStatus.UNCONFIRMED
    ).update(status=SubscriptionStatus.ACTIVE, confirmed_at=timezone.now())
    subscription = (
        BackInStockSubscription.objects.select_related("variant__product").filter(pk=subscription_id).first()
    )
    if subscription is None or subscription.status not in (
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.NOTIFIED,
    ):
        return None
    if confirmed:
        _marketing_opt_in(subscription.email)
    return subscription


@transaction.atomic
def subscription_unsubscribe(*, email: str) -> int:
    """Close every open back-in-stock subscription of an address and record its marketing opt-out.

    Back-in-stock emails still waiting in the outbox for it are cancelled too.
    Returns how many subscriptions were closed; running it twice is harmless.
    """
    email = email_normalize(email)
    closed = BackInStockSubscription.objects.filter(
        email__iexact=email, status__in=OPEN_SUBSCRIPTION_STATUSES
    ).update(status=SubscriptionStatus.UNSUBSCRIBED)
    EmailPreference.objects.update_or_create(email=email, defaults={"marketing_opt_out": True})
    Notification.objects.filter(
        recipient__iexact=email, kind=NotificationKind.BACK_IN_STOCK, status=NotificationStatus.PENDING
    ).update(status=NotificationStatus.CANCELLED)
    return closed


def back_in_stock_close_for_buyer(*, variant_ids: Iterable[int], email: str) -> int:
    """Checkout calls this inside its transaction: whoever bought a variant hears no more about it."""
    return BackInStockSubscription.objects.filter(
        variant_id__in=list(variant_ids),
        email__iexact=email_normalize(email),
        status__in=OPEN_SUBSCRIPTION_STATUSES,
    ).update(status=SubscriptionStatus.PURCHASED)


# --- back-in-stock waves ----------------------------------------------------------------------


def _notify_ratio() -> int:
    return getattr(settings, "BACK_IN_STOCK_NOTIFY_RATIO", 3)


def _wave_wait() -> timedelta:
    return timedelta(minutes=getattr(settings, "BACK_IN_STOCK_WAVE_WAIT_MINUTES", 60))


def _wave_page_size() -> int:
    return getattr(settings, "BACK_IN_STOCK_PAGE_SIZE", 5000)


def back_in_stock_process(*, variant_ids: list[int]) -> dict[int, int]:
    """Stock of these variants grew: start a restock where units are free beyond the backorder queue.

    A restock starts only when none is in progress for the variant (the
    transition to available): its first wave goes out now; later waves are the
    beat's job (`back_in_stock_send_due_waves`). Returns {variant_id: number of
    subscriptions notified now} for the variants that had a wave.
    """
    from inventory.selectors import availability_for_variants

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
            state = RestockWave.objects.select_for_update(no_key=True).get(variant_id=variant_id)
            if state.next_wave_due_at is not None:
                continue  # a restock is in progress; its next wave is due at next_wave_due_at
            result[variant_id] = _wave_send(state=state)
    return result


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
            state = RestockWave.objects.select_for_update(no_key=True).get(variant_id=variant_id)
            if state.next_wave_due_at is None or state.next_wave_due_at > now:
                continue  # another pass got here first
            result[variant_id] = _wave_send(state=state)
    return result


def _wave_send(*, state: RestockWave) -> int:
    """With `state` locked: send the next wave if units are free, or end the restock. Returns how many."""
    from inventory.selectors import availability_for_variant

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
    or notify it twice. Each page costs one SELECT of ids, one INSERT of the
    notifications and one UPDATE closing the subscriptions: no query, and on
    PostgreSQL no Python work, per subscription.
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
        ids = list(
            page.select_for_update(skip_locked=True, no_key=True).values_list("id", flat=True)[
                : min(page_size, limit - count)
            ]
        )
        if not ids:
            break
        after = (
            BackInStockSubscription.objects.values_list("confirmed_at", flat=True).get(pk=ids[-1]),
            ids[-1],
        )
        notification_ids.extend(
            _back_in_stock_rows_create(subscription_ids=ids, variant_id=variant_id, wave=wave)
        )
        BackInStockSubscription.objects.filter(id__in=ids, status=SubscriptionStatus.ACTIVE).update(
            status=SubscriptionStatus.NOTIFIED, wave=wave, notified_at=now
        )
        count += len(ids)
    notifications_enqueue_on_commit(notification_ids)
    return count


# Every NOT NULL column of Notification, in order; a new one must be added here too (tests on
# PostgreSQL fail otherwise).
_BACK_IN_STOCK_INSERT = """
    INSERT INTO {notification} (kind, recipient, context, dedupe_key, status, attempts, last_error, created_at)
    SELECT %(kind)s, s.email,
           jsonb_build_object('subscription_id', s.id, 'variant_id', s.variant_id, 'wave', %(wave)s::integer),
           'back-in-stock:' || s.id || ':' || %(wave)s::integer,
           %(status)s, 0, '', %(now)s
      FROM {subscription} s
     WHERE s.id = ANY(%(ids)s)
     ORDER BY s.confirmed_at, s.id
    RETURNING id
"""


def _back_in_stock_rows_create(*, subscription_ids: list[int], variant_id: int, wave: int) -> list[int]:
    """The back-in-stock notifications of these subscriptions (dedupe key `back-in-stock:<id>:<wave>`).

    On PostgreSQL the database builds the rows from the subscriptions in one
    INSERT ... SELECT (100,000 rows in seconds); elsewhere bulk_create does.
    """
    db = transaction.get_connection()
    if db.vendor == "postgresql":
        sql = _BACK_IN_STOCK_INSERT.format(
            notification=Notification._meta.db_table, subscription=BackInStockSubscription._meta.db_table
        )
        params = {
            "kind": NotificationKind.BACK_IN_STOCK.value,
            "wave": wave,
            "status": NotificationStatus.PENDING.value,
            "now": timezone.now(),
            "ids": subscription_ids,
        }
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return sorted(row[0] for row in cursor.fetchall())
    rows = BackInStockSubscription.objects.filter(pk__in=subscription_ids).order_by("confirmed_at", "id")
    created = Notification.objects.bulk_create(
        [
            Notification(
                kind=NotificationKind.BACK_IN_STOCK,
                recipient=email,
                dedupe_key=f"back-in-stock:{pk}:{wave}",
                context={"subscription_id": pk, "variant_id": variant_id, "wave": wave},
            )
            for pk, email in rows.values_list("id", "email")
        ],
        batch_size=1000,
    )
    return [notification.pk for notification in created]


# --- low-stock alerts for staff ---------------------------------------------------------------


def low_stock_check(*, variant_ids: Iterable[int]) -> list[int]:
    """Email staff when a variant's sellable stock first falls to its low-stock threshold or below.

    Once per crossing: the variant's `LowStockState` row remembers it is low
    until stock rises above the threshold again. Rows are locked (pk order)
    before availability is read, so concurrent checks of one variant run one
    after the other and see each other's result. Discontinued variants never
    alert (nothing will be reordered). Returns the variants that crossed now.
    """
    from inventory.conf import inventory_defaults
    from inventory.models import BackorderPolicy
    from inventory.selectors import availability_for_variants

    ids = sorted(set(variant_ids))
    if not ids:
        return []
    default_threshold = inventory_defaults().low_stock_threshold
    policies = {
        variant_id: (threshold, discontinued)
        for variant_id, threshold, discontinued in BackorderPolicy.objects.filter(
            variant_id__in=ids
        ).values_list("variant_id", "low_stock_threshold", "discontinued")
    }
    with transaction.atomic():
        LowStockState.objects.bulk_create([LowStockState(variant_id=pk) for pk in ids], ignore_conflicts=True)
        states = list(
            LowStockState.objects.select_for_update(no_key=True).filter(variant_id__in=ids).order_by("pk")
        )
        availability = availability_for_variants(variant_ids=ids)
        crossed, risen, thresholds = [], [], {}
        for state in states:
            if state.variant_id not in availability:
                continue
            threshold, discontinued = policies.get(state.variant_id, (None, False))
            thresholds[state.variant_id] = default_threshold if threshold is None else threshold
            low = (
                not discontinued
                and availability[state.variant_id].sellable_now <= thresholds[state.variant_id]
            )
            if low and not state.is_low:
                crossed.append(state)
            elif not low and state.is_low:
                risen.append(state.pk)
        LowStockState.objects.filter(pk__in=risen, is_low=True).update(is_low=False)
        LowStockState.objects.filter(pk__in=[s.pk for s in crossed], is_low=False).update(
            is_low=True, crossings=F("crossings") + 1
        )
        notification_create_many(
            rows=[
                {
                    "kind": NotificationKind.LOW_STOCK_ALERT,
                    "recipient": recipient,
                    # One key per staff address: a Notification has one recipient.
                    "dedupe_key": f"low-stock:{state.variant_id}:{state.crossings + 1}:{recipient.lower()}",
                    "context": {"variant_id": state.variant_id, "threshold": thresholds[state.variant_id]},
                }
                for state in crossed
                for recipient in getattr(settings, "STAFF_ALERT_EMAILS", [])
            ]
        )
    return [state.variant_id for state in crossed]


def notification_create_many(*, rows: list[dict]) -> list[int]:
    """Add many emails to the outbox in a constant number of queries; returns the ids created.

    Each row has kind, recipient, dedupe_key and context. Existing dedupe keys
    are skipped, so repeating a batch creates nothing new. Call it inside the
    transaction that makes the change; sending starts after commit, in batches.
    """
    from django.db import connection

    if not rows:
        return []
    if connection.vendor == "postgresql":
        import json

        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {Notification._meta.db_table}
                    (kind, recipient, context, dedupe_key, status, attempts, last_error, created_at)
                SELECT kind, recipient, context, dedupe_key, %s, 0, '', now()
                FROM unnest(%s::text[], %s::text[], %s::jsonb[], %s::text[]) AS r(kind, recipient, context, dedupe_key)
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING id
                """,
                [
                    NotificationStatus.PENDING,
                    [str(row["kind"]) for row in rows],
                    [row["recipient"] for row in rows],
                    [json.dumps(row.get("context", {})) for row in rows],
                    [row["dedupe_key"] for row in rows],
                ],
            )
            ids = sorted(row[0] for row in cursor.fetchall())
    else:
        keys = [row["dedupe_key"] for row in rows]
        already = set(Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
        Notification.objects.bulk_create(
            [
                Notification(
                    kind=row["kind"],
                    recipient=row["recipient"],
                    dedupe_key=row["dedupe_key"],
                    context=row.get("context", {}),
                )
                for row in rows
                if row["dedupe_key"] not in already
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
        new_keys = [key for key in keys if key not in already]
        ids = list(
            Notification.objects.filter(dedupe_key__in=new_keys, status=NotificationStatus.PENDING)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    notifications_enqueue_on_commit(ids)
    return ids
