"""Endpoints: what staff change in the admin, and their health as the deliveries find it.

This module is the one writer of `WebhookEndpoint`. Staff create an endpoint (its signing secret is
made here), turn it off and on, and give it a new secret; the delivery runs tell it how each attempt
went: a success ends a run of failures (`failing_since`), and an endpoint whose attempts have all
failed for WEBHOOK_DISABLE_AFTER_HOURS, DISABLE_MIN_FAILURES attempts at least, is turned off and
the staff who may change endpoints are emailed once (docs/api.md, "Disabling").
"""

import base64
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from notifications.models import NotificationKind
from notifications.services.outbox import notifications_insert

from ..hooks import deliveries_queued
from ..locks import endpoint_lock
from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ..selectors import endpoint_staff_recipients
from .events import Event, webhook_events_record

# An endpoint is turned off only after this many failed attempts in a row as well as after
# WEBHOOK_DISABLE_AFTER_HOURS: one attempt that failed a day after the last one is no pattern.
DISABLE_MIN_FAILURES = 5
# The event "Send a test event" sends to one endpoint only; no endpoint subscribes to it.
TEST_EVENT_TYPE = "webhook.test"


def secret_new() -> str:
    """A Standard Webhooks signing secret: "whsec_" and the base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def endpoint_save(*, endpoint: WebhookEndpoint, user_label: str) -> None:
    """Save an endpoint staff created or changed in the admin.

    A new endpoint gets its secret. Turned off by staff: when and by whom is kept. Turned on again:
    the failure record is cleared and its waiting deliveries are due now, sent by a run after commit.
    """
    now = timezone.now()
    previous = None
    if endpoint.pk is not None:
        previous = WebhookEndpoint.objects.filter(pk=endpoint.pk).values("is_active").first()
    if endpoint.pk is None or not endpoint.secret:
        endpoint.secret = secret_new()
    turned_on = previous is not None and not previous["is_active"] and endpoint.is_active
    if previous is not None and previous["is_active"] and not endpoint.is_active:
        endpoint.disabled_at = now
        endpoint.disabled_reason = f"Turned off by {user_label}."
    if turned_on:
        endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = None, "", None
    with transaction.atomic():
        endpoint.save()
    if turned_on:
        endpoint_resume(endpoint_id=endpoint.pk)


def endpoint_resume(*, endpoint_id: int) -> int:
    """Make the endpoint's waiting deliveries due now and ask for a run; returns how many wait.

    Its own transaction, with no lock of the endpoint held: a delivery being sent is locked
    before its endpoint, never after (webhooks.locks).
    """
    with transaction.atomic():
        count = WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id, status=WebhookDelivery.Status.PENDING
        ).update(next_attempt_at=timezone.now())
        if count:
            deliveries_queued.send(endpoint_ids=[endpoint_id])
    return count


def endpoint_secret_rotate(*, endpoint_id: int) -> str:
    """Give the endpoint a new secret. For WEBHOOK_SECRET_OVERLAP_HOURS every request is signed with the
    old one as well (two signatures in webhook-signature: a receiver with either verifies), then with
    the new one alone; 0 hours: the new one alone at once."""
    secret = secret_new()
    overlap = timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
    with transaction.atomic():
        endpoint = endpoint_lock(endpoint_id)
        if endpoint is None:
            raise WebhookEndpoint.DoesNotExist(endpoint_id)
        endpoint.previous_secret = endpoint.secret if overlap else ""
        endpoint.previous_secret_until = timezone.now() + overlap if overlap else None
        endpoint.secret = secret
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return secret


def endpoint_send_test_event(*, endpoint_id: int, user_label: str) -> str:
    """Write a `webhook.test` event for this endpoint alone and ask for a run; returns its event id."""
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    with transaction.atomic():
        webhook_events_record(
            events=[
                Event(
                    type=TEST_EVENT_TYPE,
                    resource_type="webhook_endpoint",
                    resource_id=str(endpoint.pk),
                    data={"endpoint_id": endpoint.pk, "message": f"A test event sent by {user_label}."},
                )
            ],
            subscribers={TEST_EVENT_TYPE: [endpoint.pk]},
        )
        return (
            WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, event__type=TEST_EVENT_TYPE)
            .order_by("-pk")
            .values_list("event__event_id", flat=True)
            .first()
        )


# --- what the delivery runs report (inside the transaction that records an attempt) ----------------


def endpoint_answered(*, endpoint_id: int) -> None:
    """A 2xx answer: the endpoint's run of failures, if any, is over."""
    WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=False).update(failing_since=None)


def endpoint_failed(*, endpoint_id: int, now: datetime) -> bool:
    """A failed attempt (already in the log): start the run of failures, or turn the endpoint off when
    the run has lasted long enough. Returns True when the endpoint was turned off now."""
    WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(failing_since=now)
    since = WebhookEndpoint.objects.filter(pk=endpoint_id).values_list("failing_since", flat=True).first()
    if since is None or now - since < timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS):
        return False
    endpoint = endpoint_lock(endpoint_id)
    if endpoint is None or not endpoint.is_active or endpoint.failing_since is None:
        return False
    log = WebhookAttempt.objects.filter(
        delivery__endpoint_id=endpoint_id, started_at__gte=endpoint.failing_since
    ).aggregate(
        failed=Count("pk", filter=~Q(status_code__gte=200, status_code__lt=300)),
        answered=Count("pk", filter=Q(status_code__gte=200, status_code__lt=300)),
    )
    if log["answered"]:
        # A success by another worker since the run began: this failure starts a new run.
        WebhookEndpoint.objects.filter(pk=endpoint_id).update(failing_since=now)
        return False
    if log["failed"] < DISABLE_MIN_FAILURES:
        return False
    _turn_off(endpoint, now=now, failures=log["failed"])
    return True


def _turn_off(endpoint: WebhookEndpoint, *, now: datetime, failures: int) -> None:
    since = endpoint.failing_since
    hours = int((now - since).total_seconds() // 3600)
    endpoint.is_active = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = (
        f"Turned off automatically: its last {failures} attempts failed, over {hours} hours, "
        f"none answered with success."
    )
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    stamp = int(now.timestamp())
    notifications_insert(
        rows=[
            {
                "kind": NotificationKind.WEBHOOK_ENDPOINT_DISABLED,
                "recipient": recipient,
                # Once per turning off and address: a second worker finds the endpoint off already.
                "dedupe_key": f"webhook-endpoint-disabled:{endpoint.pk}:{stamp}:{recipient}",
                "context": {
                    "endpoint_id": endpoint.pk,
                    "failures": failures,
                    "failing_since": since.isoformat(),
                },
            }
            for recipient in endpoint_staff_recipients()
        ]
    )
