"""Detecting delays and telling the customer: each cause, one email per order, the debounce, the daily scan."""

from datetime import timedelta

import pytest

from inventory.services import purchase_order_cancel, purchase_order_receive, purchase_order_set_expected_date
from notifications.models import Notification, NotificationKind
from orders.models import DelayCause, DelayNotice, DelayNoticeStatus, LineDelay, OrderEvent, OrderEventKind
from orders.services import order_set_priority
from orders.tasks import check_delays, scan_delays, send_due_delay_notices
from orders.tests.delays_helpers import (
    LEAD_TIME,
    T0,
    backorderable,
    day,
    delay_emails,
    purchase_order,
    text_of,
    waiting_order,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def punctual_suppliers(settings):
    """These tests are about when a delay is told, so suppliers are counted on for the date they give
    (no lateness padding): each promise is one day, the purchase order's (docs/dates.md). The first
    test keeps the shop's default lateness and checks the ranges it gives."""
    settings.SUPPLIER_DEFAULT_LATE_P50_DAYS = 0
    settings.SUPPLIER_DEFAULT_LATE_P90_DAYS = 0


def later(clock, **delta):
    clock.move_to(T0 + timedelta(**delta))


def send_due(commit):
    with commit():
        send_due_delay_notices()


def told(order) -> list:
    return [(line.promised_date, line.expected_date) for line in order.lines.order_by("pk")]


# --- each cause: one email per order, with the date told and the new one ------------------------


def test_a_later_purchase_order_date_emails_each_waiting_order_once(clock, commit, mailoutbox, settings):
    # The shop's default lateness for a supplier not learned yet: 2 days typical, 7 days 9 times in 10
    settings.SUPPLIER_DEFAULT_LATE_P50_DAYS, settings.SUPPLIER_DEFAULT_LATE_P90_DAYS = 2, 7
    # Given a purchase order of 5 tents due Tuesday 10 March, and two customers waiting for 2 and 1:
    # they are told Thursday 12 to Tuesday 17 March, and promised the 17th (the confident end)
    tent = backorderable()
    po = purchase_order(tent, 5, day(8))
    ada = waiting_order(tent, 2, email="ada@example.com")
    bob = waiting_order(tent, 1, email="bob@example.com")
    assert told(ada) == [(day(15), day(15))]
    assert ada.lines.get().expected_earliest_date == day(10)

    # When the supplier moves the delivery to Friday 20 March: Monday 23 to Friday 27 March
    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(18))

    # Then the slip is recorded at once, but nobody is emailed during the quiet period
    assert sorted(LineDelay.objects.values_list("line__order__email", "old_date", "new_date", "cause")) == [
        ("ada@example.com", day(15), day(25), DelayCause.PO_DATE_CHANGED),
        ("bob@example.com", day(15), day(25), DelayCause.PO_DATE_CHANGED),
    ]
    assert set(LineDelay.objects.values_list("purchase_order_id", flat=True)) == {po.pk}
    later(clock, minutes=29)
    send_due(commit)
    assert delay_emails(mailoutbox) == []

    # And after it, each customer gets one email with both dates
    later(clock, minutes=31)
    send_due(commit)
    emails = delay_emails(mailoutbox)
    assert sorted((m.to[0], m.subject) for m in emails) == [
        ("ada@example.com", f"Order {ada.number}: sorry, Alpine Tent will be later than we said"),
        ("bob@example.com", f"Order {bob.number}: sorry, Alpine Tent will be later than we said"),
    ]
    ada_text = text_of(next(m for m in emails if m.to == ["ada@example.com"]))
    assert "- 2 × Alpine Tent\n  We said: Tuesday 17 March 2026\n  New date: 23–27 March 2026\n" in ada_text
    assert "Our supplier has moved their delivery to a later date." in ada_text
    assert "We're sorry" in ada_text
    # The date told is now the new confident end; the timeline says the new range
    assert told(ada) == [(day(25), day(25))]
    assert LineDelay.objects.filter(line__order=ada).get().new_earliest_date == day(21)
    event = OrderEvent.objects.get(order=ada, kind=OrderEventKind.DELAYED)
    assert (
        event.message == "Sorry, delayed: 2 × Alpine Tent: was Tuesday 17 March 2026, now 23–27 March 2026."
    )
    # And running the sender again sends nothing more
    send_due(commit)
    assert len(delay_emails(mailoutbox)) == 2


def test_a_cancelled_purchase_order_says_there_is_no_date_and_gives_the_lead_time_estimate(
    clock, commit, mailoutbox
):
    # Given one customer waiting for 2 tents from a purchase order due 10 March
    tent = backorderable()
    po = purchase_order(tent, 5, day(8))
    ada = waiting_order(tent, 2, email="ada@example.com")

    # When the purchase order is cancelled and the quiet period passes
    with commit():
        purchase_order_cancel(purchase_order_id=po.pk)
    later(clock, minutes=31)
    send_due(commit)

    # Then one email says honestly that there is no date, with the lead-time estimate (today + 21 days)
    (message,) = delay_emails(mailoutbox)
    text = text_of(message)
    assert (
        "  We said: Tuesday 10 March 2026\n"
        "  New date: not confirmed yet. Our supplier has not given us a delivery date for these. "
        f"Items like this usually take about {LEAD_TIME} days to come in, so our best estimate is "
        "Monday 23 March 2026. We will tell you if that changes.\n"
    ) in text
    assert "A delivery we were counting on has been cancelled by our supplier." in text
    delay = LineDelay.objects.get()
    assert (delay.cause, delay.old_date, delay.new_date, delay.estimated, delay.lead_time_days) == (
        DelayCause.PO_CANCELLED,
        day(8),
        day(21),
        True,
        LEAD_TIME,
    )
    assert told(ada) == [(day(21), day(21))]


def test_a_purchase_order_closed_after_a_short_delivery_delays_whoever_counted_on_the_rest(
    clock, commit, mailoutbox
):
    # Given 5 tents due 10 March, Ada waiting for 3 and Bob for 2 after her
    tent = backorderable()
    po = purchase_order(tent, 5, day(8))
    ada = waiting_order(tent, 3, email="ada@example.com")
    bob = waiting_order(tent, 2, email="bob@example.com")

    # When only 3 arrive (Ada is served) and staff close the purchase order
    with commit():
        purchase_order_receive(purchase_order_id=po.pk, quantities={po.lines.get().pk: 3})
    assert (ada.lines.get().quantity_allocated, LineDelay.objects.count()) == (3, 0)  # Bob's 2 still due
    with commit():
        purchase_order_cancel(purchase_order_id=po.pk)
    later(clock, minutes=31)
    send_due(commit)

    # Then Bob alone hears about it: received short, no date, lead-time estimate
    (message,) = delay_emails(mailoutbox)
    assert message.to == ["bob@example.com"]
    assert "Our supplier delivered fewer units than we had ordered." in text_of(message)
    assert list(LineDelay.objects.values_list("line__order", "cause", "old_date", "new_date")) == [
        (bob.pk, DelayCause.PO_RECEIVED_SHORT, day(8), day(21))
    ]


def test_a_priority_order_moved_ahead_delays_the_customers_behind_it(clock, commit, mailoutbox):
    # Given 3 tents due 10 March and 2 more due 20 March; Ada waits for 3 (10 March), Bob for 2 (20 March)
    tent = backorderable()
    purchase_order(tent, 3, day(8))
    purchase_order(tent, 2, day(18))
    ada = waiting_order(tent, 3, email="ada@example.com")
    bob = waiting_order(tent, 2, email="bob@example.com")
    assert (told(ada), told(bob)) == ([(day(8), day(8))], [(day(18), day(18))])

    # When staff make Bob's order a priority
    with commit():
        order_set_priority(order_id=bob.pk, is_priority=True)
    later(clock, minutes=31)
    send_due(commit)

    # Then Ada, now behind Bob, waits for the 20 March delivery and is told; Bob's earlier date is no delay
    (message,) = delay_emails(mailoutbox)
    assert message.to == ["ada@example.com"]
    assert "  We said: Tuesday 10 March 2026\n  New date: Friday 20 March 2026\n" in text_of(message)
    assert list(LineDelay.objects.values_list("line__order", "cause")) == [
        (ada.pk, DelayCause.QUEUE_PRIORITY)
    ]
    assert told(bob) == [(day(18), day(8))]  # better than promised: no email, the page shows it


def test_the_daily_scan_tells_overdue_lines_once(clock, commit, mailoutbox):
    # Given Ada waiting for a purchase order due 10 March that does not come
    tent = backorderable()
    purchase_order(tent, 5, day(8))
    ada = waiting_order(tent, 2, email="ada@example.com")

    # When the daily scan runs on 10 March: still on time, nothing to say
    later(clock, days=8, hours=-3)
    with commit():
        scan_delays()
    assert LineDelay.objects.count() == 0

    # When it runs on 11 March at 06:00 and the quiet period passes
    later(clock, days=9, hours=-3)
    with commit():
        scan_delays()
    later(clock, days=9, hours=-2, minutes=-29)
    send_due(commit)

    # Then Ada hears that the date passed, with the new date: the 3 shipping days' grace of an overdue
    # delivery from Wednesday 11 March, past the weekend (docs/dates.md)
    (message,) = delay_emails(mailoutbox)
    assert "  We said: Tuesday 10 March 2026\n  New date: Monday 16 March 2026\n" in text_of(message)
    assert "The stock we were expecting has not arrived on time." in text_of(message)
    assert LineDelay.objects.get().cause == DelayCause.OVERDUE

    # And a second run of the scan that day sends nothing new
    with commit():
        scan_delays()
    later(clock, days=9, hours=1)
    send_due(commit)
    assert len(delay_emails(mailoutbox)) == 1
    assert LineDelay.objects.count() == 1

    # Nor the next days, while the new date (16 March) has not passed, although the grace moves on daily
    for n in (10, 11, 12, 13, 14):
        later(clock, days=n, hours=-3)
        with commit():
            scan_delays()
        later(clock, days=n, hours=1)
        send_due(commit)
    assert len(delay_emails(mailoutbox)) == 1

    # But on Tuesday 17 March, still waiting: the new date passed too, and she is told again (3 shipping
    # days from the 17th: Friday 20 March)
    later(clock, days=15, hours=-3)
    with commit():
        scan_delays()
    later(clock, days=15, hours=1)
    send_due(commit)
    assert len(delay_emails(mailoutbox)) == 2
    assert "  We said: Monday 16 March 2026\n  New date: Friday 20 March 2026\n" in text_of(
        delay_emails(mailoutbox)[-1]
    )
    assert told(ada) == [(day(18), day(18))]


def test_a_lead_time_date_moving_on_with_the_calendar_is_not_a_delay_until_it_passes(
    clock, commit, mailoutbox
):
    # Given Ada waiting with no purchase order: promised today + 21 days (23 March)
    tent = backorderable()
    ada = waiting_order(tent, 1, email="ada@example.com")
    assert told(ada) == [(day(21), day(21))]

    # When the daily scan runs the next days: the estimate is now today + 21, later each day
    for n in (1, 2, 21):
        later(clock, days=n, hours=-3)
        with commit():
            scan_delays()
    later(clock, days=21, hours=1)
    send_due(commit)

    # Then nobody is emailed until the promised date has passed
    assert delay_emails(mailoutbox) == []
    assert told(ada) == [(day(21), day(42))]

    # And the day after it, Ada hears the new estimate
    later(clock, days=22, hours=-3)
    with commit():
        scan_delays()
    later(clock, days=22, hours=1)
    send_due(commit)
    (message,) = delay_emails(mailoutbox)
    assert "  We said: Monday 23 March 2026\n  New date: not confirmed yet." in text_of(message)
    assert "our best estimate is Tuesday 14 April 2026" in text_of(message)


# --- debounce --------------------------------------------------------------------------------------


def test_three_purchase_order_changes_in_one_morning_send_one_email(clock, commit, mailoutbox):
    # Given Ada and Bob waiting for a purchase order due 10 March
    tent = backorderable()
    po = purchase_order(tent, 5, day(8))
    ada = waiting_order(tent, 2, email="ada@example.com")
    waiting_order(tent, 1, email="bob@example.com")

    # When staff move it three times within 20 minutes, the sender running every few minutes
    for minutes, new_date in ((0, day(13)), (10, day(16)), (20, day(18))):
        later(clock, minutes=minutes)
        with commit():
            purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=new_date)
        send_due(commit)
    later(clock, minutes=45)  # 25 minutes after the last change: still quiet
    send_due(commit)
    assert delay_emails(mailoutbox) == []

    # Then once the quiet period after the last change is over: one email per order, first to last date
    later(clock, minutes=51)
    send_due(commit)
    emails = delay_emails(mailoutbox)
    assert sorted(m.to[0] for m in emails) == ["ada@example.com", "bob@example.com"]
    assert "  We said: Tuesday 10 March 2026\n  New date: Friday 20 March 2026\n" in text_of(emails[0])
    assert DelayNotice.objects.filter(status=DelayNoticeStatus.SENT).count() == 2
    assert OrderEvent.objects.filter(order=ada, kind=OrderEventKind.DELAYED).count() == 1


def test_a_second_slip_on_the_same_day_waits_for_the_next_morning(clock, commit, mailoutbox, settings):
    # Given Ada told at 09:31 that her date moved from 10 to 20 March
    settings.DELAY_NOTIFY_NEXT_DAY_HOUR = 8
    tent = backorderable()
    po = purchase_order(tent, 5, day(8))
    waiting_order(tent, 2, email="ada@example.com")
    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(18))
    later(clock, minutes=31)
    send_due(commit)
    assert len(delay_emails(mailoutbox)) == 1

    # When it moves again at 14:00 the same day
    later(clock, hours=5)
    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(23))
    later(clock, hours=14)
    send_due(commit)

    # Then no second email that day
    assert len(delay_emails(mailoutbox)) == 1
    assert DelayNotice.objects.get(status=DelayNoticeStatus.PENDING).due_at == T0 + timedelta(hours=23)

    # But one the next morning at 08:00, from the date she was told last (20 March) to the new one
    later(clock, hours=23)
    send_due(commit)
    assert len(delay_emails(mailoutbox)) == 2
    assert "  We said: Friday 20 March 2026\n  New date: Wednesday 25 March 2026\n" in text_of(
        delay_emails(mailoutbox)[-1]
    )


def test_a_date_that_comes_back_before_the_email_goes_out_sends_nothing(clock, commit, mailoutbox):
    # Given a slip from 10 to 20 March recorded for Ada
    tent = backorderable()
    po = purchase_order(tent, 5, day(8))
    waiting_order(tent, 2, email="ada@example.com")
    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(18))

    # When staff correct the date back to 10 March within the quiet period
    later(clock, minutes=10)
    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(8))
    later(clock, minutes=31)
    send_due(commit)

    # Then nothing is sent and the notice is withdrawn
    assert delay_emails(mailoutbox) == []
    assert list(DelayNotice.objects.values_list("status", flat=True)) == [DelayNoticeStatus.WITHDRAWN]
    assert list(LineDelay.objects.values_list("status", flat=True)) == [DelayNoticeStatus.WITHDRAWN]
    assert Notification.objects.filter(kind=NotificationKind.ORDER_DELAYED).count() == 0


def test_an_earlier_date_or_a_draft_purchase_order_is_no_delay(clock, commit, mailoutbox):
    tent = backorderable()
    po = purchase_order(tent, 5, day(8))
    waiting_order(tent, 2, email="ada@example.com")

    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(5))

    assert LineDelay.objects.count() == 0
    assert DelayNotice.objects.count() == 0


def test_one_email_names_every_delayed_item_and_what_is_still_on_its_way(clock, commit, mailoutbox):
    # Given one order: 2 tents (10 March) and 1 stove (12 March), and a mug reserved from stock
    from orders.tests.helpers import give_stock, place
    from shop.tests.factories import VariantFactory

    tent, stove = backorderable(), backorderable(name="Camp Stove", price="40.00")
    mug = VariantFactory(product__name="Enamel Mug")
    give_stock(mug, 5)
    po = purchase_order(tent, 5, day(8))
    purchase_order(stove, 5, day(10))
    order = place([(tent, 2), (stove, 1), (mug, 1)], email="ada@example.com").order

    # When the tents slip, and a minute later a check of the same variants runs again (a redelivered message)
    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(18))
    later(clock, minutes=1)
    with commit():
        check_delays(variant_ids=[tent.pk, stove.pk], cause=DelayCause.PO_DATE_CHANGED)
    later(clock, minutes=32)
    send_due(commit)

    # Then one email: the tents delayed, the stove and the mug still as planned
    (message,) = delay_emails(mailoutbox)
    assert message.subject == f"Order {order.number}: sorry, Alpine Tent will be later than we said"
    text = text_of(message)
    assert (
        "Delayed:\n- 2 × Alpine Tent\n  We said: Tuesday 10 March 2026\n  New date: Friday 20 March 2026\n"
        in text
    )
    assert (
        "Still on its way as planned:\n"
        "- 1 × Camp Stove, expected to ship by Thursday 12 March 2026\n"
        "- 1 × Enamel Mug, in stock and reserved for you\n"
    ) in text
    assert LineDelay.objects.count() == 1
