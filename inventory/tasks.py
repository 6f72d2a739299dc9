"""Celery tasks of the inventory app: thin wrappers that take ids and call services."""

from celery import shared_task
from django.db import OperationalError

from .services import stock_arrived_process


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
    """Sellable stock of these variants grew (receipt, adjustment, release, return)."""
    stock_arrived_process(variant_ids=variant_ids)
