"""Celery tasks of the catalog app."""

import smtplib

from celery import shared_task
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.db import InterfaceError, OperationalError
from django.utils import translation

from .catalog_import.services import catalog_import_run
from .services import heartbeat_record

CATALOG_IMPORT_SLICE_SECONDS = 120


@shared_task(bind=True, ignore_result=True)
def worker_heartbeat(self) -> None:
    """Periodic proof of life: beat schedules it, any worker runs it."""
    heartbeat_record(worker=self.request.hostname or "eager")


@shared_task(
    ignore_result=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def send_password_reset(email: str, language: str = "") -> None:
    """Send Django's password reset email to the active accounts with this address (none: nothing).

    Links use the configured site address (SHOP_BASE_URL), never a request's
    Host header. Short SMTP outages are retried with backoff.
    """
    form = PasswordResetForm(data={"email": email})
    if not form.is_valid():
        return
    with translation.override(language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE):
        _send_password_reset(form)


def _send_password_reset(form: PasswordResetForm) -> None:
    """The email in the active language: its words and its link (/de/accounts/reset/... in German)."""
    form.save(
        domain_override=settings.SHOP_BASE_URL,
        extra_email_context={"base_url": settings.SHOP_BASE_URL.rstrip("/"), "shop_name": settings.SHOP_NAME},
        subject_template_name="registration/password_reset_subject.txt",
        email_template_name="registration/password_reset_email.html",
    )


def send_password_reset_enqueue(*, email: str, language: str = "") -> None:
    """Receiver of shop.events.password_reset_requested: one message, published after commit."""
    send_password_reset.delay_on_commit(email=email, **({"language": language} if language else {}))


@shared_task(
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError, OSError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
    acks_late=True,
)
def catalog_import(job_id: int) -> None:
    """Import an uploaded catalog file (shop.catalog_import.services), CATALOG_IMPORT_SLICE_SECONDS at a
    time: then it queues itself to go on, so it stays far below the default queue's time limits. A retry
    or a second message resumes at the next chunk not written."""
    job = catalog_import_run(job_id=job_id, budget_seconds=CATALOG_IMPORT_SLICE_SECONDS)
    if not job.is_finished:
        catalog_import.delay(job_id=job_id)


def catalog_import_enqueue(*, job_id: int) -> None:
    """Receiver of shop.events.catalog_import_queued: one message, published after commit."""
    catalog_import.delay_on_commit(job_id=job_id)
