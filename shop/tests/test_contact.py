"""How customers reach the shop: the contact settings on every page's footer and on /contact/."""

import pytest
from django.urls import reverse

from orders.tests.helpers import give_stock, place
from orders.tokens import make_order_token
from shop.contact import ShopContact
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def contact(settings):
    settings.SHOP_CONTACT_EMAIL = "support@example.com"
    settings.SHOP_CONTACT_PHONE = "+44 20 7946 0321"
    settings.SHOP_ADDRESS = "Backorder Shop Ltd, 12 Analytical Row, London N1 9GU, United Kingdom"
    settings.SHOP_SUPPORT_HOURS = "Monday to Friday, 9:00 to 17:00 UK time"


FOOTER_DETAILS = [
    '<a class="footer-link" href="/contact/">Contact us</a>',
    '<a class="footer-link" href="mailto:support@example.com">support@example.com</a>',
    '<a class="footer-link text-nowrap" href="tel:+442079460321">+44 20 7946 0321</a>',
    "Monday to Friday, 9:00 to 17:00 UK time",
    "Backorder Shop Ltd, 12 Analytical Row, London N1 9GU, United Kingdom",
]


def test_every_page_shows_the_contact_details_in_its_footer(client):
    product = ProductFactory(name="Trail Lantern", slug="trail-lantern")
    variant = VariantFactory(product=product)
    give_stock(variant, 3)
    order = place([(variant, 1)]).order
    pages = [
        reverse("shop:home"),
        reverse("shop:search"),
        reverse("shop:product", args=["trail-lantern"]),
        reverse("orders:cart"),
        f"{order.get_absolute_url()}?token={make_order_token(order.number)}",
        reverse("login"),
        reverse("shop:contact"),
        "/no-such-page/",
    ]

    for url in pages:
        content = client.get(url).content.decode()
        footer = content[content.index("<footer") :]
        missing = [detail for detail in FOOTER_DETAILS if detail not in footer]
        assert missing == [], url


def test_the_contact_page_lists_every_way_to_reach_the_shop(client):
    response = client.get(reverse("shop:contact"))

    assert response.status_code == 200
    main = response.content.decode().split('<main id="main"')[1].split("</main>")[0]
    assert '<h1 class="h3 mb-3">Contact us</h1>' in main
    assert "“Ask about this order”" in main
    assert '<a href="mailto:support@example.com">support@example.com</a>' in main
    assert '<a href="tel:+442079460321">+44 20 7946 0321</a>' in main
    assert "Monday to Friday, 9:00 to 17:00 UK time" in main
    assert (
        '<address class="card-text mb-0">Backorder Shop Ltd<br>12 Analytical Row<br>London N1 9GU<br>'
        "United Kingdom</address>"
    ) in main


def test_a_signed_in_customer_is_pointed_to_their_orders(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("alice@example.com", "x"))

    content = client.get(reverse("shop:contact")).content.decode()

    assert f'<a href="{reverse("orders:history")}">your orders</a>' in content


def test_changed_settings_show_at_once_and_empty_ones_are_left_out(client, settings):
    client.get(reverse("shop:home"))  # the footer is rendered once per process and settings
    settings.SHOP_CONTACT_EMAIL = "help@shop.example"
    settings.SHOP_CONTACT_PHONE = ""
    settings.SHOP_ADDRESS = ""

    footer = client.get(reverse("shop:home")).content.decode().split("<footer")[1]
    contact = client.get(reverse("shop:contact")).content.decode()

    assert 'href="mailto:help@shop.example"' in footer
    assert "tel:" not in footer and "Analytical Row" not in footer
    assert 'id="contact-phone"' not in contact and 'id="contact-address"' not in contact
    assert "We answer Monday to Friday, 9:00 to 17:00 UK time." in contact


def test_no_contact_details_at_all_leaves_the_footer_lines_out(client, settings):
    settings.SHOP_CONTACT_EMAIL = settings.SHOP_CONTACT_PHONE = settings.SHOP_ADDRESS = ""

    footer = client.get(reverse("shop:home")).content.decode().split("<footer")[1]

    assert "Customer service:" not in footer
    assert '<a class="footer-link" href="/contact/">Contact us</a>' in footer


@pytest.mark.parametrize(
    ("phone", "uri"),
    [
        ("+44 20 7946 0321", "tel:+442079460321"),
        ("(030) 123-45 67", "tel:0301234567"),
        ("+1 (555) 010-0199 ext. 2", "tel:+15550100199"),
        ("call us", ""),
        ("0800 + 1", "tel:08001"),
    ],
)
def test_the_phone_link_dials_the_digits_and_a_leading_plus(phone, uri):
    assert ShopContact(email="", phone=phone, address="", hours="").phone_uri == uri
