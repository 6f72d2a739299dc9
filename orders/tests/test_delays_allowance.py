"""A delay is told on facts, not on our allowance for lateness (docs/dates.md, "When a delay is told").

The confident end of a waiting line's range moves when what the shop allows for moves (a supplier's
record gets worse, an overdue delivery's wait grows); the customer is emailed when the facts make
the date told impossible: the supplier's own new date is past it, or it passed and the line waits.
"""

from datetime import timedelta

import pytest

from inventory.models import PurchaseOrderStatus
from inventory.services import purchase_order_create, purchase_order_receive, purchase_order_set_expected_date
from inventory.tests.factories import SupplierFactory, WarehouseFactory
from orders.models import DelayCause, LineDelay
from orders.tasks import scan_delays
from orders.tests.delays_helpers import T0, backorderable, day, delay_emails, text_of, waiting_order
from orders.tests.test_delays import later, send_due, told
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


def supplier_order(supplier, warehouse, variant, *, due, quantity=5):
    return purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        reference=f"PO-{variant.pk}-{due:%m%d}",
        lines={variant.pk: quantity},
        expected_date=due,
        status=PurchaseOrderStatus.ORDERED,
    )


def scan_and_send(clock, commit, n: int) -> None:
    """The daily scan at 06:00 on day n, and the sender after the quiet period."""
    later(clock, days=n, hours=-3)
    with commit():
        scan_delays()
    later(clock, days=n, hours=1)
    send_due(commit)


@pytest.fixture
def record(clock):
    """A supplier with five past orders: four on their date, one two days late (p50 0, p90 2 days)."""
    supplier, warehouse = SupplierFactory(), WarehouseFactory()
    for n, late in enumerate([0, 0, 0, 0, 2]):
        due = T0 - timedelta(days=90 - 7 * n)
        clock.move_to(due - timedelta(days=14))
        po = supplier_order(supplier, warehouse, VariantFactory(), due=due.date())
        clock.move_to(due + timedelta(days=late))
        purchase_order_receive(purchase_order_id=po.pk)
    clock.move_to(T0)
    return supplier, warehouse


def test_a_worse_record_widens_the_range_without_an_email_until_the_date_passes(
    clock, commit, mailoutbox, record
):
    supplier, warehouse = record
    # Given Ada waiting for a delivery due Thursday 12 March: told by Monday 16 March (+2 days, p90)
    tent = backorderable()
    late_order = supplier_order(supplier, warehouse, tent, due=day(10))
    ada = waiting_order(tent, 1, email="ada@example.com")
    assert told(ada) == [(day(14), day(14))]

    # When another of the supplier's orders, due today, comes 20 days late: its p90 becomes 20 days
    other = supplier_order(supplier, warehouse, VariantFactory(), due=day(0))
    later(clock, days=20)
    purchase_order_receive(purchase_order_id=other.pk)
    later(clock, days=0)

    # Then the daily scan widens Ada's range (12 March + 20 days: Wednesday 1 April) but tells nothing:
    # by the supplier's own date, the 12th, she is still on time
    scan_and_send(clock, commit, 1)
    assert told(ada) == [(day(14), day(30))]
    assert LineDelay.objects.count() == 0
    assert delay_emails(mailoutbox) == []

    # And nothing either while the date told has not passed
    for n in (10, 11, 14):
        scan_and_send(clock, commit, n)
    assert delay_emails(mailoutbox) == []

    # But on Tuesday 17 March, still waiting: the date told passed, and she hears the new date
    scan_and_send(clock, commit, 15)
    (message,) = delay_emails(mailoutbox)
    assert "  We said: Monday 16 March 2026\n  New date: Wednesday 1 April 2026\n" in text_of(message)
    assert LineDelay.objects.get().cause == DelayCause.OVERDUE
    assert late_order.pk  # never came


def test_the_suppliers_own_new_date_past_the_date_told_is_emailed_at_once(clock, commit, mailoutbox, record):
    supplier, warehouse = record
    tent = backorderable()
    po = supplier_order(supplier, warehouse, tent, due=day(10))
    ada = waiting_order(tent, 1, email="ada@example.com")
    assert told(ada) == [(day(14), day(14))]

    # A new date within what we allowed for (the 13th, before the 16th told): no email
    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(11))
    later(clock, hours=1)
    send_due(commit)
    assert delay_emails(mailoutbox) == []

    # A new date past it (the 18th): emailed after the quiet period
    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(16))
    later(clock, hours=2)
    send_due(commit)
    (message,) = delay_emails(mailoutbox)
    assert "  We said: Monday 16 March 2026\n" in text_of(message)
    assert LineDelay.objects.get().cause == DelayCause.PO_DATE_CHANGED
