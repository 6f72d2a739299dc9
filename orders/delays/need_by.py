"""A promise that moves past the customer's need-by date: the shop does what they chose at checkout.

The customer may give a need-by date for the waiting items of an order and choose what happens
if we cannot make it (`Order.need_by`, `Order.need_by_action`; docs/delays.md). A line's promise
*crosses* the date when the date we told was on or before it and the new one is after it
(`orders.selectors.need_by.need_by_crossed`); a line already promised after it when ordered (the
customer ordered it knowing so) never crosses it.

The delay check records the slip as for any other line (`detect`); when its notice is sent
(`notices._delay_notice_send`, holding the notice's lock), `need_by_cancel_crossed` runs first:

* *cancel automatically*: the crossed lines' waiting units are cancelled through the cancellation
  service (`_order_cancel_backordered`: exactly their price voided or refunded, for every payment
  method, and the "items cancelled" email saying why); their delays are marked cancelled, not
  emailed, and the rest of the notice is emailed as usual (or nothing, if nothing is left);
* *ask me*: nothing happens here; the delay email says the date will be missed and offers the
  keep-waiting and cancel links (`orders.emails.order_delayed_context`).

Once: the notice is locked and must still be pending, and a cancelled delay is never pending again.
Lock order: the notice (the caller's) → the order's lines → the order → the payment, as the
delay email's cancel link (`links.delay_cancel_waiting`).
"""

from shop.formatting import date_in_words

from ..choices import NeedByAction
from ..event_words import event_words_build, event_words_items, iso
from ..locks import order_lines_of_order_lock
from ..models import DelayNoticeStatus, LineDelay, Order, OrderEvent, OrderEventKind
from ..selectors.need_by import need_by_crossed
from ..services.cancellation import _order_cancel_backordered


def need_by_cancel_crossed(*, order: Order, delays: list[LineDelay]) -> list[LineDelay]:
    """Cancel the waiting units of the delays whose promise crossed the order's need-by date, when
    its customer chose automatic cancellation; returns the delays still to be emailed. Runs inside
    the caller's transaction, which holds the notice's lock."""
    if order.need_by_action != NeedByAction.CANCEL:
        return delays
    crossed = [
        d for d in delays if need_by_crossed(need_by=order.need_by, old_date=d.old_date, new_date=d.new_date)
    ]
    if not crossed:
        return delays
    lines = {d.line_id for d in crossed}
    # The same lock the cancellation takes (all the order's lines, pk order), taken first so the
    # units read here are exactly the units cancelled, whatever an allocation pass did meanwhile.
    quantities = {
        line.pk: line.quantity_backordered
        for line in order_lines_of_order_lock(order.pk)
        if line.pk in lines and line.quantity_backordered
    }
    if quantities:
        _order_cancel_backordered(
            order_id=order.pk,
            quantities=quantities,
            user_id=None,
            by_staff=False,
            email_context={"need_by": order.need_by.isoformat()},
        )
        named = ", ".join(
            f"{quantities[d.line_id]} × {d.line.product_name}" for d in crossed if d.line_id in quantities
        )
        latest = max(d.new_date for d in crossed if d.line_id in quantities)
        OrderEvent.objects.create(
            order=order,
            kind=OrderEventKind.NOTE,
            message=(
                f"Cancelled automatically, as you asked: {named} would now arrive by "
                f"{date_in_words(latest, weekday=True)}, after {date_in_words(order.need_by, weekday=True)}, "
                "the date you need it by."
            )[:500],
            data={
                "need_by": order.need_by.isoformat(),
                "lines": {str(k): v for k, v in quantities.items()},
                "words": event_words_build(
                    key="need_by_cancelled",
                    items=event_words_items(
                        (quantities[d.line_id], d.line.product_name)
                        for d in crossed
                        if d.line_id in quantities
                    ),
                    latest=iso(latest),
                    need_by=iso(order.need_by),
                ),
            },
        )
    for delay in crossed:
        delay.status = DelayNoticeStatus.CANCELLED
        delay.units_waiting = quantities.get(delay.line_id, 0)
    LineDelay.objects.bulk_update(
        crossed, ["status", "new_date", "units_waiting", "updated_at"], batch_size=500
    )
    return [d for d in delays if d.line_id not in lines]
