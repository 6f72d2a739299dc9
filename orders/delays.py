"""Delays: find waiting lines whose date slipped, tell the customer once, record their answer.

How the pieces fit (docs/delays.md has the whole story):

* `delays_detect` re-projects the backorder queue of some variants with
  `inventory.services.backorder_dates_reproject` (`backorder_dates_refresh`,
  the projection every page uses, returning what it saw) and compares each waiting line's new date with the date the customer
  was last told, `OrderLine.promised_date`. A slip becomes a pending
  `LineDelay` on the order's pending `DelayNotice`, whose due time moves to
  now + the quiet period. Purchase-order changes and priority changes run it
  after commit (`orders.tasks.check_delays`); the daily scan runs it for every
  variant with waiting lines.
* `delay_notices_send_due` emails the notices whose due time has passed: one
  email per order naming every delayed line with its old and new dates, at
  most one per order a day (the outbox dedupe key holds the day).
* `delay_keep_waiting` and `delay_cancel_waiting` act on the email's two
  signed links; each records its use on the notice, so a link works once.
* `delay_digest_send` emails staff the lines waiting far past their first
  promised date.

Lock order: variants (pk) → delay notices (pk) → order lines (pk) → payment.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inventory.selectors import date_in_words
from inventory.services import DatesRefresh, backorder_dates_reproject
from notifications.models import NotificationKind
from notifications.services import notification_create, notification_create_many
from shop.models import Variant

from .models import (
    DelayCause,
    DelayChoice,
    DelayNotice,
    DelayNoticeStatus,
    LineDelay,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderLine,
)
from .selectors import escalated_lines
from .services import OrderActionError, _order_cancel_backordered

DETECT_CHUNK = 500  # variants per detection transaction (the daily scan covers them all)
DIGEST_MAX_LINES = 500  # lines listed in one staff digest; the total is always given


class DelayLinkError(Exception):
    """The action behind a delay-email link cannot be done; the message is for the customer."""


class DelayLinkUsed(DelayLinkError):
    """The link was used before (single use)."""


def _quiet() -> timedelta:
    return timedelta(minutes=getattr(settings, "DELAY_NOTIFY_QUIET_MINUTES", 30))


def _max_wait() -> timedelta:
    return timedelta(minutes=getattr(settings, "DELAY_NOTIFY_MAX_WAIT_MINUTES", 240))


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _next_day_send_time(now: datetime) -> datetime:
    """When an order that already had its delay email today may get the next one."""
    hour = getattr(settings, "DELAY_NOTIFY_NEXT_DAY_HOUR", 8)
    return _start_of(timezone.localdate(now) + timedelta(days=1)) + timedelta(hours=hour)


def _lock_variants(variant_ids: Iterable[int]) -> None:
    """The per-variant mutex every reader-then-writer of a backorder queue takes first."""
    list(
        Variant.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(set(variant_ids)))
        .order_by("pk")
        .values("pk")
    )


# --- detecting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slip:
    """A waiting line whose projected date is later than the date its customer was told."""

    line_id: int
    order_id: int
    old_date: date
    new_date: date
    cause: str


def _slips(refresh: DatesRefresh, *, cause: str) -> list[Slip]:
    """The lines of a fresh projection that slipped (one query).

    A line slipped when its projected date is later than the date we told its
    customer, and either that date has passed (overdue) or the plan itself
    changed: the projection *as of the day the date was told* is later too.
    The second test leaves out dates that rest on "today + N days" (lead time,
    an overdue purchase order's grace period) and so move on with the
    calendar by themselves: those are told when their date passes.
    """
    today = refresh.today
    promises = {
        pk: (order_id, promised or first, promised_on or timezone.localdate(placed_at))
        for pk, order_id, promised, first, promised_on, placed_at in OrderLine.objects.filter(
            variant_id__in=list(refresh.availability), quantity_backordered__gt=0
        ).values_list(
            "pk", "order_id", "promised_date", "first_promised_date", "promised_on", "order__placed_at"
        )
    }
    slips = []
    for projection in refresh.lines:
        known = promises.get(projection.line_id)
        if known is None:  # cancelled or allocated meanwhile
            continue
        order_id, promised, promised_on = known
        if promised is None or projection.new_date <= promised:
            continue
        if today > promised:
            why = cause or DelayCause.OVERDUE
        elif refresh.project_as_of(projection, today=min(promised_on, today)) > promised:
            why = cause or DelayCause.RESCHEDULED
        else:
            continue  # only the calendar moved; told when the promised date passes, if still waiting
        slips.append(Slip(projection.line_id, order_id, promised, projection.new_date, why))
    return slips


def _pending_notices(*, order_ids: list[int], now: datetime) -> dict[int, DelayNotice]:
    """The pending notice of each order, created where missing, locked in pk order.

    One pending notice per order is a partial unique constraint, so a
    concurrent creator loses quietly (ignore_conflicts) and we lock the
    winner's row. A notice sent while we waited for its lock is no longer
    pending: the next round creates a fresh one.
    """
    found: dict[int, DelayNotice] = {}
    for _ in range(3):
        missing = [pk for pk in order_ids if pk not in found]
        DelayNotice.objects.bulk_create(
            [DelayNotice(order_id=pk, due_at=now + _quiet()) for pk in missing], ignore_conflicts=True
        )
        locked = DelayNotice.objects.select_for_update().filter(
            order_id__in=missing, status=DelayNoticeStatus.PENDING
        )
        found.update({notice.order_id: notice for notice in locked.order_by("pk")})
        if len(found) == len(order_ids):
            return found
    raise RuntimeError(
        f"could not get a pending delay notice for orders {sorted(set(order_ids) - set(found))}"
    )


def _slips_record(slips: list[Slip], *, purchase_order_id: int | None, now: datetime) -> list[int]:
    """Add the slips to their orders' pending notices; returns the notices that got something new.

    A line already pending keeps its first cause and its old date (what the
    customer was told); its new date follows the projection. A notice that got
    something new waits for a fresh quiet period (never past its maximum wait),
    and for tomorrow morning if its order already had a delay email today.
    """
    if not slips:
        return []
    order_ids = sorted({slip.order_id for slip in slips})
    notices = _pending_notices(order_ids=order_ids, now=now)
    pending = {
        delay.line_id: delay
        for delay in LineDelay.objects.filter(
            line_id__in=[slip.line_id for slip in slips], status=DelayNoticeStatus.PENDING
        )
    }
    created, updated, grew = [], [], set()
    for slip in slips:
        delay = pending.get(slip.line_id)
        if delay is None:
            created.append(
                LineDelay(
                    notice=notices[slip.order_id],
                    line_id=slip.line_id,
                    cause=slip.cause,
                    purchase_order_id=purchase_order_id if slip.cause.startswith("po_") else None,
                    old_date=slip.old_date,
                    new_date=slip.new_date,
                )
            )
            grew.add(slip.order_id)
        elif delay.new_date != slip.new_date:
            delay.new_date = slip.new_date
            updated.append(delay)
            grew.add(slip.order_id)
    LineDelay.objects.bulk_create(created, batch_size=1000)
    LineDelay.objects.bulk_update(updated, ["new_date", "updated_at"], batch_size=1000)
    if not grew:
        return []
    told_today = set(
        DelayNotice.objects.filter(
            order_id__in=grew, status=DelayNoticeStatus.SENT, sent_at__gte=_start_of(timezone.localdate(now))
        ).values_list("order_id", flat=True)
    )
    changed = []
    for order_id in sorted(grew):
        notice = notices[order_id]
        notice.due_at = min(now + _quiet(), notice.created_at + _max_wait())
        if order_id in told_today:
            notice.due_at = max(notice.due_at, _next_day_send_time(now))
        changed.append(notice)
    DelayNotice.objects.bulk_update(changed, ["due_at"], batch_size=1000)
    return [notice.pk for notice in changed]


def delays_detect(
    *, variant_ids: Iterable[int], cause: str = "", purchase_order_id: int | None = None
) -> list[int]:
    """Re-project the queues of these variants and record every line whose date slipped.

    `cause` names what happened (a DelayCause value) when a purchase-order or
    priority change asked for the check; the daily scan passes none, and each
    slip is then "overdue" (its date passed) or "rescheduled". One transaction
    per chunk of variants, holding their locks, so two checks of one variant
    run one after the other. Idempotent: a second run finds the same slips and
    changes nothing. Returns the ids of the notices that got something new.
    """
    ids = sorted(set(variant_ids))
    touched: list[int] = []
    for start in range(0, len(ids), DETECT_CHUNK):
        chunk = ids[start : start + DETECT_CHUNK]
        with transaction.atomic():
            now = timezone.now()
            _lock_variants(chunk)
            refresh = backorder_dates_reproject(variant_ids=chunk, today=timezone.localdate(now))
            touched += _slips_record(
                _slips(refresh, cause=cause), purchase_order_id=purchase_order_id, now=now
            )
    return touched


def delays_scan() -> list[int]:
    """The daily scan: check every variant with waiting lines (overdue lines, and slips a lost message missed)."""
    variant_ids = (
        OrderLine.objects.filter(quantity_backordered__gt=0)
        .order_by("variant_id")
        .values_list("variant_id", flat=True)
        .distinct()
    )
    return delays_detect(variant_ids=list(variant_ids))


# --- telling the customer -----------------------------------------------------------------------


def _delay_message(delays: list[LineDelay]) -> str:
    parts = []
    for delay in delays:
        line = delay.line
        new = "no confirmed date yet" if delay.estimated else date_in_words(delay.new_date)
        if delay.estimated:
            new += f" (our estimate: {date_in_words(delay.new_date)})"
        parts.append(
            f"{delay.units_waiting} × {line.product_name}: was {date_in_words(delay.old_date)}, now {new}"
        )
    return ("Sorry, delayed: " + "; ".join(parts) + ".")[:500]


def _delay_notice_send(*, notice_id: int, refresh: DatesRefresh | None, now: datetime) -> bool:
    """Send one due notice inside the caller's transaction. False when there was nothing to send.

    Each delay is checked again: a line no longer waiting, or whose date came
    back to what the customer was told, is withdrawn. The email row, the
    lines' new promised dates, the timeline event and the notice's state
    commit together.
    """
    notice = (
        DelayNotice.objects.select_for_update()
        .filter(pk=notice_id, status=DelayNoticeStatus.PENDING, due_at__lte=now)
        .first()
    )
    if notice is None:
        return False
    today = timezone.localdate(now)
    delays = list(
        LineDelay.objects.filter(notice=notice, status=DelayNoticeStatus.PENDING)
        .select_related("line")
        .order_by("line_id")
    )
    projections = {p.line_id: p for p in refresh.lines} if refresh else {}
    kept, dropped = [], []
    for delay in delays:
        line = delay.line
        if (
            not line.quantity_backordered
            or line.expected_date is None
            or line.expected_date <= delay.old_date
        ):
            dropped.append(delay.pk)
            continue
        projection = projections.get(line.pk)
        delay.new_date = line.expected_date
        delay.units_waiting = line.quantity_backordered
        delay.estimated = projection is not None and not refresh.covered_by_supply(projection)
        delay.lead_time_days = (
            refresh.availability[line.variant_id].lead_time_days if delay.estimated else None
        )
        kept.append(delay)
    LineDelay.objects.filter(pk__in=dropped).update(status=DelayNoticeStatus.WITHDRAWN)
    if not kept:
        notice.status = DelayNoticeStatus.WITHDRAWN
        notice.save(update_fields=["status"])
        return False
    order = Order.objects.get(pk=notice.order_id)
    notification = notification_create(
        kind=NotificationKind.ORDER_DELAYED,
        recipient=order.email,
        # At most one delay email per order a day, whatever happens above.
        dedupe_key=f"order-delayed:{order.pk}:{today.isoformat()}",
        context={"order_id": order.pk, "notice_id": notice.pk},
    )
    if notification is None:  # this order already had its delay email today: tomorrow morning
        notice.due_at = _next_day_send_time(now)
        notice.save(update_fields=["due_at"])
        return False
    for delay in kept:
        delay.status = DelayNoticeStatus.SENT
    LineDelay.objects.bulk_update(
        kept,
        ["status", "new_date", "units_waiting", "estimated", "lead_time_days", "updated_at"],
        batch_size=500,
    )
    OrderLine.objects.bulk_update(
        [OrderLine(pk=d.line_id, promised_date=d.new_date, promised_on=today) for d in kept],
        ["promised_date", "promised_on"],
        batch_size=500,
    )
    OrderEvent.objects.create(
        order=order,
        kind=OrderEventKind.DELAYED,
        message=_delay_message(kept),
        data={
            "notice": notice.pk,
            "lines": {
                str(d.line_id): {
                    "old": d.old_date.isoformat(),
                    "new": d.new_date.isoformat(),
                    "estimated": d.estimated,
                    "cause": d.cause,
                }
                for d in kept
            },
        },
    )
    notice.status = DelayNoticeStatus.SENT
    notice.sent_at = now
    notice.notification = notification
    notice.save(update_fields=["status", "sent_at", "notification"])
    return True


def delay_notices_send_due(*, limit: int = 500) -> list[int]:
    """Email every pending notice whose quiet period is over; returns the notices emailed.

    The dates are projected once more for all their variants first, so each
    email carries today's answer. One short transaction per notice; running
    it twice (or in two workers) sends each notice once: a notice is locked
    and must still be pending.
    """
    now = timezone.now()
    due = list(
        DelayNotice.objects.filter(status=DelayNoticeStatus.PENDING, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return []
    variant_ids = set(
        LineDelay.objects.filter(notice_id__in=due, status=DelayNoticeStatus.PENDING).values_list(
            "line__variant_id", flat=True
        )
    )
    refresh = (
        backorder_dates_reproject(variant_ids=variant_ids, today=timezone.localdate(now))
        if variant_ids
        else None
    )
    sent = []
    for notice_id in due:
        with transaction.atomic():
            if _delay_notice_send(notice_id=notice_id, refresh=refresh, now=now):
                sent.append(notice_id)
    return sent


# --- the customer's answer ----------------------------------------------------------------------


def _items(delays: Iterable[LineDelay]) -> str:
    return ", ".join(f"{d.units_waiting} × {d.line.product_name}" for d in delays)


@transaction.atomic(durable=True)
def delay_keep_waiting(*, notice_id: int) -> DelayNotice:
    """The customer keeps waiting: record it (once) on the notice and the order's timeline.

    Nothing else changes: the lines keep their place in the queue, and the
    next email comes only if their date moves again. Raises DelayLinkUsed
    when the notice was already answered.
    """
    now = timezone.now()
    claimed = DelayNotice.objects.filter(
        pk=notice_id, status=DelayNoticeStatus.SENT, choice=DelayChoice.NONE
    ).update(choice=DelayChoice.KEEP_WAITING, choice_at=now)
    if not claimed:
        raise DelayLinkUsed("You have already answered this email.")
    notice = DelayNotice.objects.select_related("order").get(pk=notice_id)
    delays = list(notice.line_delays.filter(status=DelayNoticeStatus.SENT).select_related("line"))
    dates = "; ".join(f"{d.line.product_name} now expected by {date_in_words(d.new_date)}" for d in delays)
    OrderEvent.objects.create(
        order=notice.order,
        kind=OrderEventKind.NOTE,
        message=f"You chose to keep waiting for {_items(delays)} ({dates}). Thank you for your patience."[
            :500
        ],
        data={"notice": notice.pk, "choice": DelayChoice.KEEP_WAITING},
    )
    return notice


@dataclass(frozen=True)
class DelayCancelResult:
    order: Order
    quantities: dict[int, int]  # line id -> units cancelled
    amount: Decimal  # released to the customer's payment method


@transaction.atomic(durable=True)
def delay_cancel_waiting(*, notice_id: int) -> DelayCancelResult:
    """Cancel the units of the notice's lines that still wait, and release exactly their price.

    The link's use, the cancellation and the money commit together: allocated
    and shipped units are never touched (only what waits at this moment, read
    under the lines' locks), and if nothing waits any more nothing happens
    and the link stays unused. Raises DelayLinkUsed when it was used before.
    """
    now = timezone.now()
    claimed = (
        DelayNotice.objects.filter(pk=notice_id, status=DelayNoticeStatus.SENT)
        .exclude(choice=DelayChoice.CANCELLED)
        .update(choice=DelayChoice.CANCELLED, choice_at=now)
    )
    if not claimed:
        raise DelayLinkUsed("These items have already been cancelled.")
    notice = DelayNotice.objects.get(pk=notice_id)
    delays = list(notice.line_delays.filter(status=DelayNoticeStatus.SENT).select_related("line"))
    delayed = {d.line_id for d in delays}
    # The same lock the cancellation takes (all the order's lines, pk order), taken first so the
    # units read here are exactly the units cancelled, whatever an allocation pass did meanwhile.
    locked = OrderLine.objects.select_for_update().filter(order_id=notice.order_id).order_by("pk")
    quantities = {
        line.pk: line.quantity_backordered
        for line in locked
        if line.pk in delayed and line.quantity_backordered
    }
    if not quantities:
        raise DelayLinkError(
            "Nothing from this email is waiting any more: it has been reserved for you or shipped, "
            "so there is nothing to cancel."
        )
    try:
        amount = _order_cancel_backordered(
            order_id=notice.order_id, quantities=quantities, user_id=None, by_staff=False
        )
    except OrderActionError as exc:
        raise DelayLinkError(str(exc)) from exc
    order = Order.objects.get(pk=notice.order_id)
    OrderEvent.objects.create(
        order=order,
        kind=OrderEventKind.NOTE,
        message="You chose to cancel the delayed items rather than wait.",
        data={
            "notice": notice.pk,
            "choice": DelayChoice.CANCELLED,
            "lines": {str(k): v for k, v in quantities.items()},
        },
    )
    return DelayCancelResult(order=order, quantities=quantities, amount=amount)


# --- escalation ---------------------------------------------------------------------------------


def delay_digest_send(*, today: date | None = None) -> list[int]:
    """Email each address in STAFF_ALERT_EMAILS the lines waiting too long past their first promised date.

    Once a day per address (dedupe key); nothing when no line is escalated.
    The email lists up to DIGEST_MAX_LINES lines, oldest promise first, and
    always the total. Returns the notifications created.
    """
    today = today or timezone.localdate()
    recipients = getattr(settings, "STAFF_ALERT_EMAILS", [])
    lines = escalated_lines(today=today)
    line_ids = list(lines.values_list("pk", flat=True)[:DIGEST_MAX_LINES])
    if not line_ids or not recipients:
        return []
    total = len(line_ids) if len(line_ids) < DIGEST_MAX_LINES else lines.count()
    context = {"date": today.isoformat(), "line_ids": line_ids, "total": total}
    with transaction.atomic():
        return notification_create_many(
            rows=[
                {
                    "kind": NotificationKind.STAFF_DELAY_DIGEST,
                    "recipient": recipient,
                    "dedupe_key": f"delay-digest:{today.isoformat()}:{recipient.lower()}",
                    "context": context,
                }
                for recipient in recipients
            ]
        )
