"""What checkout takes from what a customer types (issue 16 items 15 and 16): nothing longer than its
column (a clear message on the form, never a database error), and every single-line field one clean
line: stripped, inner whitespace and line breaks one space, control characters refused."""

from decimal import Decimal

import pytest
from django.db import DataError, transaction
from django.urls import reverse

from notifications.models import Notification
from orders.forms import CheckoutForm
from orders.models import CartLine, Order, Payment, PaymentTransaction
from orders.tests.factories import OrderFactory
from orders.tests.helpers import GOOD_CARD, give_stock
from shop.form_fields import SingleLineField
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

# 268 characters, a valid address otherwise (64-character local part, 63-character labels); the form
# used to allow 320, the column holds 254.
LONG_EMAIL = "a" * 64 + "@" + ("b" * 63 + ".") * 3 + "example.com"
SINGLE_LINE_FIELDS = ["full_name", "address_line1", "address_line2", "city", "postcode", "company_name"]


@pytest.fixture
def mug():
    variant = VariantFactory(product=ProductFactory(name="Enamel Mug"), sku="MUG", price=Decimal("8.00"))
    give_stock(variant, 5)
    return variant


@pytest.fixture
def cart(client, mug):
    client.post(reverse("orders:cart_add"), {"variant": mug.pk, "quantity": 2})
    response = client.get(reverse("orders:checkout"))
    return response.context["form"]["idempotency_key"].value()


def checkout_data(key: str, **overrides) -> dict:
    return {
        "email": "ada@example.com",
        "full_name": "Ada Lovelace",
        "address_line1": "12 Analytical Row",
        "address_line2": "",
        "city": "London",
        "postcode": "N1 9GU",
        "country": "GB",
        "shipping_method": "standard",
        "ship_policy": "split",
        "payment_method": "test_card",
        "card_number": GOOD_CARD,
        "idempotency_key": key,
        **overrides,
    }


def nothing_written() -> tuple[int, int, int, int, int]:
    return (
        Order.objects.count(),
        Payment.objects.count(),
        PaymentTransaction.objects.count(),
        Notification.objects.count(),
        CartLine.objects.count(),
    )


# --- item 15: nothing longer than its column --------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("email", LONG_EMAIL, "Ensure this value has at most 254 characters (it has 268)."),
        ("full_name", "A" * 201, "Ensure this value has at most 200 characters (it has 201)."),
        ("city", "C" * 101, "Ensure this value has at most 100 characters (it has 101)."),
        ("postcode", "P" * 21, "Ensure this value has at most 20 characters (it has 21)."),
    ],
)
def test_an_over_long_value_is_a_message_on_the_form_and_nothing_is_written(
    client, cart, field, value, error
):
    # when
    response = client.post(reverse("orders:checkout"), checkout_data(cart, **{field: value}))

    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {field: [error]}
    assert (
        "Please correct the fields marked below. Your order has not been placed." in response.content.decode()
    )
    assert nothing_written() == (0, 0, 0, 0, 1)  # only the cart line


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_over_long_email_on_postgresql_is_a_form_error_not_a_500(client, cart):
    # given: PostgreSQL refuses the address (the 500 of the issue: DataError in order placement)
    with pytest.raises(DataError), transaction.atomic():
        OrderFactory(email=LONG_EMAIL)

    # when
    response = client.post(reverse("orders:checkout"), checkout_data(cart, email=LONG_EMAIL))

    # then: a clear error, no order, no payment authorized or recorded, no email, the cart kept
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "email": ["Ensure this value has at most 254 characters (it has 268)."]
    }
    assert nothing_written() == (0, 0, 0, 0, 1)

    # and the same checkout with a good address places the order
    placed = client.post(reverse("orders:checkout"), checkout_data(cart))
    assert placed.status_code == 302
    assert list(Order.objects.values_list("email", flat=True)) == ["ada@example.com"]
    assert CartLine.objects.count() == 0


# --- item 16: one clean line ------------------------------------------------------------------------


def test_line_breaks_and_a_fake_bcc_header_in_a_name_are_stored_as_one_line(client, cart):
    # given: a name with CR/LF and a header line, tabs and runs of spaces elsewhere
    data = checkout_data(
        cart,
        full_name="  Ada Lovelace\r\nBcc: victim@example.com\r\n",
        address_line1="12\tAnalytical   Row",
        address_line2="\nFlat 3\n",
        city=" London\r",
        postcode="N1\u00a09GU",
    )

    # when
    response = client.post(reverse("orders:checkout"), data)

    # then
    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.full_name, order.address_line1, order.address_line2, order.city, order.postcode) == (
        "Ada Lovelace Bcc: victim@example.com",
        "12 Analytical Row",
        "Flat 3",
        "London",
        "N1 9GU",
    )
    email = Notification.objects.get(kind="order_confirmed")
    assert email.recipient == "ada@example.com"


@pytest.mark.parametrize("field", SINGLE_LINE_FIELDS)
@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
def test_a_control_character_is_refused_with_a_clear_message(client, cart, field, control):
    response = client.post(
        reverse("orders:checkout"), checkout_data(cart, **{field: f"Ada{control}Lovelace"})
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        field: ["This contains invisible control characters; please remove them (retyping it helps)."]
    }
    assert nothing_written() == (0, 0, 0, 0, 1)


def test_every_single_line_text_field_of_checkout_is_a_single_line_field():
    form = CheckoutForm(requires_terms=False)
    text_fields = {
        name
        for name, field in form.fields.items()
        if type(field).__name__ in {"CharField", "SingleLineField"} and not field.widget.is_hidden
    }
    assert text_fields == {*SINGLE_LINE_FIELDS, "card_number", "vat_number"}
    assert all(isinstance(form.fields[name], SingleLineField) for name in text_fields)


@pytest.mark.parametrize(
    ("typed", "cleaned"),
    [
        ("  Ada  ", "Ada"),
        ("Ada\r\nLovelace", "Ada Lovelace"),
        ("Ada\n\n\tLovelace", "Ada Lovelace"),
        ("Ada\u2028Lovelace", "Ada Lovelace"),  # a Unicode line separator
        ("Ada\u00a0Lovelace", "Ada Lovelace"),  # a no-break space
        ("Zoë Ørsted-Łukasiewicz", "Zoë Ørsted-Łukasiewicz"),
        ("", ""),
    ],
)
def test_single_line_field_cleaning(typed, cleaned):
    assert SingleLineField(required=False).clean(typed) == cleaned


def test_single_line_field_counts_the_cleaned_value_against_its_limit():
    assert SingleLineField(max_length=3).clean(" a \r\n b ") == "a b"
