"""A promise that moves past the customer's need-by date (issue 18 item 5): cancelled and refunded
automatically, or the delay email says the date will be missed and asks; once (orders/delays/need_by.py)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from inventory.services import purchase_order_set_expected_date
from orders.models import DelayNoticeStatus, LineDelay, NeedByAction, OrderEvent, OrderEventKind, Payment
from orders.services import NeedBy
from orders.tasks import send_due_delay_notices
from orders.tests.delays_helpers import (
    T0,
    backorderable,
    day,
    delay_emails,
    link_in,
    purchase_order,
    text_of,
)
from orders.tests.helpers import give_stock, place

pytestmark = pytest.mark.django_db

THURSDAY_12_MARCH = day(10)


@pytest.fixture(autouse=True)
def punctual_suppliers(settings):
    """These tests are about a promise crossing the need-by date, so suppliers are counted on for the
    date they give (no lateness padding, docs/dates.md): each promise is the purchase order's day, as
    in orders/tests/test_delays.py."""
    settings.SUPPLIER_DEFAULT_LATE_P50_DAYS = 0
    settings.SUPPLIER_DEFAULT_LATE_P90_DAYS = 0


@pytest.fixture
def shop():
    """Tents at 100.00, 10 % off those that wait, 2 in stock, 5 due Tuesday 10 March; lamps at
    40.00, none in stock, 5 due Tuesday 10 March."""
    tent = backorderable(backorder_discount_percent=Decimal("10"))
    give_stock(tent, 2)
    lamp = backorderable(name="Desk Lamp", price="40.00")
    return {
        "tent": tent,
        "lamp": lamp,
        "tent_po": purchase_order(tent, 5, day(8)),
        "lamp_po": purchase_order(lamp, 5, day(8)),
    }


def move(commit, po, to):
    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=to)


def send_after_quiet_period(clock, commit, minutes=31):
    clock.move_to(T0 + timedelta(minutes=minutes))
    with commit():
        send_due_delay_notices()


def money(order) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    p = Payment.objects.get(order=order)
    return (p.amount_authorized, p.amount_captured, p.amount_voided, p.amount_refunded)


def units(order) -> dict[str, tuple[int, int, int]]:
    """{product: (allocated, waiting, cancelled)}"""
    return {
        line.product_name: (line.quantity_allocated, line.quantity_backordered, line.quantity_cancelled)
        for line in order.lines.order_by("pk")
    }


def cancelled_emails(mailbox) -> list:
    return [m for m in mailbox if "cancelled" in m.subject.lower()]


def test_a_promise_past_the_date_is_cancelled_and_refunded_exactly_once(shop, clock, commit, mailoutbox):
    # Given Ada needs 5 tents and a lamp by Thursday 12 March and chose automatic cancellation:
    # 2 tents from stock, 3 tents and the lamp due Tuesday 10 March
    order = place(
        [(shop["tent"], 5), (shop["lamp"], 1)],
        email="ada@example.com",
        need_by=NeedBy(THURSDAY_12_MARCH, NeedByAction.CANCEL),
    ).order
    authorized = money(order)[0]
    assert authorized == Decimal("2") * 100 + Decimal("3") * 90 + 40 + order.shipping_cost
    mailoutbox.clear()

    # When the tents' delivery moves to Friday 20 March (past the date) and the lamp's to
    # Wednesday 11 March (still in time), and the quiet period passes
    move(commit, shop["tent_po"], day(18))
    move(commit, shop["lamp_po"], day(9))
    send_after_quiet_period(clock, commit)

    # Then the 3 waiting tents are cancelled and exactly their price is released; the tents in
    # stock and the lamp are untouched
    assert units(order) == {"Alpine Tent": (2, 0, 3), "Desk Lamp": (0, 1, 0)}
    assert money(order) == (authorized, Decimal("0"), Decimal("270.00"), Decimal("0"))
    # And Ada gets one "items cancelled" email saying why, and one delay email for the lamp only
    (cancelled,) = cancelled_emails(mailoutbox)
    text = text_of(cancelled)
    assert (
        "You told us you need these items by Thursday 12 March 2026. They can no longer arrive by then, "
        f"so, as you asked, we have cancelled them from order {order.number}:" in text
    )
    assert "- 3 × Alpine Tent" in text
    (delayed,) = delay_emails(mailoutbox)
    delay_text = text_of(delayed)
    assert (
        "- 1 × Desk Lamp\n  We said: Tuesday 10 March 2026\n  New date: Wednesday 11 March 2026" in delay_text
    )
    assert "Alpine Tent" not in delay_text.split("Still on its way")[0]
    assert "miss that date" not in delay_text
    assert sorted(LineDelay.objects.values_list("line__product_name", "status")) == [
        ("Alpine Tent", DelayNoticeStatus.CANCELLED),
        ("Desk Lamp", DelayNoticeStatus.SENT),
    ]
    note = OrderEvent.objects.get(order=order, kind=OrderEventKind.NOTE)
    assert note.message == (
        "Cancelled automatically, as you asked: 3 × Alpine Tent would now arrive by Friday 20 March 2026, "
        "after Thursday 12 March 2026, the date you need it by."
    )

    # And once: the sender and the delay check again change nothing and send nothing
    send_after_quiet_period(clock, commit, minutes=90)
    move(commit, shop["tent_po"], day(25))
    send_after_quiet_period(clock, commit, minutes=200)
    assert units(order) == {"Alpine Tent": (2, 0, 3), "Desk Lamp": (0, 1, 0)}
    assert money(order)[2] == Decimal("270.00")
    assert len(cancelled_emails(mailoutbox)) == 1
    assert len(delay_emails(mailoutbox)) == 1


def test_only_the_slip_past_the_date_cancels_with_nothing_else_to_tell(shop, clock, commit, mailoutbox):
    order = place(
        [(shop["lamp"], 2)], email="ada@example.com", need_by=NeedBy(THURSDAY_12_MARCH, NeedByAction.CANCEL)
    ).order
    mailoutbox.clear()

    move(commit, shop["lamp_po"], day(11))  # Friday 13 March: one day too late
    send_after_quiet_period(clock, commit)

    assert units(order) == {"Desk Lamp": (0, 0, 2)}
    assert money(order)[2:] == (
        Decimal("80.00") + order.shipping_cost,
        Decimal("0"),
    )  # nothing ships: delivery too
    assert len(cancelled_emails(mailoutbox)) == 1
    assert delay_emails(mailoutbox) == []
    order.refresh_from_db()
    assert order.status == "cancelled"


def test_ask_me_sends_one_delay_email_that_says_the_date_will_be_missed(shop, clock, commit, mailoutbox):
    order = place(
        [(shop["tent"], 5)], email="ada@example.com", need_by=NeedBy(THURSDAY_12_MARCH, NeedByAction.ASK)
    ).order
    before = money(order)
    mailoutbox.clear()

    move(commit, shop["tent_po"], day(18))
    send_after_quiet_period(clock, commit)
    send_after_quiet_period(clock, commit, minutes=90)

    (message,) = delay_emails(mailoutbox)
    text = text_of(message)
    assert (
        "You told us you need Alpine Tent by Thursday 12 March 2026. With the new date we will miss that "
        "date. Would you rather keep waiting, or cancel?" in text
    )
    assert link_in(text, "keep-waiting")
    assert link_in(text, "cancel")
    assert units(order) == {"Alpine Tent": (2, 3, 0)}
    assert money(order) == before
    assert cancelled_emails(mailoutbox) == []


def test_a_slip_that_still_makes_the_date_is_an_ordinary_delay(shop, clock, commit, mailoutbox):
    order = place(
        [(shop["tent"], 5)], email="ada@example.com", need_by=NeedBy(THURSDAY_12_MARCH, NeedByAction.CANCEL)
    ).order
    mailoutbox.clear()

    move(commit, shop["tent_po"], THURSDAY_12_MARCH)
    send_after_quiet_period(clock, commit)

    (message,) = delay_emails(mailoutbox)
    assert "miss that date" not in text_of(message)
    assert units(order) == {"Alpine Tent": (2, 3, 0)}
    assert cancelled_emails(mailoutbox) == []


def test_an_item_ordered_knowing_it_is_late_is_never_cancelled_for_it(shop, clock, commit, mailoutbox):
    # Given Ada needs the tents by Saturday 7 March, was told they are expected 10 March, and ordered anyway
    order = place(
        [(shop["tent"], 5)],
        email="ada@example.com",
        need_by=NeedBy(day(5), NeedByAction.CANCEL, accept_late=True),
    ).order
    mailoutbox.clear()

    # When the delivery moves later still
    move(commit, shop["tent_po"], day(18))
    send_after_quiet_period(clock, commit)

    # Then they keep waiting: an ordinary delay email that says the date is missed, nothing cancelled
    (message,) = delay_emails(mailoutbox)
    assert "You told us you need Alpine Tent by Saturday 7 March 2026." in text_of(message)
    assert units(order) == {"Alpine Tent": (2, 3, 0)}
    assert cancelled_emails(mailoutbox) == []
