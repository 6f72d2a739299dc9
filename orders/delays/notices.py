"""Telling the customer: email each due delay notice once, at most one delay email per order a day.

`delay_notices_send_due` projects the dates of all due notices' variants once
more, then sends each notice in its own short transaction: a line that no
longer waits, or whose date came back to what the customer was told, is
withdrawn; otherwise the email row, the lines' new promised dates, a "Delayed"
timeline event and the notice's state commit together.

Locks: the notice (`orders.locks.delay_notice_due_lock`), then the order lines
whose promised dates move (by their UPDATE).
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from notifications.models import NotificationKind
from notifications.services.outbox import notification_create
from orders.services.dates import DatesRefresh, backorder_dates_reproject
from shop.formatting import date_in_words, date_range_in_words

from ..event_words import event_words_build, iso
from ..events import backorder_dates_told
from ..locks import delay_notice_due_lock
from ..models import DelayNotice, DelayNoticeStatus, LineDelay, Order, OrderEvent, OrderEventKind, OrderLine
from .need_by import need_by_cancel_crossed
from .schedule import next_day_send_time


def _delay_message(delays: list[LineDelay]) -> str:
    """The timeline event's stored words: English, whatever language is active (docs/i18n.md)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _delay_message_words(delays)


def _delay_message_words(delays: list[LineDelay]) -> str:
    parts = []
    for delay in delays:
        line = delay.line
        new_range = date_range_in_words(delay.new_earliest_date, delay.new_date)
        new = f"no confirmed date yet (our estimate: {new_range})" if delay.estimated else new_range
        parts.append(
            f"{delay.units_waiting} × {line.product_name}: was {date_in_words(delay.old_date, weekday=True)}, now {new}"
        )
    return ("Sorry, delayed: " + "; ".join(parts) + ".")[:500]


def _delay_notice_send(*, notice_id: int, refresh: DatesRefresh | None, now: datetime) -> bool:
    """Send one due notice inside the caller's transaction. False when there was nothing to send.

    Each delay is checked again: a line no longer waiting, or whose date came
    back to what the customer was told, is withdrawn. The email row, the
    lines' new promised dates, the timeline event and the notice's state
    commit together.
    """
    notice = delay_notice_due_lock(notice_id, now=now)
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
        delay.new_earliest_date = line.expected_earliest_date
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
    # A promise past the customer's need-by date: cancelled now if they chose so (orders.delays.need_by).
    kept = need_by_cancel_crossed(order=order, delays=kept)
    if not kept:  # all cancelled: the "items cancelled" email tells them, not a delay email
        notice.status, notice.sent_at = DelayNoticeStatus.SENT, now
        notice.save(update_fields=["status", "sent_at"])
        return True
    notification = notification_create(
        kind=NotificationKind.ORDER_DELAYED,
        recipient=order.email,
        # At most one delay email per order a day, whatever happens above.
        dedupe_key=f"order-delayed:{order.pk}:{today.isoformat()}",
        language=order.language,
        context={"order_id": order.pk, "notice_id": notice.pk},
    )
    if notification is None:  # this order already had its delay email today: tomorrow morning
        notice.due_at = next_day_send_time(now)
        notice.save(update_fields=["due_at"])
        return False
    for delay in kept:
        delay.status = DelayNoticeStatus.SENT
    LineDelay.objects.bulk_update(
        kept,
        [
            "status",
            "new_date",
            "new_earliest_date",
            "units_waiting",
            "estimated",
            "lead_time_days",
            "updated_at",
        ],
        batch_size=500,
    )
    OrderLine.objects.bulk_update(
        [OrderLine(pk=d.line_id, promised_date=d.new_date, promised_on=today) for d in kept],
        ["promised_date", "promised_on"],
        batch_size=500,
    )
    delayed_event = OrderEvent.objects.create(
        order=order,
        kind=OrderEventKind.DELAYED,
        message=_delay_message(kept),
        data={
            "notice": notice.pk,
            "words": event_words_build(
                key="delayed",
                lines=[
                    {
                        "count": d.units_waiting,
                        "name": d.line.product_name,
                        "old": iso(d.old_date),
                        "new": iso(d.new_date),
                        "new_earliest": iso(d.new_earliest_date),
                        "estimated": d.estimated,
                    }
                    for d in kept
                ],
            ),
            "lines": {
                str(d.line_id): {
                    "old": d.old_date.isoformat(),
                    "new": d.new_date.isoformat(),
                    "new_earliest": d.new_earliest_date.isoformat() if d.new_earliest_date else None,
                    "estimated": d.estimated,
                    "cause": d.cause,
                }
                for d in kept
            },
        },
    )
    backorder_dates_told.send(order_id=order.pk, order_event_id=delayed_event.pk)
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
