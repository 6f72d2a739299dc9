"""Selling in Europe, end to end in Chromium (issue 21's "done when"): a guest in Germany shops on the
German pages, buys a lantern in stock and a tent on backorder, pays by card through Stripe.js (the
suite's localstripe) and gets a German confirmation; the lantern ships and its email carries an
invoice PDF with 19 % German VAT, the tent arrives, ships, and brings the second invoice. A second
order, paid in full at checkout, is cancelled on its German order page: the refund comes with a
credit note of the same amount. Every document reconciles with the money. Screenshots:
e2e/screenshots/europe/.
"""

import io
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from e2e.helpers import SCREENSHOTS_DIR, Screenshots, a_catalog, text_of, wait_until
from inventory.services import purchase_order_receive
from invoices.models import Document, DocumentKind
from invoices.selectors import documents_reconcile
from orders.models import CardCharge, ChargePurpose, ChargeStatus, Order
from orders.services import order_ship
from orders.tests.helpers import allow_backorders
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "anna@example.de"


@pytest.fixture
def card_shop(any_live_shop, stripe_settings, monkeypatch, settings, tmp_path):
    """The live shop with card payments through the suite's localstripe, documents kept in a
    temporary folder."""
    for name, value in {
        "STRIPE_API_BASE": stripe_settings.base_url,
        "STRIPE_SECRET_KEY": stripe_settings.secret_key,
        "STRIPE_PUBLISHABLE_KEY": stripe_settings.publishable_key,
        "STRIPE_WEBHOOK_SECRET": stripe_settings.webhook_secret,
    }.items():
        monkeypatch.setenv(name, value)
    settings.SHOP_DOCUMENTS_ROOT = str(tmp_path / "documents")
    return any_live_shop()


def add_to_cart_in_german(page, slug: str) -> None:
    page.goto(f"/de/p/{slug}/")
    page.locator("form.add-to-cart button[type=submit]").click()
    expect(page.get_by_role("heading", name="Ihr Warenkorb")).to_be_visible()


def check_out_in_german(page, shots: Screenshots, name: str) -> str:
    """From the German cart to a placed order paid by card; the order's number."""
    page.get_by_role("link", name="Zur Kasse").click()
    page.locator("#id_email").fill(EMAIL)
    page.locator("#id_full_name").fill("Anna Schmidt")
    page.locator("#id_address_line1").fill("Hauptstraße 5")
    page.locator("#id_city").fill("Köln")
    page.locator("#id_postcode").fill("50667")
    page.locator("#id_country").select_option("DE")
    page.get_by_label("Karte (Visa, Mastercard, American Express)").check()
    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill("4242424242424242")
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("30")
    card.get_by_placeholder("cvc").fill("123")
    page.get_by_label("Ich akzeptiere die Bedingungen für Nachlieferungen").check()
    shots.take(page, f"{name}-checkout")
    page.get_by_role("button", name="Zahlungspflichtig bestellen").click()
    expect(page.get_by_role("heading", name="Vielen Dank für Ihre Bestellung!")).to_be_visible()
    shots.take(page, f"{name}-placed")
    heading = page.get_by_role("heading", level=1).inner_text()
    return re.fullmatch(r"Bestellung (BO-\w+)", heading).group(1)


def pdf_of(message) -> tuple[str, str]:
    """The (file name, text) of the email's one PDF attachment."""
    [(filename, content)] = [
        (part.get_filename(), part.get_payload(decode=True))
        for part in message.walk()
        if part.get_content_type() == "application/pdf"
    ]
    assert content.startswith(b"%PDF")
    return filename, " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_a_german_guest_pays_gets_two_invoices_and_a_credit_note(card_shop, browser_session):
    catalog = a_catalog(waiting_name="Alpine Tent")  # lantern 24.50 in stock, tent 180.00 waiting
    shots = Screenshots(folder=SCREENSHOTS_DIR / "europe")
    guest = browser_session.new_page("guest", base_url=card_shop.url)

    # Given a guest in Germany who buys on the German pages
    add_to_cart_in_german(guest, "trail-lantern")
    add_to_cart_in_german(guest, "alpine-tent")
    shots.take(guest, "cart")
    number = check_out_in_german(guest, shots, "first")
    order = Order.objects.get(number=number)
    assert (order.language, order.country) == ("de", "DE")
    assert sorted(order.lines.values_list("sku", "tax_rate")) == sorted(
        [(catalog.lantern.sku, Decimal("19.00")), (catalog.waiting.sku, Decimal("19.00"))]
    )
    shipping = order.shipping_cost

    # Then the confirmation is German, with German money
    confirmation = card_shop.wait_for_mail(to=EMAIL, subject=f"Bestellung {number} bestätigt")
    assert "24,50\xa0€" in text_of(confirmation)

    # When the lantern ships: the card's hold is captured, the email carries invoice 1
    order_ship(order_id=order.pk)
    first = Document.objects.get(order=order, kind=DocumentKind.INVOICE)
    shipped = card_shop.wait_for_mail(to=EMAIL, subject=f"Bestellung {number}: Ein Teil Ihrer Bestellung")
    filename, text = pdf_of(shipped)
    assert filename == f"{first.number}.pdf"
    gross = Decimal("24.50") + shipping
    assert first.total_gross == gross == order.payment.amount_captured
    [(rate, net, vat)] = [(t["rate"], t["net"], t["vat"]) for t in first.totals]
    assert Decimal(rate) == 19 and Decimal(net) + Decimal(vat) == gross
    assert Decimal(vat) == (gross * 19 / 119).quantize(Decimal("0.01"))
    assert "Rechnung" in text and number in text and "19\xa0%" in text
    assert f"{vat.replace('.', ',')}\xa0€" in text

    # When the tent arrives (the worker sets it aside and holds its price) and ships: invoice 2
    purchase_order_receive(purchase_order_id=catalog.po.pk)
    # (the worker's allocation pass and its card hold may finish after the receipt returns: on
    # PostgreSQL its follow-up runs on another connection)
    wait_until(
        lambda: CardCharge.objects.filter(
            payment=order.payment, purpose=ChargePurpose.ALLOCATION, status=ChargeStatus.AUTHORIZED
        ).exists(),
        "the tent set aside for the order and its price held on the card",
    )
    order_ship(order_id=order.pk)
    second = Document.objects.get(
        order=order, kind=DocumentKind.INVOICE, shipment__isnull=False, pk__gt=first.pk
    )
    assert int(second.number.split("-")[1]) == int(first.number.split("-")[1]) + 1  # the next number
    assert second.total_gross == Decimal("180.00")
    assert [(t["rate"], t["vat"]) for t in second.totals] == [("19.00", "28.74")]
    order.payment.refresh_from_db()
    assert (
        order.payment.amount_captured == gross + Decimal("180.00") == first.total_gross + second.total_gross
    )
    _, text = pdf_of(card_shop.wait_for_mail(to=EMAIL, subject=f"Bestellung {number}: Ihre Bestellung"))
    assert second.number in text and "180,00\xa0€" in text and "28,74\xa0€" in text

    # Given a second order: a stove on backorder, paid in full at checkout
    stove = VariantFactory(
        product=ProductFactory(
            name="Camp Stove", slug="camp-stove", category=catalog.lantern.product.category
        ),
        price=Decimal("60.00"),
    )
    allow_backorders(stove, lead_time_days=30, payment_plan="now")
    add_to_cart_in_german(guest, "camp-stove")
    second_number = check_out_in_german(guest, shots, "second")
    paid_now = Order.objects.get(number=second_number)
    assert paid_now.payment.amount_captured == Decimal("60.00") + paid_now.shipping_cost

    # When the guest cancels the waiting tent on the German order page
    guest.get_by_label(re.compile("Camp Stove: zu stornierende Stück")).fill("1")
    guest.get_by_role("button", name="Diese Stücke stornieren").click()
    expect(guest.locator(".alert")).to_contain_text("storniert")
    shots.take(guest, "cancelled")

    # Then the refund (the stove and, nothing being left to ship, the delivery: 60.00 + 4.90) comes
    # with a credit note of exactly that amount, by email, in German
    assert paid_now.shipping_cost == Decimal("4.90")
    paid_now.payment.refresh_from_db()
    credit = Document.objects.get(order=paid_now, kind=DocumentKind.CREDIT_NOTE)
    assert credit.total_gross == paid_now.payment.amount_refunded == Decimal("64.90")
    assert [(t["rate"], t["vat"]) for t in credit.totals] == [("19.00", "10.36")]  # 64.90 × 19/119
    _, text = pdf_of(card_shop.wait_for_mail(to=EMAIL, subject=f"Gutschrift {credit.number}"))
    assert "Gutschrift" in text and "64,90\xa0€" in text and "10,36\xa0€" in text
    # And both orders' documents reconcile with the money, to the cent
    reconciled = documents_reconcile(order_ids=[order.pk, paid_now.pk])
    assert (reconciled.checked, reconciled.differences) == (2, [])
    browser_session.assert_clean()
