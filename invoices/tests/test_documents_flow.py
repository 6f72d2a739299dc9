"""The whole way through the real services: a German guest's order ships in two parcels, each
shipment email (sent through a real SMTP server) carries that parcel's invoice as a German PDF, the
same bytes as the one stored; a cancellation after capture sends a credit note by email."""

import datetime
import hashlib
import io

import pytest
from pypdf import PdfReader

from invoices.models import Document, DocumentKind
from orders.models import Order
from orders.services import order_ship
from orders.tests.helpers import allow_backorders, give_stock
from tax.models import TaxClass
from tax.tests.factories import rates_replace

from .helpers import place_test_card, variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings, smtp_server, tmp_path):
    settings.SHOP_DOCUMENTS_ROOT = str(tmp_path / "documents")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_server


def pdf_attachments(message) -> dict[str, bytes]:
    return {
        part.get_filename(): part.get_payload(decode=True)
        for part in message.walk()
        if part.get_content_type() == "application/pdf"
    }


def text_of(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_each_shipment_email_carries_its_own_invoice_as_stored(smtp, django_capture_on_commit_callbacks):
    # Given a German guest's order of a kettle in stock and a tent that waits on backorder
    rates_replace([("DE", TaxClass.STANDARD, "19", datetime.date(2026, 1, 1), None)])
    kettle, tent = variant("59.50", sku="KETTLE"), variant("119.00", sku="TENT")
    give_stock(kettle, 3)
    allow_backorders(tent)
    order = place_test_card([(kettle, 1), (tent, 1)])
    Order.objects.filter(pk=order.pk).update(language="de")

    # When the kettle ships, then the tent once it arrived
    with django_capture_on_commit_callbacks(execute=True):
        first = order_ship(order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        give_stock(tent, 1)  # the allocation pass runs after the commit
    with django_capture_on_commit_callbacks(execute=True):
        second = order_ship(order_id=order.pk)

    # Then two invoices, each stored once and attached to its own shipment's email
    invoices = {d.shipment_id: d for d in Document.objects.filter(order=order, kind=DocumentKind.INVOICE)}
    assert set(invoices) == {first.pk, second.pk}
    shipped_emails = [m for m in smtp.wait_for(2) if pdf_attachments(m)]
    assert len(shipped_emails) == 2
    for message, shipment in zip(shipped_emails, (first, second), strict=True):
        invoice = invoices[shipment.pk]
        [(name, content)] = pdf_attachments(message).items()
        assert name == f"{invoice.number}.pdf"
        assert content.startswith(b"%PDF")
        assert invoice.pdf_sha256 == hashlib.sha256(content).hexdigest()  # the stored file, not another
        text = text_of(content)
        assert invoice.number in text and order.number in text
        assert "19\xa0%" in text  # German: the rate after a no-break space
    assert "59,50\xa0€" in text_of(pdf_attachments(shipped_emails[0])[f"{invoices[first.pk].number}.pdf"])


@pytest.mark.django_db(transaction=True)
def test_a_refund_sends_the_credit_note_by_email_with_its_pdf(smtp, stripe_settings, client):
    # Given a card order that shipped (its invoice issued and emailed)
    from orders.tests.test_stripe_webhooks import charge_refunded_event, deliver

    from .helpers import place_card

    rates_replace([("DE", TaxClass.STANDARD, "19", datetime.date(2026, 1, 1), None)])
    tent = variant("119.00")
    give_stock(tent, 1)
    order = place_card(stripe_settings, [(tent, 1)])
    order_ship(order_id=order.pk)
    invoice = Document.objects.get(order=order, kind=DocumentKind.INVOICE)
    # When staff refund 10.00 in Stripe's dashboard and Stripe tells the shop
    (charge,) = order.payment.charges.all()
    stripe_settings.client().v1.refunds.create(params={"payment_intent": charge.stripe_id, "amount": 1000})
    stripe_settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    assert deliver(client, charge_refunded_event(stripe_settings, charge.stripe_id)).status_code == 200

    # Then the customer gets the credit note's own email, its PDF attached and stored
    credit_note = Document.objects.get(order=order, kind=DocumentKind.CREDIT_NOTE)
    messages = smtp.wait_for(3)
    [message] = [m for m in messages if m["Subject"].startswith("Credit note")]
    assert message["Subject"] == f"Credit note {credit_note.number} for order {order.number}"
    assert message["To"] == order.email
    content = pdf_attachments(message)[f"{credit_note.number}.pdf"]
    text = text_of(content)
    assert credit_note.number in text and f"corrects invoice {invoice.number}" in text
    assert "€10.00" in text
    assert Document.objects.get(pk=credit_note.pk).pdf_sha256 == hashlib.sha256(content).hexdigest()
