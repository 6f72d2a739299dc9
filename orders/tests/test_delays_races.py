"""PostgreSQL races: "Cancel these items" from a delay email against an allocation pass serving the same line,
against the delay check of a purchase order moved again, and against the customer cancelling on the order page.

Whichever commits first, the numbers add up: each line's quantities, the stock
and its ledger, the money released equals the price of the units cancelled,
and each delay is told once. The cancel link reads the units still waiting
under the order lines' lock (`orders.locks.order_lines_of_order_lock`, `FOR NO
KEY UPDATE`), so whatever committed before it, it cancels exactly those.
"""

import time
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
import time_machine

from config.testing import run_together
from inventory.models import Allocation, MovementReason, StockItem, StockMovement
from inventory.selectors import ledger_discrepancies
from inventory.services import purchase_order_set_expected_date, stock_adjust
from inventory.tests.promises import from_purchase_order
from notifications.models import Notification, NotificationKind
from orders.delays import delay_cancel_waiting, delay_notices_send_due
from orders.models import DelayChoice, DelayNotice, DelayNoticeStatus, OrderLine, Payment
from orders.services import OrderActionError, allocation_serve_queue, order_cancel_backordered
from orders.tests.delays_helpers import T0, backorderable, day, purchase_order, waiting_order
from orders.tests.helpers import give_stock

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def numbers(line: OrderLine) -> tuple[int, int, int, int]:
    line.refresh_from_db()
    return (
        line.quantity_allocated,
        line.quantity_backordered,
        line.quantity_shipped,
        line.quantity_cancelled,
    )


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0):  # the clock ticks: the threads run for real
        yield


@pytest.mark.parametrize("attempt", range(4))
def test_cancel_from_a_delay_email_racing_an_allocation_pass_leaves_consistent_numbers(settings, attempt):
    # Given Xavier ordered 5 tents at 50.00 (1 from stock, 4 waiting) and Yvonne 3 (all waiting),
    # both told of a delay; then 3 tents arrive, not yet allocated
    settings.DELAY_NOTIFY_QUIET_MINUTES = 0
    tent = backorderable(price="50.00")
    warehouse = give_stock(tent, 1)
    po = purchase_order(tent, 10, day(8))
    xavier = waiting_order(tent, 5, email="xavier@example.com")
    yvonne = waiting_order(tent, 3, email="yvonne@example.com")
    purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(20))
    notice = DelayNotice.objects.get(order=xavier)
    x_line, y_line = xavier.lines.get(), yvonne.lines.get()
    assert (numbers(x_line), numbers(y_line)) == ((1, 4, 0, 0), (0, 3, 0, 0))
    with mock.patch("inventory.services.ledger.allocation_request_add"):
        stock_adjust(variant_id=tent.pk, warehouse_id=warehouse.pk, quantity_change=3)

    # When Xavier cancels from the email while an allocation pass serves the queue
    cancelled, served = run_together(
        [
            lambda: delay_cancel_waiting(notice_id=notice.pk),
            lambda: allocation_serve_queue(variant_ids=[tent.pk], run_id=f"race{attempt}"),
        ]
    )
    assert not isinstance(cancelled, Exception), cancelled
    assert not isinstance(served, Exception), served
    allocation_serve_queue(variant_ids=[tent.pk], run_id=f"after{attempt}")  # whatever is still free

    # Then either the pass served Xavier first (3 more for him, 1 cancelled) or the cancel did (4 cancelled,
    # Yvonne served), and nothing in between
    outcome = (numbers(x_line), numbers(y_line))
    assert outcome in (
        ((4, 0, 0, 1), (0, 3, 0, 0)),  # allocation first
        ((1, 0, 0, 4), (3, 0, 0, 0)),  # cancel first
    )
    x_cancelled = outcome[0][3]
    assert cancelled.quantities == {x_line.pk: x_cancelled}
    # The money: exactly the cancelled units' price is voided, nothing captured or refunded
    payment = Payment.objects.get(order=xavier)
    assert (payment.amount_voided, payment.amount_captured, payment.amount_refunded) == (
        Decimal("50.00") * x_cancelled,
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert cancelled.amount == Decimal("50.00") * x_cancelled
    # The stock: 4 on hand, all allocated, allocations match the lines, the ledger explains it
    item = StockItem.objects.get(variant=tent)
    assert (item.on_hand, item.allocated) == (4, 4)
    assert sum(Allocation.objects.filter(stock_item=item).values_list("quantity", flat=True)) == 4
    assert ledger_discrepancies() == []
    notice.refresh_from_db()
    assert notice.choice == DelayChoice.CANCELLED


def emails_of(kind: str, *orders) -> tuple[int, ...]:
    """How many emails of this kind each order got (outbox rows)."""
    return tuple(Notification.objects.filter(kind=kind, context__order_id=o.pk).count() for o in orders)


# The cancel starts this long after the others: the pass runs only once the stock change has committed,
# so across the attempts the cancel lands before, during and after it.
CANCEL_OFFSETS = (0.0, 0.05, 0.1, 0.2, 0.4)


def after(seconds: float, function):
    def call():
        time.sleep(seconds)
        return function()

    return call


@pytest.mark.parametrize("offset", CANCEL_OFFSETS)
def test_cancel_link_stock_arriving_and_the_supplier_moving_the_date_again_at_once(settings, offset):
    # Given Xavier ordered 5 tents at 50.00 (1 from stock, 4 waiting) and Yvonne 3 (all waiting), both
    # told this morning that the purchase order moved from the 10th to the 22nd
    settings.DELAY_NOTIFY_QUIET_MINUTES = 0
    tent = backorderable(price="50.00")
    warehouse = give_stock(tent, 1)
    po = purchase_order(tent, 10, day(8))
    xavier = waiting_order(tent, 5, email="xavier@example.com")
    yvonne = waiting_order(tent, 3, email="yvonne@example.com")
    purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(20))
    notice = DelayNotice.objects.get(order=xavier)
    x_line, y_line = xavier.lines.get(), yvonne.lines.get()
    assert (numbers(x_line), numbers(y_line)) == ((1, 4, 0, 0), (0, 3, 0, 0))
    assert DelayNotice.objects.filter(status=DelayNoticeStatus.SENT).count() == 2

    # When, at the same moment, Xavier cancels from the email, 3 tents arrive (the allocation pass runs
    # after the commit) and the supplier moves the purchase order again, to 1 April: past the date told
    # this morning (the 22nd + the default p90 lateness), so a slip by the supplier's own date (the
    # delay check runs after the commit; docs/dates.md, "When a delay is told")
    cancelled, adjusted, moved = run_together(
        [
            after(offset, lambda: delay_cancel_waiting(notice_id=notice.pk)),
            lambda: stock_adjust(variant_id=tent.pk, warehouse_id=warehouse.pk, quantity_change=3),
            lambda: purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(30)),
        ]
    )
    # Then nobody deadlocked or was refused
    for outcome in (cancelled, adjusted, moved):
        assert not isinstance(outcome, Exception), outcome
    allocation_serve_queue(variant_ids=[tent.pk], run_id="after")  # finds nothing left to do
    with time_machine.travel(T0 + timedelta(days=1)):  # the next morning: new delays are told
        delay_notices_send_due()

    # Either the pass served Xavier first (3 more for him, 1 cancelled; Yvonne still waits, now for
    # 1 April, and is told so once) or the cancel did (4 cancelled, Yvonne served, no second delay email)
    outcome = (numbers(x_line), numbers(y_line))
    assert outcome in (
        ((4, 0, 0, 1), (0, 3, 0, 0)),  # allocation first
        ((1, 0, 0, 4), (3, 0, 0, 0)),  # cancel first
    )
    allocation_first = outcome[0][0] == 4
    x_cancelled = outcome[0][3]
    assert cancelled.quantities == {x_line.pk: x_cancelled}
    assert cancelled.amount == Decimal("50.00") * x_cancelled
    payment = Payment.objects.get(order=xavier)
    assert (payment.amount_voided, payment.amount_captured, payment.amount_refunded) == (
        Decimal("50.00") * x_cancelled,
        Decimal("0.00"),
        Decimal("0.00"),
    )
    # The stock: 4 on hand, all allocated, allocations match the lines, the ledger explains it: the
    # first unit, its allocation at checkout, the 3 that arrived, their allocation by the pass
    item = StockItem.objects.get(variant=tent)
    assert (item.on_hand, item.allocated) == (4, 4)
    assert sum(Allocation.objects.filter(stock_item=item).values_list("quantity", flat=True)) == 4
    assert list(
        StockMovement.objects.filter(stock_item=item)
        .order_by("pk")
        .values_list("reason", "on_hand_delta", "allocated_delta")
    ) == [
        (MovementReason.ADJUSTED, 1, 0),
        (MovementReason.ALLOCATED, 0, 1),
        (MovementReason.ADJUSTED, 3, 0),
        (MovementReason.ALLOCATED, 0, 3),
    ]
    assert ledger_discrepancies() == []
    # The delays: nothing left pending (a slip of a line that no longer waits was withdrawn), one more
    # email for Yvonne only when she still waits, with the new date
    assert not DelayNotice.objects.filter(status=DelayNoticeStatus.PENDING).exists()
    sent = {
        order.pk: DelayNotice.objects.filter(order=order, status=DelayNoticeStatus.SENT).count()
        for order in (xavier, yvonne)
    }
    assert sent == {xavier.pk: 1, yvonne.pk: 2 if allocation_first else 1}
    assert emails_of(NotificationKind.ORDER_DELAYED, xavier, yvonne) == (
        (1, 2) if allocation_first else (1, 1)
    )
    y_line.refresh_from_db()
    # The promise is the confident end: the purchase order's date + the default p90 lateness, 7 days,
    # on a shipping day (docs/dates.md)
    assert y_line.promised_date == from_purchase_order(day(30) if allocation_first else day(20)).confident
    # The other emails: Xavier's cancellation, and the allocation of whoever got the tents
    assert emails_of(NotificationKind.ORDER_CANCELLED, xavier, yvonne) == (1, 0)
    assert emails_of(NotificationKind.BACKORDER_ALLOCATED, xavier, yvonne) == (
        (1, 0) if allocation_first else (0, 1)
    )
    notice.refresh_from_db()
    assert notice.choice == DelayChoice.CANCELLED


@pytest.mark.parametrize("attempt", range(3))
def test_cancel_link_and_a_cancellation_on_the_order_page_at_once(settings, attempt):
    # Given Xavier ordered 5 tents at 50.00 (1 from stock, 4 waiting) and was told of a delay
    settings.DELAY_NOTIFY_QUIET_MINUTES = 0
    tent = backorderable(price="50.00")
    give_stock(tent, 1)
    po = purchase_order(tent, 10, day(8))
    xavier = waiting_order(tent, 5, email="xavier@example.com")
    purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(20))
    notice = DelayNotice.objects.get(order=xavier)
    line = xavier.lines.get()

    # When he cancels 2 of them on the order page while he also clicks "Cancel these items" in the email
    on_page, from_link = run_together(
        [
            lambda: order_cancel_backordered(order_id=xavier.pk, quantities={line.pk: 2}),
            lambda: delay_cancel_waiting(notice_id=notice.pk),
        ]
    )

    # Then the link cancels exactly what still waited when it ran: the 2 left after the page, or all 4
    # (and the page is then told that nothing waits any more); never more, never an error from the link
    assert not isinstance(from_link, Exception), from_link
    if isinstance(on_page, Exception):  # the link first
        assert isinstance(on_page, OrderActionError)
        assert str(on_page) == "Only 0 of Alpine Tent are still waiting and can be cancelled."
        assert from_link.quantities == {line.pk: 4}
        cancellations = 1
    else:  # the page first
        assert on_page == Decimal("100.00")
        assert from_link.quantities == {line.pk: 2}
        cancellations = 2
    assert from_link.amount == Decimal("50.00") * sum(from_link.quantities.values())
    assert numbers(line) == (1, 0, 0, 4)
    payment = Payment.objects.get(order=xavier)
    assert (payment.amount_voided, payment.amount_captured, payment.amount_refunded) == (
        Decimal("200.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert emails_of(NotificationKind.ORDER_CANCELLED, xavier) == (cancellations,)
    # Stock is not touched: only units that waited were cancelled
    item = StockItem.objects.get(variant=tent)
    assert (item.on_hand, item.allocated) == (1, 1)
    assert StockMovement.objects.filter(stock_item=item).count() == 2  # the unit, its allocation
    assert ledger_discrepancies() == []
