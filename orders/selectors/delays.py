"""Delays as staff and customers see them: escalated lines, a delay email's notice and what its cancel
link would release."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from ..models import DelayNotice, DelayNoticeStatus, LineDelay, OrderLine


def escalated_cutoff(*, today: date) -> date:
    """Lines first promised before this day and still waiting are escalated to staff."""
    return today - timedelta(days=getattr(settings, "DELAY_ESCALATE_AFTER_DAYS", 14))


def escalated_lines(*, today: date | None = None) -> QuerySet[OrderLine]:
    """Waiting lines more than DELAY_ESCALATE_AFTER_DAYS past their first promised date, oldest promise first."""
    cutoff = escalated_cutoff(today=today or timezone.localdate())
    return (
        OrderLine.objects.waiting()
        .filter(first_promised_date__lt=cutoff)
        .select_related("order")
        .order_by("first_promised_date", "order__placed_at", "pk")
    )


def delay_notice_for_link(*, notice_id: int) -> DelayNotice | None:
    """A delay notice that was emailed, with its order and delayed lines (for the link pages); else None."""
    return (
        DelayNotice.objects.filter(pk=notice_id, status=DelayNoticeStatus.SENT)
        .select_related("order")
        .prefetch_related(
            Prefetch(
                "line_delays",
                queryset=LineDelay.objects.filter(status=DelayNoticeStatus.SENT).select_related("line"),
                to_attr="delays",
            )
        )
        .first()
    )


@dataclass(frozen=True)
class CancelPreviewLine:
    line: OrderLine
    units: int
    amount: Decimal


def delay_cancel_preview(*, notice: DelayNotice) -> list[CancelPreviewLine]:
    """What "Cancel these items" would cancel now: the waiting units of the notice's lines and their price.

    The same arithmetic as `order_cancel_backordered` (cancelled units are the
    last units of the line), so the page shows the exact amount released.
    """
    preview = []
    for delay in notice.delays:
        line = delay.line
        units = line.quantity_backordered
        if units:
            end = line.quantity - line.quantity_cancelled
            preview.append(
                CancelPreviewLine(line=line, units=units, amount=line.price_of_units(end - units, units))
            )
    return preview
