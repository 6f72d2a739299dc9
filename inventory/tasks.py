"""Celery tasks of the inventory app: thin wrappers that take ids and call services."""

from celery import shared_task
from django.db import OperationalError

from orders.services import order_allocation_follow_ups_finish, stock_arrived_process

from .services import allocation_requests_pending, allocation_requests_restore, supplier_reminders_send


@shared_task(
    bind=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def stock_arrived(self, variant_ids: list[int]) -> None:
    """Sellable stock of these variants grew: serve their backorder queues."""
    stock_arrived_process(variant_ids=variant_ids)


@shared_task(ignore_result=True)
def sweep_allocation_requests() -> int:
    """Beat task: serve requests whose message was lost, and queues that a dead pass left half served.

    Also finishes the order updates (status, timeline event, email) of served batches whose
    follow-up a dead worker left behind."""
    order_allocation_follow_ups_finish()
    variant_ids = sorted(set(allocation_requests_pending()) | set(allocation_requests_restore()))
    if variant_ids:
        stock_arrived.delay(variant_ids=variant_ids)
    return len(variant_ids)


def stock_arrived_enqueue(*, variant_ids: list[int]) -> None:
    """Receiver of inventory.events.stock_grew: one "stock arrived" message for these variants."""
    stock_arrived.delay_on_commit(variant_ids=sorted(set(variant_ids)))


@shared_task(ignore_result=True)
def send_supplier_reminders() -> int:
    """Beat task: remind suppliers of unconfirmed and overdue purchase orders (once per order and kind)."""
    return supplier_reminders_send()
