"""Celery tasks for the outbox: thin, idempotent, ids only."""

from celery import shared_task

from .services import notification_send, notification_sweep

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
def sweep_notifications() -> int:
    """Beat task: re-enqueue notifications left pending or stuck in sending."""
    ids = notification_sweep()
    for pk in ids:
        send_notification.delay(notification_id=pk)
    return len(ids)
