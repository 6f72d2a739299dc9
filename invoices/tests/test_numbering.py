"""Gap-free numbers: consecutive under concurrency (PostgreSQL, real threads), and a shipment that
rolls back gives its number back."""

import datetime
from decimal import Decimal

import pytest

from config.testing import run_together
from invoices.models import Document, DocumentSequence
from orders import events as order_events
from orders.models import Shipment
from orders.services import order_ship
from orders.tests.helpers import give_stock
from tax.models import TaxClass
from tax.tests.factories import rates_replace

from .helpers import invoices_of, place_test_card, variant

JAN_1 = datetime.date(2026, 1, 1)


def _orders(count: int) -> list:
    rates_replace([("DE", TaxClass.STANDARD, "19", JAN_1, None)])
    orders = []
    for _ in range(count):
        item = variant("10.00")  # a variant each: the parcels contend for the number only
        give_stock(item, 1)
        orders.append(place_test_card([(item, 1)]))
    return orders


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_shipments_at_once_get_fifty_consecutive_numbers():
    # Given 50 orders ready to ship, and no invoice yet this year (the year's counter does not exist)
    orders = _orders(50)
    assert not DocumentSequence.objects.exists()
    # When all 50 ship at the same moment, each from its own thread and connection
    results = run_together(
        [lambda order=order: order_ship(order_id=order.pk) for order in orders], timeout=60
    )
    # Then every shipment has its invoice, numbered 1..50 with no gap and no repeat
    assert [type(r) for r in results] == [Shipment] * 50
    year = Document.objects.values_list("year", flat=True).first()
    assert sorted(Document.objects.values_list("sequence", flat=True)) == list(range(1, 51))
    assert sorted(Document.objects.values_list("number", flat=True)) == [
        f"{year}-{n:06d}" for n in range(1, 51)
    ]
    assert DocumentSequence.objects.get(series="invoice", year=year).last == 50
    assert all(invoices_of(order)[0].total_gross == Decimal("14.90") for order in orders)


@pytest.mark.django_db
def test_a_shipment_that_rolls_back_gives_its_number_back():
    first, second = _orders(2)
    order_ship(order_id=first.pk)

    def fail_after_the_invoice(**kwargs):
        raise RuntimeError("the label printer is on fire")

    # Given a shipment that fails after its invoice was written (a later receiver raises)
    order_events.order_shipped.connect(fail_after_the_invoice)
    try:
        with pytest.raises(RuntimeError):
            order_ship(order_id=second.pk)
    finally:
        order_events.order_shipped.disconnect(fail_after_the_invoice)
    # Then nothing of it is left: no shipment, no invoice, the counter where it was
    assert not Shipment.objects.filter(order=second).exists()
    assert Document.objects.count() == 1 and DocumentSequence.objects.get().last == 1
    # And the next shipment takes the next number: no gap
    order_ship(order_id=second.pk)
    assert [d.sequence for d in Document.objects.order_by("sequence")] == [1, 2]
