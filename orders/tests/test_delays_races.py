"""PostgreSQL races: "Cancel these items" from a delay email against an allocation pass serving the same line.

Whichever commits first, the numbers add up: each line's quantities, the stock
and its ledger, and the money released equals the price of the units cancelled.
"""

from decimal import Decimal
from unittest import mock

import pytest
import time_machine

from config.testing import run_together
from inventory.models import Allocation, StockItem
from inventory.selectors import ledger_discrepancies
from inventory.services import allocation_serve_queue, purchase_order_set_expected_date, stock_adjust
from orders.delays import delay_cancel_waiting
from orders.models import DelayChoice, DelayNotice, OrderLine, Payment
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
    with mock.patch("inventory.services._enqueue_stock_arrived"):
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
