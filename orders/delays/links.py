"""The customer's answer to a delay email: "Keep waiting" or "Cancel these items".

Each acts on a signed link (`orders.tokens`, checked by the view) and records
its use on the notice with a conditional UPDATE, so a link works once.

Lock order of the cancel: the delay notice (by its UPDATE) → the order's lines
(`orders.locks.order_lines_of_order_lock`) → the order → the payment.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shop.formatting import ships_in_words

from ..event_words import event_words_build, iso
from ..locks import order_lines_of_order_lock
from ..models import DelayChoice, DelayNotice, DelayNoticeStatus, LineDelay, Order, OrderEvent, OrderEventKind
from ..services.cancellation import _order_cancel_backordered
from ..services.errors import OrderActionError
from ..wording import MoneyReleased, stored_words


class DelayLinkError(Exception):
    """The action behind a delay-email link cannot be done; the message is for the customer."""


class DelayLinkUsed(DelayLinkError):
    """The link was used before (single use)."""


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
    with stored_words():  # the event's words are English (docs/i18n.md)
        dates = "; ".join(
            f"{d.line.product_name} now {ships_in_words(d.new_earliest_date, d.new_date)}" for d in delays
        )
    OrderEvent.objects.create(
        order=notice.order,
        kind=OrderEventKind.NOTE,
        message=f"You chose to keep waiting for {_items(delays)} ({dates}). Thank you for your patience."[
            :500
        ],
        data={
            "notice": notice.pk,
            "choice": DelayChoice.KEEP_WAITING,
            "words": event_words_build(
                key="kept_waiting",
                lines=[
                    {
                        "count": d.units_waiting,
                        "name": d.line.product_name,
                        "earliest": iso(d.new_earliest_date),
                        "latest": iso(d.new_date),
                    }
                    for d in delays
                ],
            ),
        },
    )
    return notice


@dataclass(frozen=True)
class DelayCancelResult:
    order: Order
    quantities: dict[int, int]  # line id -> units cancelled
    released: MoneyReleased  # what became of their price (voided, refunded): `orders.wording`

    @property
    def amount(self) -> Decimal:
        """The price of the units cancelled."""
        return self.released.total


@transaction.atomic(durable=True)
def delay_cancel_waiting(*, notice_id: int) -> DelayCancelResult:
    """Cancel the units of the notice's lines that still wait, and release exactly their price
    (voided from what is reserved; refunded if it was charged: `DelayCancelResult.released`).

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
    quantities = {
        line.pk: line.quantity_backordered
        for line in order_lines_of_order_lock(notice.order_id)
        if line.pk in delayed and line.quantity_backordered
    }
    if not quantities:
        raise DelayLinkError(
            _(
                "Nothing from this email is waiting any more: it has been reserved for you or shipped, "
                "so there is nothing to cancel."
            )
        )
    try:
        outcome = _order_cancel_backordered(
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
    return DelayCancelResult(order=order, quantities=quantities, released=outcome.released)
