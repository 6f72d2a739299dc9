"""An invoice per shipment: exactly what it ships, VAT at the rates of its date, to the cent."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from invoices.models import DocumentKind
from orders.models import Order, Shipment
from orders.services import order_ship
from orders.tests.helpers import allow_backorders, give_stock
from tax.models import TaxClass
from tax.tests.factories import rates_replace

from .helpers import as_tuples, documents_of, invoices_of, place_test_card, variant

pytestmark = pytest.mark.django_db

JAN_1 = datetime.date(2026, 1, 1)


@pytest.fixture
def rates():
    return rates_replace(
        [
            ("DE", TaxClass.STANDARD, "19", JAN_1, None),
            ("DE", TaxClass.REDUCED, "7", JAN_1, None),
            ("DE", TaxClass.ZERO, "0", JAN_1, None),
            ("FR", TaxClass.STANDARD, "20", JAN_1, None),
            ("FR", TaxClass.REDUCED, "5.5", JAN_1, None),
            ("FR", TaxClass.ZERO, "0", JAN_1, None),
            ("AT", TaxClass.STANDARD, "20", JAN_1, None),
        ]
    )


def test_standard_reduced_and_zero_goods_in_one_parcel_with_shipping_split_over_their_rates(rates):
    # Given a German order of a tent (19 %), a book (7 %) and a newspaper (0 %), all in stock
    tent, book, paper = variant("119.00"), variant("10.70", TaxClass.REDUCED), variant("2.00", TaxClass.ZERO)
    for v in (tent, book, paper):
        give_stock(v, 5)
    order = place_test_card([(tent, 1), (book, 2), (paper, 1)])
    # When it ships
    shipment = order_ship(order_id=order.pk)
    # Then one invoice of exactly the shipment's amount, goods then shipping split in proportion
    (invoice,) = documents_of(order)
    assert invoice.kind == DocumentKind.INVOICE and invoice.shipment_id == shipment.pk
    assert shipment.amount == Decimal("147.30")  # 119 + 21.40 + 2 + 4.90 shipping
    assert invoice.total_gross == invoice.amount_payable == Decimal("147.30")
    assert invoice.prepayment_deducted == Decimal("0")
    assert [(x["sku"], x["quantity"], x["unit_gross"], x["gross"], x["rate"]) for x in invoice.lines] == [
        (tent.sku, 1, "119.00", "119.00", "19.00"),
        (book.sku, 2, "10.70", "21.40", "7.00"),
        (paper.sku, 1, "2.00", "2.00", "0.00"),
        # 4.90 × 119/142.40 = 4.0949 -> 4.09; × 21.40/142.40 = 0.7364 -> 0.74; × 2/142.40 = 0.0688 -> 0.07
        ("", 1, "4.09", "4.09", "19.00"),
        ("", 1, "0.74", "0.74", "7.00"),
        ("", 1, "0.07", "0.07", "0.00"),
    ]
    # VAT per rate on the rate's whole gross: 123.09 × 19/119 = 19.653 -> 19.65; 22.14 × 7/107 = 1.448 -> 1.45
    assert as_tuples(invoice.totals) == [
        ("19.00", "103.44", "19.65", "123.09"),
        ("7.00", "20.69", "1.45", "22.14"),
        ("0.00", "2.07", "0.00", "2.07"),
    ]
    assert invoice.seller == {
        "name": "Backorder Shop GmbH",
        "address": ["Musterstraße 1", "10115 Berlin", "Germany"],
        "vat_id": "DE123456789",
    }
    assert invoice.buyer["country"] == "DE" and invoice.buyer["address"] == ["Hauptstraße 5", "50667 Köln"]
    assert invoice.number == f"{invoice.year}-000001" and invoice.notes == []


def test_two_countries_two_rates_for_the_same_price(rates):
    # Given the same tent sold to Germany and to France (prices include VAT: the same gross)
    tent = variant("120.00")
    give_stock(tent, 5)
    german, french = place_test_card([(tent, 1)], country="DE"), place_test_card([(tent, 1)], country="FR")
    # When both ship
    order_ship(order_id=german.pk)
    order_ship(order_id=french.pk)
    # Then each invoice splits 124.90 at its destination's rate
    (de,), (fr,) = invoices_of(german), invoices_of(french)
    assert as_tuples(de.totals) == [("19.00", "104.96", "19.94", "124.90")]  # 124.90 × 19/119 = 19.942
    assert as_tuples(fr.totals) == [("20.00", "104.08", "20.82", "124.90")]  # 124.90 × 20/120 = 20.816
    assert (de.number, fr.number) == (f"{de.year}-000001", f"{de.year}-000002")


def test_an_export_and_a_reverse_charge_sale_carry_no_vat_and_say_why(rates):
    tent = variant("100.00")
    give_stock(tent, 5)
    export = place_test_card([(tent, 1)], country="US")
    order_ship(order_id=export.pk)
    (invoice,) = invoices_of(export)
    assert [t["rate"] for t in invoice.totals] == ["0.00"] and invoice.totals[0]["vat"] == "0.00"
    assert invoice.notes == [
        "Export outside the EU: exempt from VAT (Article 146, Council Directive 2006/112/EC)."
    ]
    # A business in Austria with a VAT number, marked reverse charge at checkout
    b2b = place_test_card([(tent, 1)], country="AT")
    b2b.reverse_charge, b2b.vat_number, b2b.company_name = True, "ATU13585627", "Huber GmbH"
    b2b.save(update_fields=["reverse_charge", "vat_number", "company_name"])
    order_ship(order_id=b2b.pk)
    (invoice,) = invoices_of(b2b)
    assert invoice.reverse_charge and [t["vat"] for t in invoice.totals] == ["0.00"]
    assert invoice.buyer["company"] == "Huber GmbH" and invoice.buyer["vat_number"] == "ATU13585627"
    assert invoice.notes[0].startswith("Reverse charge: VAT is owed by the recipient")
    assert "ATU13585627" in invoice.notes[0]


def test_a_rate_change_between_order_and_shipment_uses_the_new_rate_and_the_promised_price(
    rates, django_capture_on_commit_callbacks
):
    # Given a waiting tent ordered at 19 % in November; the standard rate becomes 21 % on 1 December
    rates_replace(
        [
            ("DE", TaxClass.STANDARD, "19", JAN_1, datetime.date(2026, 11, 30)),
            ("DE", TaxClass.STANDARD, "21", datetime.date(2026, 12, 1), None),
        ]
    )
    tent = variant("119.00")
    allow_backorders(tent)
    with time_machine.travel(datetime.datetime(2026, 11, 20, 10, tzinfo=datetime.UTC)):
        order = place_test_card([(tent, 1)])
    # When its stock arrives and it ships on 3 December
    with time_machine.travel(datetime.datetime(2026, 12, 3, 10, tzinfo=datetime.UTC)):
        with django_capture_on_commit_callbacks(execute=True):
            give_stock(tent, 1)  # the allocation pass runs after the commit
        order_ship(order_id=order.pk)
    # Then the invoice charges the promised 119.00 + 4.90 and splits it at 21 %
    (invoice,) = invoices_of(order)
    assert invoice.tax_point == datetime.date(2026, 12, 3)
    assert invoice.total_gross == Decimal("123.90") == Shipment.objects.get(order=order).amount
    assert as_tuples(invoice.totals) == [("21.00", "102.40", "21.50", "123.90")]  # 123.90 × 21/121 = 21.503


def test_a_split_order_shipped_in_three_parts_has_three_invoices_adding_up_to_what_was_captured(
    rates, django_capture_on_commit_callbacks
):
    tent, book = variant("119.00"), variant("10.70", TaxClass.REDUCED)
    allow_backorders(tent)
    allow_backorders(book)
    give_stock(tent, 1)
    order = place_test_card([(tent, 2), (book, 3)])  # 1 tent now; the rest waits
    order_ship(order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        give_stock(book, 3)
    order_ship(order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        give_stock(tent, 1)
    order_ship(order_id=order.pk)
    invoices = invoices_of(order)
    assert [i.total_gross for i in invoices] == [Decimal("123.90"), Decimal("32.10"), Decimal("119.00")]
    order.payment.refresh_from_db()
    assert sum(i.amount_payable for i in invoices) == order.payment.amount_captured == Decimal("275.00")
    assert [i.sequence for i in invoices] == [1, 2, 3]
    assert as_tuples(invoices[1].totals) == [("7.00", "30.00", "2.10", "32.10")]


def test_units_sold_at_the_backorder_price_are_their_own_invoice_line(
    rates, django_capture_on_commit_callbacks
):
    # Given three tents, one in stock, two waiting at a 10 % backorder discount
    tent = variant("100.00")
    allow_backorders(tent, backorder_discount_percent=Decimal("10"))
    give_stock(tent, 1)
    order = place_test_card([(tent, 3)])
    order_ship(order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        give_stock(tent, 2)
    # When the two waiting tents ship
    order_ship(order_id=order.pk)
    # Then the first invoice has the full-price tent and the delivery, the second the two at 90.00
    first, second = invoices_of(order)
    assert [(x["quantity"], x["unit_gross"], x["gross"]) for x in first.lines] == [
        (1, "100.00", "100.00"),
        (1, "4.90", "4.90"),
    ]
    assert [(x["description"], x["quantity"], x["unit_gross"], x["gross"]) for x in second.lines] == [
        (f"{tent.product.name} (backorder price)", 2, "90.00", "180.00"),
    ]
    assert as_tuples(second.totals) == [("19.00", "151.26", "28.74", "180.00")]  # 180 × 19/119 = 28.739
    order.payment.refresh_from_db()
    assert first.amount_payable + second.amount_payable == order.payment.amount_captured == Decimal("284.90")


def test_a_german_order_gets_its_wording_in_german_an_english_one_in_english(rates):
    tent = variant("100.00")
    give_stock(tent, 5)
    german, english = place_test_card([(tent, 1)], country="US"), place_test_card([(tent, 1)], country="US")
    Order.objects.filter(pk=german.pk).update(language="de")
    Order.objects.filter(pk=english.pk).update(language="en")
    order_ship(order_id=german.pk)
    order_ship(order_id=english.pk)
    (de,), (en,) = invoices_of(german), invoices_of(english)
    assert (de.language, en.language) == ("de", "en")
    assert de.notes == [
        "Ausfuhr in ein Land außerhalb der EU: umsatzsteuerfrei (Art. 146 der Richtlinie 2006/112/EG)."
    ]
    assert en.notes == [
        "Export outside the EU: exempt from VAT (Article 146, Council Directive 2006/112/EC)."
    ]
    assert (de.lines[-1]["description"], en.lines[-1]["description"]) == ("Versand", "Shipping")
