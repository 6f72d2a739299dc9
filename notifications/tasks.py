"""Celery tasks for notifications: thin, idempotent, ids only."""

from celery import shared_task

from .services import (
    back_in_stock_process,
    back_in_stock_send_due_waves,
    low_stock_check,
    low_stock_sweep,
    notification_batches,
    notification_send,
    notification_send_many,
    notification_sweep,
    notifications_enqueue_now,
)

# A retry sooner than this goes back on the broker as a Celery retry; later
# retries wait in the database (next_attempt_at) for the sweep, so no long
# countdown ever sits on a Redis message.
SHORT_RETRY_SECONDS = 60


@shared_task(bind=True, ignore_result=True, max_retries=None)
def send_notification(self, notification_id: int) -> str:
    outcome = notification_send(notification_id=notification_id)
    if outcome.status == "retry" and outcome.retry_in.total_seconds() <= SHORT_RETRY_SECONDS:
        raise self.retry(countdown=outcome.retry_in.total_seconds())
    return outcome.status


@shared_task(ignore_result=True)
def send_notifications(notification_ids: list[int]) -> int:
    """Send a batch over one SMTP connection (a back-in-stock wave). Returns how many were sent.

    A row that failed for now is retried on its own: soon ones as a
    `send_notification` message, later ones by the sweep.
    """
    outcomes = notification_send_many(notification_ids=notification_ids)
    for pk, outcome in outcomes.items():
        if outcome.status == "retry" and outcome.retry_in.total_seconds() <= SHORT_RETRY_SECONDS:
            send_notification.apply_async(
                kwargs={"notification_id": pk}, countdown=outcome.retry_in.total_seconds()
            )
    return sum(1 for outcome in outcomes.values() if outcome.status == "sent")


@shared_task(ignore_result=True)
def dispatch_notifications(runs: list[list[int]]) -> int:
    """Fan a large set of outbox rows out into send batches; returns how many were published.

    `runs` are [first, last] id ranges (`notification_id_runs`), so the one
    message a 100,000-email wave publishes at commit stays small. Publishing it
    again (a redelivery) is harmless: every row is claimed once.
    """
    count = 0
    for batch in notification_batches(runs):
        send_notifications.delay(notification_ids=batch)
        count += 1
    return count


@shared_task(ignore_result=True)
def sweep_notifications() -> int:
    """Beat task: re-enqueue notifications left pending or stuck in sending, in send batches.

    One broker message for up to 10,000 rows (`notifications_enqueue_now`), so a lost
    message of a large wave is recovered in minutes, not hours.
    """
    ids = notification_sweep(limit=10_000)
    notifications_enqueue_now(ids)
    return len(ids)


@shared_task(ignore_result=True)
def back_in_stock(variant_ids: list[int]) -> dict[int, int]:
    """Stock of these variants grew: start their back-in-stock restock if units are free."""
    return back_in_stock_process(variant_ids=variant_ids)


@shared_task(ignore_result=True)
def send_due_back_in_stock_waves() -> dict[int, int]:
    """Beat task: the next wave of every restock whose wait is over."""
    return back_in_stock_send_due_waves()


@shared_task(ignore_result=True)
def check_low_stock(variant_ids: list[int]) -> list[int]:
    """Stock of these variants changed: alert staff about fresh low-stock crossings."""
    return low_stock_check(variant_ids=variant_ids)


@shared_task(ignore_result=True)
def sweep_low_stock() -> list[int]:
    """Beat task: check again the variants whose stock moved lately (a lost `check_low_stock`)."""
    return low_stock_sweep()


def check_low_stock_enqueue(*, variant_ids: list[int]) -> None:
    """Receiver of inventory.events.stock_fell: check these variants against their thresholds."""
    check_low_stock.delay_on_commit(variant_ids=sorted(set(variant_ids)))
