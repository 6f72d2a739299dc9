"""The VAT customers are shown (docs/tax.md): the order page and the confirmation email list the VAT
included per rate, or say reverse charge / export; the product page, listing cards and cart say what
a price includes."""

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from notifications.emails import render_notification
from notifications.models import Notification, NotificationKind
from orders.selectors.vat import order_vat
from orders.services import order_place
from orders.tests.helpers import GOOD_CARD, give_stock
from orders.tokens import order_access_path
from shop.tests.factories import CategoryFactory, ProductFactory, VariantFactory
from tax.models import TaxClass
from tax.tests.factories import rates_replace

pytestmark = pytest.mark.django_db
D = Decimal
START = datetime.date(2020, 1, 1)


@pytest.fixture
def items():
    rates_replace(
        [
            ("DE", TaxClass.STANDARD, "19", START, None),
            ("DE", TaxClass.REDUCED, "7", START, None),
            ("FR", TaxClass.STANDARD, "20", START, None),
            ("FR", TaxClass.REDUCED, "5.5", START, None),
        ]
    )
    lamp = VariantFactory(product=ProductFactory(name="Lamp"), price=D("19.99"))
    book = VariantFactory(product=ProductFactory(name="Book", tax_class=TaxClass.REDUCED), price=D("10.00"))
    give_stock(lamp, 5)
    give_stock(book, 5)
    return [(lamp.pk, 2), (book.pk, 1)]


def place(items, country, vat_number=""):
    return order_place(
        items=items,
        email="ada@example.com",
        address={
            "full_name": "Ada",
            "address_line1": "1 Str",
            "city": "Town",
            "postcode": "1",
            "country": country,
        },
        shipping_method="standard",
        ship_policy="split",
        payment_method="test_card",
        card_number=GOOD_CARD,
        idempotency_key=uuid.uuid4().hex,
        vat_number=vat_number,
        company_name="Firm" if vat_number else "",
    ).order


def vat_rows(html: str) -> list[str]:
    rows = re.findall(r'<tr class="vat-line[^"]*">(.*?)</tr>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def confirmation(order) -> tuple[str, str]:
    notification = Notification.objects.get(kind=NotificationKind.ORDER_CONFIRMED, context__order_id=order.pk)
    _subject, text, html, _headers = render_notification(notification)
    return text, html


def test_the_order_page_and_the_email_show_the_vat_per_rate(client, items):
    """Goods 39.98 at 19 % and 10.00 at 7 %, shipping 4.90 split 3.92 / 0.98: 7.01 and 0.72."""
    order = place(items, "DE")
    page = client.get(order_access_path(order.number))
    assert vat_rows(page.content.decode()) == ["incl. 19 % VAT €7.01", "incl. 7 % VAT €0.72"]
    text, html = confirmation(order)
    assert "Total: €54.88\nincl. 19 % VAT: €7.01\nincl. 7 % VAT: €0.72\n" in text
    assert "<br>incl. 19 % VAT: €7.01<br>incl. 7 % VAT: €0.72</p>" in html


def test_reverse_charge_and_export_say_why_there_is_no_vat(client, items):
    reverse_charged = place(items, "FR", vat_number="FR40303265045")
    exported = place(items, "CH")
    assert vat_rows(client.get(order_access_path(reverse_charged.number)).content.decode()) == [
        "VAT reverse charged: no VAT is charged; the buyer accounts for it in their country."
    ]
    assert vat_rows(client.get(order_access_path(exported.number)).content.decode()) == [
        "Export: no VAT (delivery outside the EU; import duties and taxes of the destination may apply)."
    ]
    assert "Total: €47.00\nVAT reverse charged" in confirmation(reverse_charged)[0]
    assert "Total: €54.88\nExport: no VAT" in confirmation(exported)[0]


def test_order_vat_reads_nothing_more(items, django_assert_num_queries):
    order = place(items, "FR")
    lines = list(order.lines.all())
    with django_assert_num_queries(0):
        vat = order_vat(order=order, lines=lines)
    # 43.90 at 20 %: 7.3167; 10.98 at 5.5 %: 0.5724.
    assert [(g.rate, g.gross, g.vat) for g in vat.groups] == [
        (D("20.00"), D("43.90"), D("7.32")),
        (D("5.50"), D("10.98"), D("0.57")),
    ]
    assert (vat.reverse_charge, vat.export) == (False, False)


def test_cancelled_units_and_the_released_shipping_carry_no_vat(items):
    order = place(items, "DE")
    lines = {line.product_name: line for line in order.lines.all()}
    # One of the two lamps cancelled: 19.99 at 19 % and the book 10.00 at 7 %, shipping 4.90 split
    # 19.99/29.99 → 3.27 and 1.63: VAT (19.99 + 3.27) × 19/119 = 3.71, (10.00 + 1.63) × 7/107 = 0.76.
    lines["Lamp"].quantity_cancelled, lines["Lamp"].quantity_allocated = 1, 1
    vat = order_vat(order=order, lines=list(lines.values()))
    assert [(g.rate, g.gross, g.vat) for g in vat.groups] == [
        (D("19.00"), D("23.26"), D("3.71")),
        (D("7.00"), D("11.63"), D("0.76")),
    ]
    # Everything cancelled: nothing to pay, no VAT (the shipping went with the last units)
    for line in lines.values():
        line.quantity_cancelled, line.quantity_allocated = line.quantity, 0
    assert order_vat(order=order, lines=list(lines.values())).groups == []


@pytest.mark.parametrize(
    "include_vat,note", [(True, "incl. VAT, plus delivery"), (False, "plus VAT and delivery")]
)
def test_product_page_listing_card_and_cart_say_what_prices_include(client, settings, include_vat, note):
    settings.SHOP_PRICES_INCLUDE_VAT = include_vat
    category = CategoryFactory(name="Lamps", slug="lamps")
    lamp = VariantFactory(
        product=ProductFactory(name="Lamp", slug="lamp", category=category), price=D("19.99")
    )
    give_stock(lamp, 3)
    marker = f'vat-note">{note}</'
    assert marker in client.get(reverse("shop:product", kwargs={"slug": "lamp"})).content.decode()
    assert marker in client.get(reverse("shop:category", kwargs={"slug": "lamps"})).content.decode()
    client.post(reverse("orders:cart_add"), {"variant": lamp.pk, "quantity": 1})
    assert marker in client.get(reverse("orders:cart")).content.decode()


def test_staff_see_the_buyer_and_each_lines_vat_on_the_order_page(admin_client, items):
    order = place(items, "FR", vat_number="FR40303265045")
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Business customer and VAT" in page and "FR40303265045" in page
    assert page.count("0 % (standard rate)") == 1 and page.count("0 % (reduced rate)") == 1
    page = admin_client.get(
        reverse("admin:orders_order_change", args=[place(items, "DE").pk])
    ).content.decode()
    assert page.count("19 % (standard rate)") == 1 and page.count("7 % (reduced rate)") == 1
