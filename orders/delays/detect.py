"""Finding slips: waiting lines whose projected date is later than the date their customer was told.

`delays_detect` re-projects the backorder queue of some variants with
`inventory.services.backorder_dates_reproject` (`backorder_dates_refresh`, the
projection every page uses, returning what it saw) and compares each waiting
line's new date with `OrderLine.promised_date`. A slip becomes a pending
`LineDelay` on the order's pending `DelayNotice`, whose due time moves to now +
the quiet period. Purchase-order changes and priority changes run it after
commit (`orders.tasks.check_delays`); the daily scan (`delays_scan`) runs it
for every variant with waiting lines.

Locks: the variants of a chunk (`inventory.locks.variants_lock`), then the
orders' pending notices (`orders.locks.delay_notices_pending_lock`).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from inventory.locks import variants_lock
from orders.services.dates import DatesRefresh, backorder_dates_preview, backorder_dates_reproject

from ..locks import delay_notices_pending_lock
from ..models import DelayCause, DelayNotice, DelayNoticeStatus, LineDelay, OrderLine
from .schedule import max_wait, next_day_send_time, quiet_period, start_of

DETECT_CHUNK = 500  # variants per detection transaction (the daily scan covers them all)


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

    A line slipped when its projected date (the confident end) is later than
    the date we told its customer, and either that date has passed (overdue:
    certainly late) or the facts changed so much that the line is late even
    by the suppliers' own dates, with no lateness allowed for, *as of the day
    the date was told*: a supplier's new date past it, a larger queue ahead.
    What only our allowance for lateness says (a supplier's history, an
    overdue purchase order's wait, a lead time moving on with the calendar)
    widens the range without being told as a slip: it may still hold, and the
    customer hears if the date told passes and the line still waits.
    docs/dates.md, "When a delay is told".
    """
    today = refresh.today
    waiting = OrderLine.objects.waiting().filter(variant_id__in=list(refresh.availability))
    promises = {
        pk: (order_id, promised or first, promised_on or timezone.localdate(placed_at))
        for pk, order_id, promised, first, promised_on, placed_at in waiting.values_list(
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
        elif refresh.stated_as_of(projection, today=min(promised_on, today)) > promised:
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
            [DelayNotice(order_id=pk, due_at=now + quiet_period()) for pk in missing], ignore_conflicts=True
        )
        found.update({notice.order_id: notice for notice in delay_notices_pending_lock(missing)})
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
            order_id__in=grew, status=DelayNoticeStatus.SENT, sent_at__gte=start_of(timezone.localdate(now))
        ).values_list("order_id", flat=True)
    )
    changed = []
    for order_id in sorted(grew):
        notice = notices[order_id]
        notice.due_at = min(now + quiet_period(), notice.created_at + max_wait())
        if order_id in told_today:
            notice.due_at = max(notice.due_at, next_day_send_time(now))
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
            variants_lock(chunk)
            refresh = backorder_dates_reproject(variant_ids=chunk, today=timezone.localdate(now))
            touched += _slips_record(
                _slips(refresh, cause=cause), purchase_order_id=purchase_order_id, now=now
            )
    return touched


def delays_preview(*, variant_ids: Iterable[int]) -> list[Slip]:
    """The slips `delays_detect` would record for these variants now, writing and locking nothing.

    For staff who just changed a purchase order in this transaction: the lines
    whose customers the delay check will tell (after commit) about a later date.
    The same projection and the same test (`_slips`) as the check itself.
    """
    return _slips(backorder_dates_preview(variant_ids=sorted(set(variant_ids))), cause="")


def delays_scan() -> list[int]:
    """The daily scan: check every variant with waiting lines (overdue lines, and slips a lost message missed)."""
    variant_ids = (
        OrderLine.objects.waiting().order_by("variant_id").values_list("variant_id", flat=True).distinct()
    )
    return delays_detect(variant_ids=list(variant_ids))
