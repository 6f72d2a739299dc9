"""Money taken before a shipment (pay now, a deposit) is invoiced when it is taken; the shipment's
invoice deducts it; a refund of it is a credit note. Card orders against localstripe, exact amounts;
the documents reconcile with the payment to the cent."""

import datetime
from decimal import Decimal

import pytest

from inventory.services import stock_adjust
from invoices.models import DocumentKind
from invoices.selectors import documents_reconcile
from notifications.emails import build_message
from notifications.models import Notification, NotificationKind, NotificationStatus
from orders.models import CardCharge, ChargePurpose
from orders.services import card_charge_send, order_ship, stock_arrived_process
from orders.services.cancellation import order_cancel_by_customer
from orders.tests.helpers import allow_backorders, give_stock
from tax.models import TaxClass
from tax.tests.factories import rates_replace

from .helpers import as_tuples, documents_of, place_card, variant

pytestmark = pytest.mark.django_db(transaction=True)

JAN_1 = datetime.date(2026, 1, 1)


@pytest.fixture
def goods(db):
    rates_replace(
        [
            ("DE", TaxClass.STANDARD, "19", JAN_1, None),
            ("DE", TaxClass.REDUCED, "7", JAN_1, None),
            ("DE", TaxClass.ZERO, "0", JAN_1, None),
        ]
    )
    tent, book = variant("119.00"), variant("10.70", TaxClass.REDUCED)
    warehouse = give_stock(tent, 5)
    allow_backorders(book)
    return tent, book, warehouse


def _plan(variant, plan, percent=0):
    variant.backorder_policy.payment_plan = plan
    if percent:
        variant.backorder_policy.deposit_percent = percent
    variant.backorder_policy.save()


def _paid(order):
    order.payment.refresh_from_db()
    return order.payment.amount_captured - order.payment.amount_refunded


def test_pay_now_prepayment_invoice_then_a_credit_note_for_a_cancellation_then_the_invoice_deducts(
    stripe_settings, goods
):
    tent, book, _ = goods
    _plan(book, "now")
    # Given a German order paid now: a tent in stock (19 %), two books waiting (7 %), delivery 4.90
    order = place_card(stripe_settings, [(tent, 1), (book, 2)])
    assert _paid(order) == Decimal("145.30")
    # Then the whole payment is a prepayment invoice, its VAT split by what it pays for
    (prepayment,) = documents_of(order)
    assert prepayment.kind == DocumentKind.PREPAYMENT and prepayment.total_gross == Decimal("145.30")
    assert prepayment.amount_payable == Decimal("145.30") and prepayment.tax_point == datetime.date.today()
    # (carried by the order confirmation, written in the same transaction: no email of its own)
    assert not Notification.objects.filter(kind=NotificationKind.INVOICE_ISSUED).exists()
    # 145.30 over 119.00 (19 %) and 21.40 (7 %): 145.30 × 119/140.40 = 123.15; the rest 22.15
    assert [(x["rate"], x["gross"], x["tax_class"]) for x in prepayment.lines] == [
        ("19.00", "123.15", "standard"),
        ("7.00", "22.15", "reduced"),
    ]
    assert as_tuples(prepayment.totals) == [
        ("19.00", "103.49", "19.66", "123.15"),
        ("7.00", "20.70", "1.45", "22.15"),
    ]

    # When the customer cancels one waiting book
    line = order.lines.get(variant=book)
    outcome = order_cancel_by_customer(order_id=order.pk, quantities={line.pk: 1}, user_id=None)
    # Then a credit note equal to the refund, at the book's rate, correcting the prepayment
    assert outcome.released.refunded == Decimal("10.70")
    credit_note = documents_of(order, DocumentKind.CREDIT_NOTE)[0]
    assert credit_note.total_gross == credit_note.amount_payable == Decimal("10.70")
    assert credit_note.refers_to_id == prepayment.pk and credit_note.number == f"CN-{credit_note.year}-000001"
    assert as_tuples(credit_note.totals) == [("7.00", "10.00", "0.70", "10.70")]
    assert credit_note.lines[0]["description"].startswith("Refund for cancelled items: 1 × ")

    # When the tent ships: its invoice lists it and deducts what was paid, nothing more is payable
    order_ship(order_id=order.pk)
    invoice = documents_of(order, DocumentKind.INVOICE)[0]
    assert invoice.total_gross == invoice.prepayment_deducted == Decimal("123.90")
    assert invoice.amount_payable == Decimal("0.00") and invoice.refers_to_id == prepayment.pk
    # And the documents reconcile with the payment to the cent
    assert documents_reconcile(order_ids=[order.pk]).differences == []
    assert _paid(order) == Decimal("134.60") == Decimal("145.30") - Decimal("10.70")


def test_a_deposit_is_invoiced_when_paid_and_each_parcel_deducts_what_it_used(stripe_settings, goods):
    tent, book, warehouse = goods
    _plan(book, "deposit", 20)
    # Given a tent in stock and a waiting book on a 20 % deposit: 119.00 + 4.90 + 2.14 charged now
    order = place_card(stripe_settings, [(tent, 1), (book, 1)])
    assert _paid(order) == Decimal("126.04")
    (prepayment,) = documents_of(order)
    assert prepayment.total_gross == Decimal("126.04")
    # When the tent ships, it is paid by the deposit payment already
    order_ship(order_id=order.pk)
    first = documents_of(order, DocumentKind.INVOICE)[0]
    assert (first.total_gross, first.prepayment_deducted, first.amount_payable) == (
        Decimal("123.90"),
        Decimal("123.90"),
        Decimal("0.00"),
    )
    # When the book's stock arrives, its balance is held, and it ships
    stock_adjust(variant_id=book.pk, warehouse_id=warehouse.pk, quantity_change=1)
    stock_arrived_process(variant_ids=[book.pk])
    card_charge_send(CardCharge.objects.get(purpose=ChargePurpose.ALLOCATION).pk)
    order_ship(order_id=order.pk)
    second = documents_of(order, DocumentKind.INVOICE)[1]
    # Then its invoice deducts the deposit (2.14) and 8.56 is payable: what the parcel captured
    assert (second.total_gross, second.prepayment_deducted, second.amount_payable) == (
        Decimal("10.70"),
        Decimal("2.14"),
        Decimal("8.56"),
    )
    assert as_tuples(second.totals) == [("7.00", "10.00", "0.70", "10.70")]
    assert sum(d.amount_payable for d in documents_of(order)) == _paid(order) == Decimal("134.60")
    assert documents_reconcile(order_ids=[order.pk]).differences == []


def test_cancelling_a_deposit_item_credits_its_deposit_and_the_delivery(stripe_settings, goods):
    _, book, _ = goods
    _plan(book, "deposit", 25)
    # Given two waiting books on a 25 % deposit: 5.35 and the delivery 4.90 charged
    order = place_card(stripe_settings, [(book, 2)])
    assert _paid(order) == Decimal("10.25")
    line = order.lines.get()
    # When both are cancelled, one at a time
    order_cancel_by_customer(order_id=order.pk, quantities={line.pk: 1}, user_id=None)
    order_cancel_by_customer(order_id=order.pk, quantities={line.pk: 1}, user_id=None)
    # Then two credit notes equal to the two refunds, at the book's rate, and nothing is left paid
    notes = documents_of(order, DocumentKind.CREDIT_NOTE)
    assert [n.total_gross for n in notes] == [
        Decimal("2.67"),
        Decimal("7.58"),
    ]  # 5.35 - 2.68 kept; 2.68 + 4.90
    assert [as_tuples(n.totals) for n in notes] == [
        [("7.00", "2.50", "0.17", "2.67")],
        [("7.00", "7.08", "0.50", "7.58")],
    ]
    assert _paid(order) == Decimal("0.00")
    assert documents_reconcile(order_ids=[order.pk]).differences == []


def test_a_card_charge_paid_at_once_before_shipping_is_a_prepayment_the_parcel_deducts(
    stripe_settings, goods, monkeypatch
):
    from orders import stripe_api

    _, book, warehouse = goods
    # Given a waiting book paid when it ships
    order = place_card(stripe_settings, [(book, 1)])
    assert documents_of(order) == []  # nothing taken at checkout
    # and its confirmation has gone out
    Notification.objects.filter(dedupe_key=f"order-confirmed:{order.pk}").update(
        status=NotificationStatus.SENT
    )
    # When its stock arrives and the bank takes its price at once (Stripe answers "succeeded",
    # not a hold: as when a payment completes away from the shop)
    create = stripe_api.payment_intent_create
    monkeypatch.setattr(
        stripe_api, "payment_intent_create", lambda **kw: create(**{**kw, "capture_manual": False})
    )
    stock_adjust(variant_id=book.pk, warehouse_id=warehouse.pk, quantity_change=1)
    stock_arrived_process(variant_ids=[book.pk])
    monkeypatch.setattr(stripe_api, "payment_intent_create", create)
    charge = CardCharge.objects.get(purpose=ChargePurpose.ALLOCATION)
    assert (charge.status, charge.amount_captured) == ("captured", Decimal("10.70"))
    # Then the money taken is a prepayment invoice of 10.70 at 7 %
    (prepayment,) = documents_of(order)
    assert (prepayment.kind, prepayment.total_gross) == (DocumentKind.PREPAYMENT, Decimal("10.70"))
    assert as_tuples(prepayment.totals) == [("7.00", "10.00", "0.70", "10.70")]
    # And, the confirmation having gone without it, it comes in an email of its own, attached
    (row,) = Notification.objects.filter(kind=NotificationKind.INVOICE_ISSUED)
    assert (row.recipient, row.context) == (order.email, {"document_id": prepayment.pk, "order_id": order.pk})
    message = build_message(row)
    assert message.subject == f"Invoice {prepayment.number} for your payment on order {order.number}"
    assert "We have received your payment of €10.70" in message.body
    assert [(name, mimetype) for name, _, mimetype in message.attachments] == [
        (f"{prepayment.number}.pdf", "application/pdf")
    ]
    # When it ships, the parcel charges the delivery only and its invoice deducts the 10.70
    order_ship(order_id=order.pk)
    invoice = documents_of(order, DocumentKind.INVOICE)[0]
    assert (invoice.total_gross, invoice.prepayment_deducted, invoice.amount_payable) == (
        Decimal("15.60"),
        Decimal("10.70"),
        Decimal("4.90"),
    )
    assert _paid(order) == Decimal("15.60")
    assert documents_reconcile(order_ids=[order.pk]).differences == []
