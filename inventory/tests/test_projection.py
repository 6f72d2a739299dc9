from datetime import date

import pytest

from inventory.projection import Incoming, project_ready_date

TODAY = date(2026, 11, 21)


def po(pk, day, qty):
    return Incoming(purchase_order_id=pk, expected_date=day, quantity=qty)


@pytest.mark.parametrize(
    ("units_ahead", "quantity", "free_now", "incoming", "expected"),
    [
        # Free stock covers the queue and the new unit: today.
        (0, 1, 1, [], TODAY),
        # Nothing coming: today + lead time (10 days).
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
        # An overdue PO is promised today + grace (3 days).
        (0, 1, 0, [po(1, date(2026, 11, 1), 5)], date(2026, 11, 24)),
        # A PO without a date promises nothing.
        (0, 1, 0, [po(1, None, 5)], date(2026, 12, 1)),
        # Several units: the date of the last one.
        (0, 8, 3, [po(1, date(2026, 12, 1), 4), po(2, date(2026, 12, 8), 4)], date(2026, 12, 8)),
    ],
)
def test_project_ready_date(units_ahead, quantity, free_now, incoming, expected):
    got = project_ready_date(
        units_ahead=units_ahead,
        quantity=quantity,
        free_now=free_now,
        incoming=incoming,
        today=TODAY,
        lead_time_days=10,
        overdue_grace_days=3,
    )

    assert got == expected
