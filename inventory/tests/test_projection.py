"""inventory/projection.py: the queue arithmetic, on the shop's shipping days, at both ends of the range."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory.calendar import ShippingCalendar
from inventory.projection import Incoming, arrival_counted_on, project_ready_date, project_ready_range
from inventory.selectors.calendar import public_holidays

TODAY = date(2026, 11, 21)  # a Saturday: nothing ships today
# Monday to Friday, England's bank holidays (25 December 2026 is a Friday, Boxing Day observed on Monday 28).
SHOP = ShippingCalendar(weekdays=frozenset(range(5)), holidays=public_holidays("GB-ENG", 2026))


def po(pk, day, qty, p50=0, p90=0):
    return Incoming(
        purchase_order_id=pk, expected_date=day, quantity=qty, late_p50_days=p50, late_p90_days=p90
    )


def project(units_ahead, quantity, free_now, incoming, *, calendar=SHOP, confidence="confident", padding=0):
    return project_ready_date(
        units_ahead=units_ahead,
        quantity=quantity,
        free_now=free_now,
        incoming=incoming,
        today=TODAY,
        lead_time_days=10,
        overdue_grace_days=3,
        calendar=calendar,
        confidence=confidence,
        lead_time_late_days=(0, padding),
    )


@pytest.mark.parametrize(
    ("units_ahead", "quantity", "free_now", "incoming", "expected"),
    [
        # Free stock covers the queue and the new unit: the next shipping day (Saturday -> Monday).
        (0, 1, 1, [], date(2026, 11, 23)),
        # Nothing coming: today + lead time (10 days: Tuesday 1 December).
        (0, 1, 0, [], date(2026, 12, 1)),
        # The example: 30 wait, the next PO brings 20 → the PO after that.
        (30, 1, 0, [po(1, date(2026, 12, 1), 20), po(2, date(2026, 12, 15), 20)], date(2026, 12, 15)),
        # Exactly covered by the first PO: 19 ahead + 1 = 20.
        (19, 1, 0, [po(1, date(2026, 12, 1), 20), po(2, date(2026, 12, 15), 20)], date(2026, 12, 1)),
        # Queue beyond every PO: lead time, but never before the last PO counted on.
        (40, 1, 0, [po(1, date(2026, 12, 1), 20), po(2, date(2026, 12, 15), 20)], date(2026, 12, 15)),
        (40, 1, 0, [po(1, date(2026, 11, 23), 20), po(2, date(2026, 11, 25), 20)], date(2026, 12, 1)),
        # POs are taken in date order, not in the order given.
        (0, 1, 0, [po(2, date(2026, 12, 15), 5), po(1, date(2026, 12, 1), 5)], date(2026, 12, 1)),
        # An overdue PO is promised 3 shipping days from today: Monday, Tuesday, Wednesday 25 November.
        (0, 1, 0, [po(1, date(2026, 11, 1), 5)], date(2026, 11, 25)),
        # A PO without a date promises nothing.
        (0, 1, 0, [po(1, None, 5)], date(2026, 12, 1)),
        # Several units: the date of the last one.
        (0, 8, 3, [po(1, date(2026, 12, 1), 4), po(2, date(2026, 12, 8), 4)], date(2026, 12, 8)),
        # Goods arriving on a Sunday ship on Monday.
        (0, 1, 0, [po(1, date(2026, 12, 6), 5)], date(2026, 12, 7)),
        # Arriving on Christmas Day (Friday): Saturday, Sunday, Boxing Day observed (Monday) -> Tuesday 29.
        (0, 1, 0, [po(1, date(2026, 12, 25), 5)], date(2026, 12, 29)),
    ],
)
def test_project_ready_date(units_ahead, quantity, free_now, incoming, expected):
    assert project(units_ahead, quantity, free_now, incoming) == expected


def test_a_lead_time_ending_on_a_weekend_moves_to_monday():
    got = project_ready_date(
        units_ahead=0,
        quantity=1,
        free_now=0,
        incoming=[],
        today=TODAY,
        lead_time_days=14,  # Saturday 5 December
        overdue_grace_days=3,
        calendar=SHOP,
    )

    assert got == date(2026, 12, 7)


def test_a_staff_closure_moves_the_date_past_it():
    closed = ShippingCalendar(holidays=SHOP.holidays, closures=((date(2026, 11, 30), date(2026, 12, 2)),))

    assert project(0, 1, 0, [po(1, date(2026, 12, 1), 5)], calendar=closed) == date(2026, 12, 3)
    assert project(0, 1, 0, [], calendar=closed) == date(2026, 12, 3)


def test_the_range_pads_each_purchase_order_by_its_suppliers_lateness():
    # Expected Tuesday 1 December; the supplier is usually 2 days late, 9 times in 10 within 7 days.
    incoming = [po(1, date(2026, 12, 1), 5, p50=2, p90=7)]

    got = project_ready_range(
        units_ahead=0,
        quantity=1,
        free_now=0,
        incoming=incoming,
        today=TODAY,
        lead_time_days=10,
        overdue_grace_days=3,
        calendar=SHOP,
        lead_time_late_days=(0, 7),
    )

    assert (got.earliest, got.confident) == (date(2026, 12, 3), date(2026, 12, 8))


def test_a_lead_time_range_is_the_lead_time_then_the_shop_padding():
    got = project_ready_range(
        units_ahead=0,
        quantity=1,
        free_now=0,
        incoming=[],
        today=TODAY,
        lead_time_days=10,
        overdue_grace_days=3,
        calendar=SHOP,
        lead_time_late_days=(0, 7),
    )

    assert (got.earliest, got.confident) == (date(2026, 12, 1), date(2026, 12, 8))


def test_padding_can_reorder_purchase_orders():
    # A punctual supplier's later date comes before a habitually late supplier's earlier one.
    late = po(1, date(2026, 12, 1), 5, p50=10, p90=20)
    punctual = po(2, date(2026, 12, 4), 5)

    assert project(0, 1, 0, [late, punctual], confidence="earliest") == date(2026, 12, 4)
    assert project(0, 1, 0, [late, punctual]) == date(2026, 12, 4)
    assert project(5, 1, 0, [late, punctual]) == date(2026, 12, 21)


@pytest.mark.parametrize(
    ("expected", "late", "counted_on"),
    [
        (
            date(2026, 11, 1),
            7,
            date(2026, 11, 25),
        ),  # long overdue, nothing known that late: today + 3 shipping days
        (date(2026, 11, 18), 10, date(2026, 11, 30)),  # overdue, but the supplier's p90 reaches further
        (date(2026, 11, 20), 0, date(2026, 11, 25)),  # yesterday, punctual supplier: grace
        (date(2026, 11, 21), 0, date(2026, 11, 23)),  # due today (Saturday): Monday
        (date(2026, 11, 20), 2, date(2026, 11, 23)),  # a day overdue, 2 days late is usual: Sunday -> Monday
    ],
)
def test_an_overdue_purchase_order_counts_on_the_suppliers_late_deliveries_or_the_grace(
    expected, late, counted_on
):
    got = arrival_counted_on(
        po(1, expected, 5, p50=late, p90=late),
        today=TODAY,
        overdue_grace_days=3,
        calendar=SHOP,
        confidence="confident",
    )

    assert got == counted_on


def test_an_overdue_purchase_order_with_a_history_counts_on_the_deliveries_at_least_that_late():
    # Learned: 0 0 0 1 2 8 9 10 12 14 days late. Overdue by 5 days (due Monday 16 November): the
    # deliveries at least 5 days late were 8 9 10 12 14: median 10, p90 14 days after the date.
    late = (0, 0, 0, 1, 2, 8, 9, 10, 12, 14)
    inc = Incoming(purchase_order_id=1, expected_date=date(2026, 11, 16), quantity=5, late_samples=late)

    def counted(confidence):
        return arrival_counted_on(
            inc, today=TODAY, overdue_grace_days=3, calendar=SHOP, confidence=confidence
        )

    assert counted("earliest") == date(2026, 11, 26)  # Thursday 26 November
    assert counted("confident") == date(2026, 11, 30)  # 30 November (a Monday)
    # Not yet due: the whole history, median 2 and p90 12 days late.
    inc = Incoming(purchase_order_id=1, expected_date=date(2026, 11, 23), quantity=5, late_samples=late)
    assert counted("earliest") == date(2026, 11, 25)
    assert counted("confident") == date(2026, 12, 7)  # Saturday 5 December -> Monday 7
    # Later than anything seen: the grace from today.
    inc = Incoming(purchase_order_id=1, expected_date=date(2026, 11, 1), quantity=5, late_samples=late)
    assert counted("confident") == date(2026, 11, 25)


def test_a_short_supplier_is_counted_on_for_part_and_the_rest_is_ordered_again_when_it_comes():
    # 10 coming on Tuesday 1 December; 9 in 10 deliveries bring at least 6 of 10, the median 8.
    inc = Incoming(
        purchase_order_id=1,
        expected_date=date(2026, 12, 1),
        quantity=10,
        counted_earliest=8,
        counted_confident=6,
    )
    kwargs = dict(
        free_now=0, incoming=[inc], today=TODAY, lead_time_days=10, overdue_grace_days=3, calendar=SHOP
    )

    got = project_ready_range(units_ahead=5, quantity=1, lead_time_late_days=(0, 0), **kwargs)
    assert (got.earliest, got.confident) == (date(2026, 12, 1), date(2026, 12, 1))  # the 6th unit
    got = project_ready_range(units_ahead=7, quantity=1, lead_time_late_days=(0, 0), **kwargs)
    # The 8th: in the median delivery; not in the confident one, so ordered again when it comes,
    # 1 December + 10 days lead time = Friday 11 December.
    assert (got.earliest, got.confident) == (date(2026, 12, 1), date(2026, 12, 11))
    got = project_ready_range(units_ahead=20, quantity=1, lead_time_late_days=(1, 4), **kwargs)
    # Beyond it all: both ends ordered again on 1 December, then the supplier's lateness.
    assert (got.earliest, got.confident) == (date(2026, 12, 14), date(2026, 12, 15))


def test_add_shipping_days_counts_from_the_day_after():
    assert SHOP.add_shipping_days(date(2026, 12, 4), 1) == date(2026, 12, 7)  # Friday + 1 = Monday
    assert SHOP.add_shipping_days(date(2026, 12, 24), 1) == date(2026, 12, 29)  # Christmas, Boxing Day
    assert SHOP.add_shipping_days(date(2026, 12, 5), 0) == date(2026, 12, 7)  # 0: the next shipping day
    assert SHOP.closed_days(date(2026, 12, 24), date(2026, 12, 29)) == [
        date(2026, 12, 25),
        date(2026, 12, 26),
        date(2026, 12, 27),
        date(2026, 12, 28),
    ]


days = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))
incomings = st.lists(
    st.builds(
        lambda pk, day, qty, p50, extra: po(pk, day, qty, p50=p50, p90=p50 + extra),
        st.integers(1, 50),
        st.one_of(st.none(), days),
        st.integers(1, 30),
        st.integers(0, 15),
        st.integers(0, 20),
    ),
    max_size=5,
)
calendars = st.builds(
    lambda weekdays, closure_start, closure_days: ShippingCalendar(
        weekdays=frozenset(weekdays),
        holidays=SHOP.holidays,
        closures=((closure_start, closure_start + timedelta(days=closure_days)),),
    ),
    st.sets(st.integers(0, 6), min_size=1),
    days,
    st.integers(0, 20),
)


@settings(max_examples=300, deadline=None)
@given(
    today=days,
    units_ahead=st.integers(0, 100),
    quantity=st.integers(1, 10),
    free_now=st.integers(0, 50),
    incoming=incomings,
    lead_time=st.integers(0, 60),
    grace=st.integers(0, 10),
    padding=st.integers(0, 15),
    calendar=calendars,
)
def test_no_promised_date_falls_on_a_closed_day(
    today, units_ahead, quantity, free_now, incoming, lead_time, grace, padding, calendar
):
    """Whatever the queue, the supply, the suppliers' habits and the calendar: both ends of the range
    are shipping days, not before today, and the confident end is never before the earliest."""
    got = project_ready_range(
        units_ahead=units_ahead,
        quantity=quantity,
        free_now=free_now,
        incoming=incoming,
        today=today,
        lead_time_days=lead_time,
        overdue_grace_days=grace,
        calendar=calendar,
        lead_time_late_days=(min(padding, 5), padding),
    )

    assert calendar.is_shipping_day(got.earliest)
    assert calendar.is_shipping_day(got.confident)
    assert today <= got.earliest <= got.confident
