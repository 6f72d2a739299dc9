"""Celery tasks of the catalog app."""

from celery import shared_task

from .services import heartbeat_record


@shared_task(bind=True, ignore_result=True)
def worker_heartbeat(self) -> None:
    """Periodic proof of life: beat schedules it, any worker runs it."""
    heartbeat_record(worker=self.request.hostname or "eager")
