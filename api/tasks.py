"""Celery tasks of the integration API: thin, they call a service."""

from celery import shared_task
from django.conf import settings

from .services import idempotent_requests_prune


@shared_task(ignore_result=True)
def prune_idempotent_requests() -> int:
    """Daily (CELERY_BEAT_SCHEDULE): forget answers kept longer than API_IDEMPOTENCY_KEEP_DAYS."""
    return idempotent_requests_prune(keep_days=settings.API_IDEMPOTENCY_KEEP_DAYS)
