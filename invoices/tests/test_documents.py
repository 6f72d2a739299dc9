"""Documents as people see them: the PDF and HTML, the task that stores the PDF once, the emails that
carry it (through a real SMTP server), the customer's downloads and the admin."""

import hashlib
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django.utils.http import urlencode
from pypdf import PdfReader

from invoices.models import Document, DocumentKind
from invoices.rendering import document_html, document_pdf
from invoices.services.pdf import document_pdf_ensure, documents_without_pdf
from invoices.tasks import render_document_pdf, sweep_document_pdfs
from invoices.tests.sample_documents import issued_document
from notifications.models import NotificationKind
from notifications.services import notification_send
from notifications.tests.factories import NotificationFactory
from orders.models import ShipmentLine
from orders.tests.factories import OrderFactory, OrderLineFactory
from orders.tokens import make_order_token

pytestmark = pytest.mark.django_db

REVERSE_CHARGE = "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)"


@pytest.fixture(autouse=True)
def documents_root(settings, tmp_path):
    settings.SHOP_DOCUMENTS_ROOT = str(tmp_path / "documents")
    return tmp_path / "documents"


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def pdf_fonts(content: bytes) -> set[str]:
    fonts = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    return fonts


# --- the PDF and the page ------------------------------------------------------------------------


def test_the_pdf_shows_seller_buyer_dates_lines_totals_per_rate_and_notes():
    # Given a B2B invoice under the reverse charge, with goods at 0 %
    order = OrderFactory(number="BO-000777")
    document = issued_document(
        order=order,
        buyer={
            "name": "Ann Example",
            "company": "Example BV",
            "address": ["Keizersgracht 1", "1015 CJ Amsterdam"],
            "country": "NL",
            "vat_number": "NL123456789B01",
            "email": "ann@example.com",
        },
        reverse_charge=True,
        lines=[
            {
                "description": "Enamel mug (Blue)",
                "sku": "MUG-BLUE",
                "quantity": 2,
                "unit_gross": "20.00",
                "gross": "40.00",
                "rate": "0.00",
                "tax_class": "standard",
            },
        ],
        totals=[{"rate": "0.00", "net": "40.00", "vat": "0.00", "gross": "40.00"}],
        total_gross=Decimal("40.00"),
        amount_payable=Decimal("40.00"),
        notes=[REVERSE_CHARGE],
    )

    content = document_pdf(document)

    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    for expected in (
        "Invoice",
        document.number,
        "BO-000777",
        "Backorder Shop GmbH",
        "VAT ID: DE123456789",
        "Example BV",
        "VAT number: NL123456789B01",
        "Netherlands",
        "1 December 2026",
        "Enamel mug (Blue)",
        "MUG-BLUE",
        "€20.00",
        "€40.00",
        "0%",
        "Reverse charge: VAT to be accounted for by the recipient",
        "Amount payable",
    ):
        assert expected in text, expected
    assert pdf_fonts(content) == {"Invoice-Sans", "Invoice-Sans-Bold"}  # DejaVu Sans, embedded


def test_the_same_document_renders_to_the_same_bytes():
    document = issued_document()

    assert document_pdf(document) == document_pdf(Document.objects.get(pk=document.pk))


def test_a_german_document_writes_money_and_dates_the_german_way_whatever_the_request_language():
    document = issued_document(language="de")

    text = pdf_text(document_pdf(document))
    html = document_html(document)

    assert "54,40\xa0€" in text.replace(" €", "\xa0€") and "1. Dezember 2026" in text
    assert "19\xa0%" in html and '<html lang="de">' in html


def test_a_credit_note_names_the_invoice_it_corrects_and_the_amount_refunded():
    invoice = issued_document()
    credit = issued_document(order=invoice.order, kind=DocumentKind.CREDIT_NOTE, refers_to=invoice)

    text = pdf_text(document_pdf(credit))

    assert "Credit note" in text and credit.number.startswith("CN-2026-")
    assert f"This credit note corrects invoice {invoice.number} of 1 December 2026." in text
    assert "Amount refunded" in text


def test_an_invoice_after_a_prepayment_deducts_it():
    order = OrderFactory()
    prepayment = issued_document(order=order, kind=DocumentKind.PREPAYMENT)
    invoice = issued_document(
        order=order,
        refers_to=prepayment,
        total_gross=Decimal("54.50"),  # amounts exact in binary: SQLite checks the constraint in floats
        prepayment_deducted=Decimal("22.50"),
        amount_payable=Decimal("32.00"),
    )

    text = pdf_text(document_pdf(invoice))

    assert f"Prepayment deducted ({prepayment.number})" in text
    assert "-€22.50" in text and "€32.00" in text


# --- stored once, after commit ------------------------------------------------------------------


def test_the_task_stores_the_pdf_once_under_year_and_number(documents_root):
    document = issued_document()

    render_document_pdf(document.pk)
    render_document_pdf(document.pk)  # a redelivered message

    stored = Document.objects.get(pk=document.pk)
    assert stored.pdf.name == f"2026/{document.number}.pdf"
    content = (documents_root / stored.pdf.name).read_bytes()
    assert content.startswith(b"%PDF") and document.number in pdf_text(content)
    assert stored.pdf_sha256 == hashlib.sha256(content).hexdigest()
    assert sorted(p.name for p in (documents_root / "2026").iterdir()) == [f"{document.number}.pdf"]


def test_a_rendering_that_loses_the_race_keeps_the_stored_pdf(documents_root, monkeypatch):
    # Given a document whose PDF another worker stores while this one renders
    document = issued_document()
    from invoices.services import pdf as pdf_service

    real_render = pdf_service.document_pdf

    def render_while_another_stores(doc):
        content = real_render(doc)
        Document.objects.filter(pk=doc.pk).update(pdf="2026/first.pdf", pdf_sha256="f" * 64)
        return content

    monkeypatch.setattr(pdf_service, "document_pdf", render_while_another_stores)

    result = document_pdf_ensure(document_id=document.pk)

    assert (result.pdf.name, result.pdf_sha256) == ("2026/first.pdf", "f" * 64)
    assert not (documents_root / "2026" / f"{document.number}.pdf").exists()  # its own file removed


def test_issuing_enqueues_the_pdf_after_commit(django_capture_on_commit_callbacks):
    from invoices.events import document_issued

    document = issued_document()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        document_issued.send(document_id=document.pk, kind=document.kind)

    assert len(callbacks) == 1
    assert Document.objects.get(pk=document.pk).pdf.name == f"2026/{document.number}.pdf"


def test_the_sweep_finishes_documents_left_without_a_pdf():
    old = issued_document(issued_at=timezone.now() - timedelta(minutes=5))
    fresh = issued_document(issued_at=timezone.now())
    done = issued_document(issued_at=timezone.now() - timedelta(minutes=5))
    render_document_pdf(done.pk)

    assert documents_without_pdf() == [old.pk]
    assert sweep_document_pdfs() == 1

    assert Document.objects.get(pk=old.pk).pdf_sha256 != ""
    assert Document.objects.get(pk=fresh.pk).pdf_sha256 == ""


# --- emails through a real SMTP server ----------------------------------------------------------


@pytest.fixture
def smtp(settings, smtp_server):
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


def shipped_order():
    line = OrderLineFactory(quantity=2, quantity_allocated=0, quantity_backordered=0, quantity_shipped=2)
    document = issued_document(order=line.order)
    ShipmentLine.objects.create(shipment=document.shipment, order_line=line, quantity=2)
    return line.order, document


def test_the_shipment_email_carries_its_invoice_rendered_on_the_spot(smtp):
    # Given a shipment whose invoice's PDF task has not run yet
    order, invoice = shipped_order()
    row = NotificationFactory(
        kind=NotificationKind.ORDER_SHIPPED,
        recipient=order.email,
        context={"order_id": order.pk, "shipment_id": invoice.shipment_id},
    )

    assert notification_send(notification_id=row.pk).status == "sent"

    [message] = smtp.wait_for(1)
    attached = pdf_attachments(message)
    assert list(attached) == [f"{invoice.number}.pdf"]
    content = attached[f"{invoice.number}.pdf"]
    assert content.startswith(b"%PDF") and invoice.number in pdf_text(content)
    stored = Document.objects.get(pk=invoice.pk)  # stored by the email: the task will find it done
    assert stored.pdf_sha256 == hashlib.sha256(content).hexdigest()


def test_the_shipment_email_goes_without_the_pdf_when_it_cannot_be_made(smtp, monkeypatch):
    order, invoice = shipped_order()
    from invoices.services import pdf as pdf_service

    monkeypatch.setattr(pdf_service, "document_pdf", lambda doc: (_ for _ in ()).throw(OSError("no disk")))
    row = NotificationFactory(
        kind=NotificationKind.ORDER_SHIPPED,
        recipient=order.email,
        context={"order_id": order.pk, "shipment_id": invoice.shipment_id},
    )

    assert notification_send(notification_id=row.pk).status == "sent"

    [message] = smtp.wait_for(1)
    assert pdf_attachments(message) == {}


def test_a_credit_note_gets_its_own_email_with_its_pdf(smtp, django_capture_on_commit_callbacks, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from invoices.events import document_issued

    invoice = issued_document()
    credit = issued_document(order=invoice.order, kind=DocumentKind.CREDIT_NOTE, refers_to=invoice)

    with django_capture_on_commit_callbacks(execute=True):
        document_issued.send(document_id=credit.pk, kind=credit.kind)

    [message] = smtp.wait_for(1)
    assert message["To"] == invoice.order.email
    assert message["Subject"] == f"Credit note {credit.number} for order {invoice.order.number}"
    content = pdf_attachments(message)[f"{credit.number}.pdf"]
    assert content.startswith(b"%PDF") and credit.number in pdf_text(content)


# --- the customer's downloads ---------------------------------------------------------------------


@pytest.fixture
def owner():
    return get_user_model().objects.create_user(email="ann@example.com", password="pw")


def test_the_owner_downloads_the_pdf_and_views_the_page(owner):
    document = issued_document(order=OrderFactory(user=owner))
    client = Client()
    client.force_login(owner)

    response = client.get(f"/documents/{document.pk}/pdf/")
    page = client.get(f"/documents/{document.pk}/")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{document.number}.pdf"'
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert page.status_code == 200 and document.number in page.content.decode()


def test_the_signed_link_opens_the_document_and_anyone_else_gets_404(owner):
    document = issued_document(order=OrderFactory(user=owner))
    other = issued_document()
    token = make_order_token(document.order.number)
    stranger = get_user_model().objects.create_user(email="eve@example.com", password="pw")
    signed_in_stranger = Client()
    signed_in_stranger.force_login(stranger)

    assert Client().get(f"/documents/{document.pk}/pdf/?token={token}").status_code == 200
    assert Client().get(f"/documents/{document.pk}/?token={token}").status_code == 200
    assert Client().get(f"/documents/{document.pk}/pdf/").status_code == 404
    assert Client().get(f"/documents/{other.pk}/pdf/?token={token}").status_code == 404  # another order's
    assert signed_in_stranger.get(f"/documents/{document.pk}/pdf/").status_code == 404
    assert Client().get(f"/documents/999999/pdf/?token={token}").status_code == 404
    assert Document.objects.get(pk=other.pk).pdf_sha256 == ""  # nothing rendered for a refusal


@pytest.mark.parametrize("count", [1, 4])
def test_the_order_page_lists_its_documents_in_one_query(owner, count, django_assert_max_num_queries):
    order = OrderFactory(user=owner)
    OrderLineFactory(order=order)
    documents = [issued_document(order=order) for _ in range(count)]
    client = Client()
    client.force_login(owner)

    with django_assert_max_num_queries(13):
        response = client.get(f"/orders/{order.number}/")

    html = response.content.decode()
    for document in documents:
        assert f'href="/documents/{document.pk}/pdf/"' in html and f'href="/documents/{document.pk}/"' in html
    assert html.count("Download PDF") == count


def test_the_order_page_links_carry_the_signed_token():
    order = OrderFactory()
    document = issued_document(order=order)
    token = make_order_token(order.number)

    html = Client().get(f"/orders/{order.number}/?token={token}").content.decode()

    assert f'href="/documents/{document.pk}/pdf/?{urlencode({"token": token})}"' in html


# --- the admin ------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 6])
def test_the_admin_lists_documents_read_only_with_their_pdf(
    admin_client, count, django_assert_max_num_queries
):
    documents = [issued_document() for _ in range(count)]

    with django_assert_max_num_queries(8):
        response = admin_client.get("/admin/invoices/document/")

    html = response.content.decode()
    assert response.status_code == 200
    for document in documents:
        assert f"/admin/invoices/document/{document.pk}/pdf/" in html
    assert admin_client.get("/admin/invoices/document/add/").status_code == 403
    assert "delete_selected" not in html


def test_the_admin_searches_by_number_order_and_email(admin_client):
    document = issued_document()
    other = issued_document()

    for term in (document.number, document.order.number, document.order.email):
        html = admin_client.get("/admin/invoices/document/", {"q": term}).content.decode()
        assert document.number in html and other.number not in html, term


def test_staff_download_the_pdf_and_see_documents_on_the_order(admin_client):
    document = issued_document()

    response = admin_client.get(f"/admin/invoices/document/{document.pk}/pdf/")
    order_page = admin_client.get(f"/admin/orders/order/{document.order_id}/change/").content.decode()

    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    change = admin_client.get(f"/admin/invoices/document/{document.pk}/change/")
    page = admin_client.get(f"/admin/invoices/document/{document.pk}/page/")
    assert (
        change.status_code == 200
        and f"/admin/invoices/document/{document.pk}/page/" in change.content.decode()
    )
    assert page.status_code == 200 and document.number in page.content.decode()
    assert f"/admin/invoices/document/{document.pk}/change/" in order_page
    assert f"/admin/invoices/document/{document.pk}/pdf/" in order_page


def test_the_order_confirmation_carries_the_prepayment_invoices(smtp):
    # Given an order whose money was taken at checkout (a prepayment invoice), and one that was not
    line = OrderLineFactory()
    prepayment = issued_document(order=line.order, kind=DocumentKind.PREPAYMENT)
    plain = OrderLineFactory().order
    rows = [
        NotificationFactory(
            kind=NotificationKind.ORDER_CONFIRMED, recipient=o.email, context={"order_id": o.pk}
        )
        for o in (line.order, plain)
    ]

    for row in rows:
        assert notification_send(notification_id=row.pk).status == "sent"

    by_recipient = {m["To"]: pdf_attachments(m) for m in smtp.wait_for(2)}
    content = by_recipient[line.order.email][f"{prepayment.number}.pdf"]
    assert content.startswith(b"%PDF") and "Prepayment invoice" in pdf_text(content)
    assert by_recipient[plain.email] == {}


def test_a_long_document_names_itself_on_every_page_with_its_page_number():
    lines = [
        {
            "description": f"Item {n}",
            "sku": f"SKU-{n}",
            "quantity": 1,
            "unit_gross": "1.00",
            "gross": "1.00",
            "rate": "19.00",
            "tax_class": "standard",
        }
        for n in range(40)
    ]
    document = issued_document(lines=lines)

    pages = PdfReader(io.BytesIO(document_pdf(document))).pages

    assert len(pages) == 3
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert document.number in text and f"{number} / 3" in text
    assert "Item 39" in pages[2].extract_text() and "Amount payable" in pages[2].extract_text()


def test_a_german_credit_note_email_is_german(smtp, django_capture_on_commit_callbacks):
    from invoices.events import document_issued

    invoice = issued_document(language="de")
    credit = issued_document(
        order=invoice.order, kind=DocumentKind.CREDIT_NOTE, refers_to=invoice, language="de"
    )

    with django_capture_on_commit_callbacks(execute=True):
        document_issued.send(document_id=credit.pk, kind=credit.kind)

    [message] = smtp.wait_for(1)
    assert message["Subject"] == f"Gutschrift {credit.number} zu Bestellung {invoice.order.number}"
    text = pdf_text(pdf_attachments(message)[f"{credit.number}.pdf"])
    assert "Gutschrift" in text and "54,40" in text


def test_the_credit_note_email_has_an_admin_preview(admin_client):
    invoice = issued_document()
    credit = issued_document(order=invoice.order, kind=DocumentKind.CREDIT_NOTE, refers_to=invoice)

    response = admin_client.get(
        f"/admin/notifications/notification/preview/{NotificationKind.CREDIT_NOTE_ISSUED}/"
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert f"Credit note {credit.number} for order {invoice.order.number}" in content
    assert f"It corrects invoice {invoice.number}." in content
