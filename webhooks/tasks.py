"""Celery tasks of the webhooks: thin, idempotent, ids only (docs/api.md "Webhooks")."""

from celery import shared_task

from .services.delivery import SHORT_RETRY_SECONDS, webhook_deliveries_send, webhook_endpoints_due


@shared_task(ignore_result=True)
def webhooks_deliver(endpoint_id: int) -> int:
    """Send the endpoint's due deliveries (oldest first, in order per resource); returns how many were tried.

    Several runs of one endpoint at once are safe: each delivery is locked while it is sent
    (webhooks.locks), so none is sent twice at the same time. A run that stops with due
    deliveries left (its time was up) publishes the next run; a failed attempt due again
    within SHORT_RETRY_SECONDS gets a run with that countdown; later ones wait for the sweep.
    """
    run = webhook_deliveries_send(endpoint_id=endpoint_id)
    if run.more:
        webhooks_deliver.delay(endpoint_id=endpoint_id)
    elif run.retry_in is not None and run.retry_in <= SHORT_RETRY_SECONDS:
        webhooks_deliver.apply_async(kwargs={"endpoint_id": endpoint_id}, countdown=run.retry_in)
    return run.tried


@shared_task(ignore_result=True)
def sweep_webhook_deliveries() -> list[int]:
    """Beat task: a run for every active endpoint with due deliveries (a lost message, a killed worker,
    a retry whose time came)."""
    endpoint_ids = webhook_endpoints_due()
    for endpoint_id in endpoint_ids:
        webhooks_deliver.delay(endpoint_id=endpoint_id)
    return endpoint_ids


def webhooks_deliver_enqueue(*, endpoint_ids: list[int]) -> None:
    """Receiver of webhooks.hooks.deliveries_queued: a delivery run per endpoint once the change commits."""
    for endpoint_id in sorted(set(endpoint_ids)):
        webhooks_deliver.delay_on_commit(endpoint_id=endpoint_id)
