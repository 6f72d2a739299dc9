"""documents_reconcile and `manage.py invoices_reconcile`: a healthy shop has no difference; a
tampered amount, a missing invoice or a gap in the numbers is found, to the cent."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from invoices.models import Document, DocumentSequence
from invoices.selectors import documents_reconcile
from orders.models import Payment
from orders.services import order_ship
from orders.tests.helpers import give_stock
from tax.models import TaxClass
from tax.tests.factories import rates_replace

from .helpers import invoices_of, place_test_card, variant

pytestmark = pytest.mark.django_db

JAN_1 = datetime.date(2026, 1, 1)


@pytest.fixture
def shipped():
    rates_replace([("DE", TaxClass.STANDARD, "19", JAN_1, None)])
    tent = variant("119.00")
    give_stock(tent, 5)
    orders = []
    for _ in range(2):
        orders.append(place_test_card([(tent, 1)]))
        order_ship(order_id=orders[-1].pk)
    return orders


def test_shipped_orders_reconcile_and_the_command_says_so(shipped, capsys):
    result = documents_reconcile()
    assert (result.checked, result.documents, result.differences) == (2, 2, [])
    call_command("invoices_reconcile")
    assert capsys.readouterr().out == (
        "0 differences: 2 documents of 2 orders match their payments, shipments and lines; "
        "every number series is gap-free.\n"
    )


def test_a_tampered_capture_is_found_to_the_cent(shipped, capsys):
    # Given a payment changed outside the services by one cent
    order = shipped[0]
    Payment.objects.filter(order=order).update(amount_refunded=Decimal("0.01"))
    # Then the check names the order and both numbers, and the command exits 1
    (difference,) = documents_reconcile().differences
    assert str(difference) == (
        f"{order.number} (money): invoiced 123.90 − credited 0 = 123.90, but the payment captured − refunded 123.89"
    )
    with pytest.raises(CommandError, match=r"1 difference\(s\) in 1 order\(s\)"):
        call_command("invoices_reconcile")
    assert order.number in capsys.readouterr().out


def test_a_document_whose_total_was_changed_in_the_database_is_found(shipped):
    # Given an invoice's lines rewritten behind the model's back (raw SQL: the model refuses)
    invoice = invoices_of(shipped[1])[0]
    lines = [dict(line) for line in invoice.lines]
    lines[0]["gross"] = "118.00"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE invoices_document SET lines = %s WHERE id = %s",
            [__import__("json").dumps(lines), invoice.pk],
        )
    messages = [str(d) for d in documents_reconcile().differences]
    assert messages == [
        f"{shipped[1].number} (document): {invoice.number}: lines add up to 122.90, total 123.90",
        f"{shipped[1].number} (document): {invoice.number}: totals per rate "
        "19.00 %: 104.12 + 19.78 = 123.90, lines say 19.00 %: 103.28 + 19.62 = 122.90",
    ]


def test_a_shipment_without_its_invoice_and_a_gap_in_the_numbers_are_found(shipped):
    # Given the counter moved on without a document (a number lost) and the second invoice gone
    DocumentSequence.objects.filter(series="invoice").update(last=3)
    invoice = invoices_of(shipped[1])[0]
    Document.objects.filter(pk=invoice.pk)._raw_delete(Document.objects.db)
    messages = [str(d) for d in documents_reconcile().differences]
    shipment = shipped[1].shipments.get()
    assert messages == [
        f"{shipped[1].number} (money): invoiced 0 − credited 0 = 0, but the payment captured − refunded 123.90",
        f"{shipped[1].number} (shipment): shipment {shipment.pk} has 0 invoices",
        f"numbers (numbers): invoice {invoice.year}: counter at 3, 1 documents, missing [2, 3]",
    ]


def test_the_check_reads_each_table_once_however_many_orders(shipped, django_assert_num_queries):
    # The first document's date, the orders with their payments, documents, shipments, then the
    # numbers: documents' sequences and the counters
    with django_assert_num_queries(6):
        assert documents_reconcile().checked == 2
    tent = variant("50.00")
    give_stock(tent, 3)
    for _ in range(3):
        order_ship(order_id=place_test_card([(tent, 1)]).pk)
    with django_assert_num_queries(6):
        assert documents_reconcile().checked == 5
