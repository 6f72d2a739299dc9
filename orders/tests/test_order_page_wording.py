"""The order page says each thing once (issue 16 item 14): the order's status in one sentence that
says what it means, and each line's units in one phrase per state ("Ready to ship", never "Ready to
ship / 1 ready to ship"). The table below is every combination of line and order statuses
(docs/lifecycle.md) the page can show, with both ship policies where they read differently."""

import re
from datetime import date

import pytest

from orders.lifecycle import Move, line_apply, order_status
from orders.models import LineStatus, OrderLine, OrderStatus
from orders.tests.factories import OrderFactory, OrderLineFactory
from orders.tokens import make_order_token

pytestmark = pytest.mark.django_db

# When the waiting units of the table's lines are expected: a range, the earliest day and the day we
# are 90% sure of (docs/dates.md).
EARLIEST, EXPECTED = date(2026, 12, 30), date(2027, 1, 6)
BY = ", expected to ship 30 December 2026 – 6 January 2027"

WAITING_SPLIT = "Waiting for stock: each item ships as soon as it arrives."
WAITING_TOGETHER = "Waiting for stock: you asked for one parcel, so it ships when the last item arrives."
PARTLY_READY = "Partly ready to ship: what is in stock ships now, the rest as it arrives."
READY = "Ready to ship: everything is in stock and reserved for you, and leaves soon."
PARTLY_SHIPPED_WAITING = "Partly shipped: the rest follows as it arrives."
PARTLY_SHIPPED_READY = "Partly shipped: the rest is ready and leaves soon."
SHIPPED = "Shipped: everything is on its way to you."
SHIPPED_SOME_CANCELLED = "Shipped: everything you did not cancel is on its way to you."
CANCELLED = "Cancelled: nothing of this order will ship."

# (ship policy, each line's units (allocated, waiting, shipped, cancelled)) ->
#     (order status, the page's status sentence, each line's status cell: its phrases)
WORDING = [
    # one line in each line status
    ("split", [(0, 2, 0, 0)], "waiting", WAITING_SPLIT, [[f"Waiting for stock{BY}"]]),
    ("split", [(2, 0, 0, 0)], "ready", READY, [["Ready to ship"]]),
    (
        "split",
        [(1, 1, 0, 0)],
        "partially_ready",
        PARTLY_READY,
        [["1 ready to ship", f"1 waiting for stock{BY}"]],
    ),
    ("split", [(0, 0, 2, 0)], "shipped", SHIPPED, [["Shipped"]]),
    ("split", [(1, 0, 1, 0)], "partially_shipped", PARTLY_SHIPPED_READY, [["1 shipped", "1 ready to ship"]]),
    (
        "split",
        [(0, 1, 1, 0)],
        "partially_shipped",
        PARTLY_SHIPPED_WAITING,
        [["1 shipped", f"1 waiting for stock{BY}"]],
    ),
    ("split", [(0, 0, 0, 2)], "cancelled", CANCELLED, [["Cancelled"]]),
    # cancelled units beside the others
    ("split", [(0, 1, 0, 1)], "waiting", WAITING_SPLIT, [[f"1 waiting for stock{BY}", "1 cancelled"]]),
    ("split", [(1, 0, 0, 1)], "ready", READY, [["1 ready to ship", "1 cancelled"]]),
    ("split", [(0, 0, 1, 1)], "shipped", SHIPPED_SOME_CANCELLED, [["1 shipped", "1 cancelled"]]),
    (
        "split",
        [(1, 1, 1, 1)],
        "partially_shipped",
        PARTLY_SHIPPED_WAITING,
        [["1 shipped", "1 ready to ship", f"1 waiting for stock{BY}", "1 cancelled"]],
    ),
    # several lines
    (
        "split",
        [(2, 0, 0, 0), (0, 3, 0, 0)],
        "partially_ready",
        PARTLY_READY,
        [["Ready to ship"], [f"Waiting for stock{BY}"]],
    ),
    ("split", [(2, 0, 0, 0), (0, 0, 0, 1)], "ready", READY, [["Ready to ship"], ["Cancelled"]]),
    (
        "split",
        [(0, 0, 2, 0), (0, 1, 0, 0)],
        "partially_shipped",
        PARTLY_SHIPPED_WAITING,
        [["Shipped"], [f"Waiting for stock{BY}"]],
    ),
    ("split", [(0, 0, 2, 0), (0, 0, 0, 1)], "shipped", SHIPPED_SOME_CANCELLED, [["Shipped"], ["Cancelled"]]),
    # ships together: units in stock wait for the rest, and are not "ready to ship"
    ("together", [(0, 2, 0, 0)], "waiting", WAITING_TOGETHER, [[f"Waiting for stock{BY}"]]),
    (
        "together",
        [(1, 1, 0, 0)],
        "waiting",
        WAITING_TOGETHER,
        [["1 reserved for you, ship with the rest", f"1 waiting for stock{BY}"]],
    ),
    (
        "together",
        [(2, 0, 0, 0), (0, 1, 0, 0)],
        "waiting",
        WAITING_TOGETHER,
        [["Reserved for you, ship with the rest"], [f"Waiting for stock{BY}"]],
    ),
    ("together", [(2, 0, 0, 0), (0, 0, 0, 1)], "ready", READY, [["Ready to ship"], ["Cancelled"]]),
    ("together", [(0, 0, 2, 0)], "shipped", SHIPPED, [["Shipped"]]),
    ("together", [(0, 0, 0, 1)], "cancelled", CANCELLED, [["Cancelled"]]),
]


def an_order(policy: str, lines: list[tuple[int, int, int, int]]):
    order = OrderFactory(ship_policy=policy)
    made = []
    for allocated, waiting, shipped, cancelled in lines:
        line = OrderLineFactory(
            order=order,
            quantity=allocated + waiting + shipped + cancelled,
            quantity_allocated=allocated,
            quantity_backordered=waiting,
            quantity_shipped=shipped,
            quantity_cancelled=cancelled,
            expected_date=EXPECTED if waiting else None,
            expected_earliest_date=EARLIEST if waiting else None,
        )
        line_apply(line, Move())  # the line's status, from its units
        line.save(update_fields=["status"])
        made.append(line)
    order.status = order_status(made, ship_policy=policy)
    order.save(update_fields=["status"])
    return order


def page_text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


@pytest.mark.parametrize(("policy", "lines", "status", "sentence", "cells"), WORDING)
def test_the_order_page_says_each_thing_once(client, policy, lines, status, sentence, cells):
    # given
    order = an_order(policy, lines)
    assert order.status == status  # the table covers the status it says it does

    # when
    response = client.get(order.get_absolute_url(), {"token": make_order_token(order.number)})

    # then
    content = response.content.decode()
    [said] = re.findall(r'<p class="order-status"><strong>(.*?)</strong></p>', content, re.S)
    assert page_text(said) == sentence
    # A waiting line's place in its queue follows its status (orders/tests/test_queue_place.py).
    status_cells = [
        cell.split('<br><small class="text-body-secondary queue-place">')[0]
        for cell in re.findall(r'<td class="line-status">(.*?)</td>', content, re.S)
    ]
    shown = [
        [page_text(item) for item in re.findall(r"<li>(.*?)</li>", cell)] or [page_text(cell)]
        for cell in status_cells
    ]
    assert shown == cells


def test_the_table_covers_every_order_status_and_line_status():
    order_statuses = {status for _, _, status, _, _ in WORDING}
    line_statuses = set()
    for _, lines, _, _, _ in WORDING:
        for allocated, waiting, shipped, cancelled in lines:
            line = OrderLine(
                quantity=allocated + waiting + shipped + cancelled,
                quantity_allocated=allocated,
                quantity_backordered=waiting,
                quantity_shipped=shipped,
                quantity_cancelled=cancelled,
            )
            line_statuses.add(line_apply(line, Move()))
    assert order_statuses == set(OrderStatus.values)
    assert line_statuses == set(LineStatus.values)
