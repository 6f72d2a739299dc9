"""Celery tasks of the orders app: thin wrappers that take ids and call a service.

Every task is idempotent: a redelivered message (acks late) or a second beat
tick finds the same slips, the same due notices or the same candidates and
creates nothing new.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from notifications.services.retention import notifications_prune_sent

from .delays import delay_digest_send, delay_notices_send_due, delays_detect, delays_scan
from .feedback import feedback_requests_send
from .services.allocation_release import card_grace_sweep
from .services.card_charges import card_charge_send, card_charges_pending
from .services.card_expiry import card_authorizations_release_expiring
from .services.retention import carts_prune_abandoned, sessions_prune_expired
from .stripe_api import StripeUnavailable

logger = logging.getLogger(__name__)

RETRYING = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(ignore_result=True, **RETRYING)
def check_delays(variant_ids: list[int], cause: str = "", purchase_order_id: int | None = None) -> None:
    """A purchase order or the queue changed: record slips of these variants' waiting lines.

    Then send whatever notice is already due (with no quiet period configured,
    that is the one just recorded); otherwise the beat task sends it later.
    """
    delays_detect(variant_ids=variant_ids, cause=cause, purchase_order_id=purchase_order_id)
    delay_notices_send_due()


@shared_task(ignore_result=True, **RETRYING)
def send_due_delay_notices() -> int:
    """Beat, every minute: email the delay notices whose quiet period is over."""
    return len(delay_notices_send_due())


@shared_task(ignore_result=True, **RETRYING)
def scan_delays() -> int:
    """Beat, daily: overdue lines (promised date passed) and any slip a lost check missed."""
    touched = delays_scan()
    delay_notices_send_due()
    return len(touched)


@shared_task(ignore_result=True, **RETRYING)
def send_delay_digest() -> int:
    """Beat, daily after the scan: staff hear about lines waiting far past their first promised date."""
    return len(delay_digest_send())


@shared_task(ignore_result=True, **RETRYING)
def send_feedback_requests() -> int:
    """Beat, daily: one feedback request per delivered order that waited on backorder."""
    return len(feedback_requests_send())


def check_delays_enqueue(
    *, variant_ids: list[int], cause: str = "", purchase_order_id: int | None = None
) -> None:
    """Receiver of inventory.events.supply_changed and orders.events.queue_reordered."""
    check_delays.delay_on_commit(
        variant_ids=sorted(set(variant_ids)), cause=cause, purchase_order_id=purchase_order_id
    )


# --- card payments (orders.services.card_charges) ------------------------------------------------

CARD_RETRYING = {**RETRYING, "autoretry_for": (OperationalError, StripeUnavailable)}


@shared_task(ignore_result=True, **CARD_RETRYING)
def card_charges_send(charge_ids: list[int]) -> None:
    """Send pending off-session charges; each is sent once (its row lock and its idempotency key)."""
    for charge_id in charge_ids:
        card_charge_send(charge_id)


@shared_task(ignore_result=True, **RETRYING)
def card_charges_sweep() -> int:
    """Send what a lost message left pending for more than a minute (beat)."""
    ids = card_charges_pending(older_than=timedelta(seconds=60))
    for charge_id in ids:
        card_charges_send.delay([charge_id])
    return len(ids)


def card_charges_enqueue(*, charge_ids: list[int]) -> None:
    """Receiver of orders.events.card_charges_created: send them once the transaction commits."""
    card_charges_send.delay_on_commit(sorted(charge_ids))


@shared_task(ignore_result=True, **RETRYING)
def card_authorizations_renew() -> int:
    """Beat, hourly: card holds in their last day are released before they expire; their parcels
    are charged off-session when they ship (orders.services.card_expiry)."""
    return len(card_authorizations_release_expiring().released)


@shared_task(ignore_result=True, **CARD_RETRYING)
def card_payments_grace_sweep() -> int:
    """Beat, every 15 minutes: remind customers whose card payment's grace ends soon (once each),
    and give the units of charges still unpaid after it to the next customers in line."""
    result = card_grace_sweep()
    return len(result.reminded) + len(result.released)


# --- data retention (docs/operations.md, "Data retention") -----------------------------------------


@shared_task(ignore_result=True, **RETRYING)
def prune_old_data() -> dict[str, int | None]:
    """Beat, daily: expired sessions, abandoned guest carts, sent emails past their retention.
    Idempotent: a second run the same day finds nothing more."""
    carts = carts_prune_abandoned(older_than_days=settings.CART_RETENTION_DAYS)
    outbox = notifications_prune_sent(older_than_days=settings.NOTIFICATION_RETENTION_DAYS)
    result = {
        "sessions": sessions_prune_expired(),
        "carts": carts.carts,
        "cart_lines": carts.lines,
        "notifications_deleted": outbox.deleted,
        "notifications_anonymised": outbox.anonymised,
    }
    logger.info("data retention: %s", result)
    return result
