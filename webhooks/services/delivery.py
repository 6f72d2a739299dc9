"""Sending the deliveries: a signed HTTP POST per delivery, retried with backoff (docs/api.md, "Webhooks").

A run (`webhook_deliveries_send`, the task `webhooks_deliver`) sends one endpoint's due pending
deliveries, oldest first, and keeps the order of events per resource: a delivery waits while an
earlier event of the same resource is still pending for that endpoint. Deliveries are sent in
batches, one transaction each: the batch is locked (`deliveries_claim_lock`, SKIP LOCKED) while
its requests are in flight, so two workers never send one delivery at the same time, and each
outcome and its attempt's log row commit with the batch (one commit per batch, not per request:
the commit's flush cost more than a local receiver's answer). A worker killed during a batch
leaves its deliveries pending (the transaction rolls back) and the sweep sends them again:
deliveries are at least once over HTTP, and receivers drop a repeat by its `webhook-id`, the
event's id, the same on every attempt.

2xx: delivered. Anything else (a redirect too: none is followed) or a network error: the attempt
is logged, and the delivery is due again after BACKOFF_SECONDS; after WEBHOOK_MAX_ATTEMPTS it
gives up ("failed"; "Send again" in the admin re-queues it). A 4xx answer concerns that request
only and the run goes on; a network error, a timeout, a 3xx or a 5xx ends the run (the receiver
is down or misplaced: the rest wait for the next run rather than each waiting for a timeout).
"""

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import urllib3
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from standardwebhooks import Webhook

from shop.submissions import submission_claim

from ..hooks import deliveries_queued
from ..locks import deliveries_claim_lock, deliveries_lock
from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from ..selectors import endpoints_with_due_deliveries
from .endpoints import endpoint_answered, endpoint_failed

# Seconds before the next attempt after the 1st, 2nd, ... failed one; then every BACKOFF_LAST.
BACKOFF_SECONDS = (5, 30, 120, 600, 1800, 3600, 3 * 3600)
BACKOFF_LAST = 6 * 3600
# A retry due within this many seconds gets a run of its own (a countdown message); later ones
# are found by the sweep (every minute), so no long countdown sits on the broker.
SHORT_RETRY_SECONDS = 60
CONNECT_TIMEOUT_SECONDS = 3.0
CLAIM_BATCH = 50  # deliveries locked per transaction of a run
BATCH_SECONDS = 10.0  # a batch starts no request after this long: its locks are not held for long
RUN_SECONDS = 60.0  # a run stops after this long and publishes the next: the queue is shared
EXCERPT_CHARS = 500  # of an answer's body, kept in the log
_READ_BYTES = 4096

Status = WebhookDelivery.Status


def backoff(failed_attempts: int) -> timedelta:
    """How long a delivery waits after its `failed_attempts`-th failed attempt (1, 2, ...)."""
    index = max(failed_attempts, 1) - 1
    return timedelta(seconds=BACKOFF_SECONDS[index] if index < len(BACKOFF_SECONDS) else BACKOFF_LAST)


# --- the request -----------------------------------------------------------------------------------


def webhook_body(event: WebhookEvent) -> bytes:
    """The JSON body of an event's request: {"id", "type", "timestamp", "data"}, UTF-8."""
    return json.dumps(
        {
            "id": event.event_id,
            "type": event.type,
            "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
            "data": event.data,
        },
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def signing_secrets(endpoint: WebhookEndpoint, *, at: datetime) -> list[str]:
    """The endpoint's secret, and its previous one while that still signs (a new secret's overlap)."""
    if endpoint.previous_secret and endpoint.previous_secret_until and at < endpoint.previous_secret_until:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def webhook_headers(*, event_id: str, secrets: list[str], body: bytes, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers: the id receivers deduplicate on, the time, the HMAC signature(s):
    one per secret, space-separated, as the spec allows, so a receiver holding either verifies."""
    return {
        "content-type": "application/json",
        "user-agent": f"{settings.SHOP_NAME} webhooks",
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(
            Webhook(secret).sign(msg_id=event_id, timestamp=at, data=body) for secret in secrets
        ),
    }


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str
    excerpt: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def ends_run(self) -> bool:
        """The receiver is down or misplaced, not refusing this request: the run's others wait."""
        return not self.ok and not (self.status_code is not None and 400 <= self.status_code < 500)


def http_pool() -> urllib3.PoolManager:
    """Connections for one run: kept alive between its requests, never retried, no redirect followed."""
    total = float(settings.WEBHOOK_TIMEOUT_SECONDS)
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT_SECONDS, total), read=total, total=total),
        retries=False,
        maxsize=1,
    )


def webhook_post(pool: urllib3.PoolManager, url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST once; an answer of any status, or the network error, with how long it took."""
    started = time.perf_counter()
    try:
        response = pool.request(
            "POST", url, body=body, headers=headers, redirect=False, preload_content=False
        )
        try:
            head = response.read(_READ_BYTES, decode_content=True)
        finally:
            if response.length_remaining == 0:
                response.release_conn()
            else:  # a body left unread (or of unknown length): the connection cannot be reused
                response.close()
        excerpt = head.decode("utf-8", "replace")[:EXCERPT_CHARS]
        status, error = response.status, ""
    except Exception as exc:  # urllib3's errors, an invalid URL...: a failed attempt, logged
        status, error, excerpt = None, _error_text(exc), ""
    duration = int((time.perf_counter() - started) * 1000)
    if status is not None and not 200 <= status < 300:
        error = f"Answered {status}" + (" (a redirect: not followed)" if 300 <= status < 400 else "")
    return Answer(status_code=status, error=error[:500], excerpt=excerpt, duration_ms=duration)


def _error_text(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    # NewConnectionError is a ConnectTimeoutError in urllib3: asked first.
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return f"Could not connect: {reason}"
    if isinstance(exc, urllib3.exceptions.TimeoutError) or isinstance(
        reason, urllib3.exceptions.TimeoutError
    ):
        return f"No answer in time ({settings.WEBHOOK_TIMEOUT_SECONDS} s): {reason}"
    return f"{type(exc).__name__}: {reason}"


# --- a run -------------------------------------------------------------------------------------------


@dataclass
class Run:
    tried: int = 0
    delivered: int = 0
    failed: int = 0
    more: bool = False  # stopped with due deliveries left (time up): publish the next run
    retry_in: float | None = None  # seconds until the earliest retry this run scheduled
    disabled: bool = False
    # The endpoint is in a run of failures (as read when the run began, or failed since): a success
    # clears it. A success that does not (another worker's failure began it meanwhile) still stops
    # the endpoint from being turned off: endpoint_failed looks for a success in the log first.
    failing: bool = False


def webhook_deliveries_send(*, endpoint_id: int) -> Run:
    """Send the endpoint's due deliveries, oldest first and in order per resource (see the module)."""
    run = Run()
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).first()
    if endpoint is None:  # gone or turned off: its deliveries wait
        return run
    run.failing = endpoint.failing_since is not None
    stop_at = time.monotonic() + RUN_SECONDS
    pool = http_pool()
    try:
        while True:
            if time.monotonic() >= stop_at:
                run.more = True
                return run
            with transaction.atomic():
                batch = deliveries_claim_lock(endpoint_id, now=timezone.now(), limit=CLAIM_BATCH)
                if not batch:  # none due, or every one held by another worker
                    return run
                ended = _send_batch(
                    pool, endpoint, batch, run, until=min(stop_at, time.monotonic() + BATCH_SECONDS)
                )
            if ended:
                return run
    finally:
        pool.clear()


_OUTCOME_FIELDS = [
    "status",
    "attempts",
    "next_attempt_at",
    "last_attempt_at",
    "delivered_at",
    "last_status_code",
    "last_error",
]


class _Log:
    """A batch's attempts and its deliveries that succeeded, written together: one INSERT, and one
    UPDATE per status code answered (their last attempt and delivery time: when it is written, within
    BATCH_SECONDS of the request; the attempt log has each request's own time). A failure is written
    at once, with the log so far: turning the endpoint off reads the log."""

    def __init__(self) -> None:
        self.attempts: list[WebhookAttempt] = []
        self.delivered: dict[int, list[int]] = {}  # status code -> delivery ids

    def write(self) -> None:
        if self.attempts:
            WebhookAttempt.objects.bulk_create(self.attempts)
        now = timezone.now()
        for status_code, ids in self.delivered.items():
            WebhookDelivery.objects.filter(pk__in=ids).update(
                status=Status.DELIVERED,
                attempts=F("attempts") + 1,
                last_attempt_at=now,
                delivered_at=now,
                last_status_code=status_code,
                last_error="",
            )
        self.attempts, self.delivered = [], {}


def _send_batch(
    pool, endpoint: WebhookEndpoint, batch: list[WebhookDelivery], run: Run, *, until: float
) -> bool:
    """Send a locked batch in order; True when the run ends here (the receiver is down, or the endpoint
    was turned off). Deliveries not reached (time up) stay pending, unlocked at commit."""
    log = _Log()
    try:
        for delivery in batch:
            if time.monotonic() >= until:  # the rest go in the next batch (or run)
                return False
            started = timezone.now()
            body = webhook_body(delivery.event)
            headers = webhook_headers(
                event_id=delivery.event.event_id,
                secrets=signing_secrets(endpoint, at=started),
                body=body,
                at=started,
            )
            answer = webhook_post(pool, endpoint.url, body, headers)
            _record(delivery, answer, started=started, run=run, log=log)
            if answer.ends_run or run.disabled:
                return True
        return False
    finally:
        log.write()


def _record(delivery: WebhookDelivery, answer: Answer, *, started: datetime, run: Run, log: _Log) -> None:
    now = timezone.now()
    log.attempts.append(
        WebhookAttempt(
            delivery=delivery,
            started_at=started,
            duration_ms=answer.duration_ms,
            status_code=answer.status_code,
            error=answer.error,
            response_excerpt=answer.excerpt,
        )
    )
    run.tried += 1
    if answer.ok:
        log.delivered.setdefault(answer.status_code, []).append(delivery.pk)
        run.delivered += 1
        if run.failing:
            endpoint_answered(endpoint_id=delivery.endpoint_id)
            run.failing = False
        return
    delivery.attempts += 1
    delivery.last_attempt_at = started
    delivery.last_status_code = answer.status_code
    delivery.last_error = answer.error
    run.failed += 1
    run.failing = True
    if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = Status.FAILED
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
        wait = (delivery.next_attempt_at - now).total_seconds()
        run.retry_in = wait if run.retry_in is None else min(run.retry_in, wait)
    log.write()  # endpoint_failed reads the log: this attempt must be in it
    delivery.save(update_fields=_OUTCOME_FIELDS)
    if endpoint_failed(endpoint_id=delivery.endpoint_id, now=now):
        run.disabled = True


def webhook_endpoints_due() -> list[int]:
    """The sweep: active endpoints with a due pending delivery (whose message was lost, whose worker
    died, whose retry came due)."""
    return endpoints_with_due_deliveries(now=timezone.now())


# --- "Send again" ----------------------------------------------------------------------------------


def deliveries_replay(*, delivery_ids: list[int], submission_key: str, user_id: int | None) -> list[int]:
    """Re-queue these deliveries (delivered or given up) to be sent again, due now, with a fresh retry
    schedule; returns the ids re-queued. Pending ones are already waiting and are left alone.

    Once per submission: the form's one-time key is claimed first (shop.submissions), so a form sent
    twice re-queues once. A run per endpoint is published after commit.
    """
    with transaction.atomic():
        submission_claim(key=submission_key, action="webhooks.replay", user_id=user_id)
        rows = [d for d in deliveries_lock(delivery_ids) if d.status != Status.PENDING]
        ids = [d.pk for d in rows]
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), delivered_at=None
        )
        if rows:
            deliveries_queued.send(endpoint_ids=sorted({d.endpoint_id for d in rows}))
    return ids
