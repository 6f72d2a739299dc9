"""A credit note per refund: equal to it, at the rates of the document it corrects."""

import datetime
from decimal import Decimal

import pytest

from invoices.models import DocumentKind
from invoices.selectors import documents_reconcile
from orders.services import order_ship
from orders.tests.helpers import give_stock
from orders.tests.test_stripe_webhooks import charge_refunded_event, deliver
from tax.models import TaxClass
from tax.tests.factories import rates_replace

from .helpers import as_tuples, documents_of, place_card, variant

JAN_1 = datetime.date(2026, 1, 1)


@pytest.mark.django_db(transaction=True)
def test_a_refund_made_in_stripes_dashboard_after_shipping_is_a_credit_note_on_the_invoice(
    stripe_settings, client
):
    rates_replace([("DE", TaxClass.STANDARD, "19", JAN_1, None), ("DE", TaxClass.REDUCED, "7", JAN_1, None)])
    tent, book = variant("119.00"), variant("10.70", TaxClass.REDUCED)
    give_stock(tent, 1)
    give_stock(book, 1)
    order = place_card(stripe_settings, [(tent, 1), (book, 1)])
    order_ship(order_id=order.pk)  # the checkout's hold captured with the parcel: 134.60
    (invoice,) = documents_of(order)
    assert as_tuples(invoice.totals) == [
        ("19.00", "103.78", "19.72", "123.50"),
        ("7.00", "10.37", "0.73", "11.10"),
    ]
    # When staff refund 10.00 in Stripe's dashboard and Stripe tells the shop
    (charge,) = order.payment.charges.all()
    stripe_settings.client().v1.refunds.create(params={"payment_intent": charge.stripe_id, "amount": 1000})
    stripe_settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    assert deliver(client, charge_refunded_event(stripe_settings, charge.stripe_id)).status_code == 200
    # Then one credit note of 10.00 corrects the invoice, split like it: 10 × 123.50/134.60 = 9.18
    (credit_note,) = documents_of(order, DocumentKind.CREDIT_NOTE)
    assert credit_note.refers_to_id == invoice.pk and credit_note.total_gross == Decimal("10.00")
    assert as_tuples(credit_note.totals) == [
        ("19.00", "7.71", "1.47", "9.18"),
        ("7.00", "0.77", "0.05", "0.82"),
    ]
    assert credit_note.lines[0]["description"] == f"Refund (corrects {invoice.number})"
    assert documents_reconcile(order_ids=[order.pk]).differences == []
