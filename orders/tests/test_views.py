"""Customer pages: checkout, the order page (access and cancelling waiting units), order history."""

import html
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import dateformat, timezone

from inventory.models import StockItem
from inventory.tests.promises import from_lead_time
from orders.models import CartLine, Order, OrderLine, PaymentTransaction
from orders.tests.factories import OrderFactory, OrderLineFactory
from orders.tests.helpers import DECLINED_CARD, GOOD_CARD, allow_backorders, give_stock, place
from orders.tokens import make_order_token, read_order_token
from orders.views import CHECKOUT_KEYS_SESSION_KEY
from shop.formatting import ships_in_words
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"

# Exact query counts, the same for 1 and for 10 lines or orders (each test runs both).
# Session (+ its save, 3 with the savepoint, as a key is issued), the cart's lines (with variants
# and products), availability (1, with the shop's closures: the shipping calendar the promised ranges
# are counted on), nav, and the waiting items'
# backorder policies for the card payment plan (orders.selectors.payment_plans, only when something
# waits), and the VAT rates of the destination (1, docs/tax.md).
CHECKOUT_PAGE_QUERIES = 9
# A guest with the emailed link (no session yet, so no cart to count): order + payment, lines,
# events, nav categories, the questions asked about the order ("Ask about this order"); with lines
# waiting, their places in the queues: the variants' availability (1, with the shop's closures: the
# shipping calendar) and the order's lines with
# the running sums of their queues (1); its invoices and credit notes (1, whatever their number).
ORDER_PAGE_QUERIES = 8
# The owner, signed in: + session, user, cart count (navbar).
OWNER_ORDER_PAGE_QUERIES = 11
# Session, user, cart count, nav, order count (pagination), orders, their lines.
HISTORY_PAGE_QUERIES = 7


def in_words(value) -> str:
    return dateformat.format(value, "l j F Y")


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.tags, m.message) for m in get_messages(response.wsgi_request)]


def add(client, variant, quantity):
    client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": quantity}, follow=True)


def cart_units(client) -> list[tuple[str, int]]:
    return list(
        CartLine.objects.filter(cart_id=client.session.get("orders.cart_id"))
        .order_by("pk")
        .values_list("variant__sku", "quantity")
    )


def issue_key(client) -> str:
    response = client.get(reverse("orders:checkout"))
    assert response.status_code == 200
    return response.context["form"]["idempotency_key"].value()


def checkout_data(key: str, **overrides) -> dict:
    data = {
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
        "accept_backorder_terms": "on",
        "idempotency_key": key,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def token_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["token"][0]


@pytest.fixture
def mug():
    """In stock: 5 units."""
    variant = VariantFactory(product=ProductFactory(name="Enamel Mug"), sku="MUG", price=Decimal("8.00"))
    give_stock(variant, 5)
    return variant


@pytest.fixture
def tent():
    """Nothing in stock; backorders allowed, 14 days' lead time, 10% off for waiting."""
    variant = VariantFactory(product=ProductFactory(name="Alpine Tent"), sku="TENT", price=Decimal("100.00"))
    allow_backorders(variant, lead_time_days=14, backorder_discount_percent=Decimal("10"))
    return variant


@pytest.fixture
def alice():
    return User.objects.create_user(email="alice@example.com", password=PASSWORD)


@pytest.fixture
def bob():
    return User.objects.create_user(email="bob@example.com", password=PASSWORD)


# --- checkout ----------------------------------------------------------------------------------


def test_checkout_page_states_the_backorder_terms_and_the_summary(client, mug, tent):
    add(client, mug, 2)
    add(client, tent, 1)

    response = client.get(reverse("orders:checkout"))

    content = response.content.decode()
    # No purchase order: today + 14 days' lead time to + the default p90 lateness (docs/dates.md)
    expected = from_lead_time(14)
    assert (
        f"1 × Alpine Tent: <strong>{ships_in_words(expected.earliest, expected.confident)}</strong> "
        "(10% off while you wait)" in (content)
    )
    # and the order summary says the same range
    assert f"<li>1 on backorder, {ships_in_words(expected.earliest, expected.confident)}</li>" in content
    assert (
        "You pay for backordered items only when they ship: paying by card, we reserve the order's amount "
        "on your card now and charge each parcel as it ships; paying by invoice, we invoice each parcel as "
        "it ships." in html.unescape(content)
    )
    assert (
        "cancel backordered items until stock is reserved for them</strong>, from your order page." in content
    )
    assert "You pay nothing for what you cancel." in content
    assert "I accept the backorder terms" in content
    quote = response.context["quote"]
    assert (quote.subtotal, quote.discount_total, quote.shipping_cost, quote.total) == (
        Decimal("116.00"),
        Decimal("10.00"),
        Decimal("4.90"),
        Decimal("110.90"),
    )
    assert "Total with standard delivery (3-5 working days) (€4.90)" in content
    assert "€110.90" in content
    assert "€118.90" in content  # with express delivery
    assert response.context["form"]["ship_policy"].value() == "split"


def test_checkout_without_backorders_asks_for_no_terms(client, mug):
    add(client, mug, 1)

    content = client.get(reverse("orders:checkout")).content.decode()

    assert "Backorder terms" not in content
    assert "I accept the backorder terms" not in content


def test_checkout_prefills_the_email_of_a_signed_in_customer(client, alice, mug):
    client.force_login(alice)
    add(client, mug, 1)

    response = client.get(reverse("orders:checkout"))

    assert response.context["form"]["email"].value() == "alice@example.com"


def test_default_ship_policy_comes_from_the_setting(client, mug, settings):
    settings.SHOP_DEFAULT_SHIP_POLICY = "together"
    add(client, mug, 1)

    response = client.get(reverse("orders:checkout"))

    assert response.context["form"]["ship_policy"].value() == "together"


def test_empty_cart_has_no_checkout(client):
    response = client.get(reverse("orders:checkout"))

    assert response["Location"] == reverse("orders:cart")
    assert messages_of(response) == [("info", "Your cart is empty: add something before checking out.")]


def test_checkout_places_an_in_stock_and_a_backordered_item_together(
    client, mug, tent, mailoutbox, django_capture_on_commit_callbacks
):
    add(client, mug, 2)
    add(client, tent, 1)
    key = issue_key(client)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("orders:checkout"), checkout_data(key))

    order = Order.objects.get()
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("orders:detail", kwargs={"number": order.number})
    assert read_order_token(token_of(response["Location"])) == order.number
    assert list(
        order.lines.order_by("sku").values_list(
            "sku", "quantity", "quantity_allocated", "quantity_backordered"
        )
    ) == [("MUG", 2, 2, 0), ("TENT", 1, 0, 1)]
    assert (order.email, order.user, order.idempotency_key, order.status) == (
        "ada@example.com",
        None,
        key,
        "partially_ready",
    )
    assert (order.full_name, order.city, order.country) == ("Ada Lovelace", "London", "GB")
    assert (order.subtotal, order.discount_total, order.shipping_cost, order.total) == (
        Decimal("116.00"),
        Decimal("10.00"),
        Decimal("4.90"),
        Decimal("110.90"),
    )
    assert [(m.to, m.subject) for m in mailoutbox] == [
        (["ada@example.com"], f"Order {order.number} confirmed: some items will follow")
    ]
    assert cart_units(client) == []

    page = client.get(response["Location"])
    assert "Thank you for your order!" in page.content.decode()
    assert "Thank you for your order!" not in client.get(response["Location"]).content.decode()


def test_signed_in_customer_order_is_theirs(client, alice, mug):
    client.force_login(alice)
    add(client, mug, 1)

    client.post(
        reverse("orders:checkout"), checkout_data(issue_key(client), payment_method="invoice", card_number="")
    )

    order = Order.objects.get()
    assert (order.user, order.payment.gateway) == (alice, "invoice")
    assert not CartLine.objects.filter(cart__user=alice).exists()


def test_backorder_terms_must_be_accepted(client, mug, tent):
    add(client, mug, 1)
    add(client, tent, 1)

    response = client.post(
        reverse("orders:checkout"), checkout_data(issue_key(client), accept_backorder_terms=None)
    )

    assert response.status_code == 200
    assert response.context["form"].errors["accept_backorder_terms"] == [
        "Some items will be backordered: please read the backorder terms and tick the box to accept them."
    ]
    assert (
        "Please correct the fields marked below. Your order has not been placed." in response.content.decode()
    )
    assert Order.objects.count() == 0
    assert cart_units(client) == [("MUG", 1), ("TENT", 1)]


def test_declined_card_places_nothing_and_keeps_the_cart(client, mug):
    add(client, mug, 2)

    response = client.post(
        reverse("orders:checkout"), checkout_data(issue_key(client), card_number=DECLINED_CARD)
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Your card was declined."]
    content = response.content.decode()
    assert "Your card was declined." in content
    assert "4000 0000 0000 0002" not in content.split("Test cards")[0]  # the number is not written back
    assert (Order.objects.count(), PaymentTransaction.objects.count()) == (0, 0)
    assert StockItem.objects.get(variant=mug).allocated == 0
    assert cart_units(client) == [("MUG", 2)]


def test_card_number_is_required_for_card_payments(client, mug):
    add(client, mug, 1)

    response = client.post(reverse("orders:checkout"), checkout_data(issue_key(client), card_number=""))

    assert response.context["form"].errors["card_number"] == [
        "Enter your card number, or choose to pay by invoice."
    ]
    assert Order.objects.count() == 0


def test_a_checkout_error_is_shown_not_a_server_error(client, mug):
    add(client, mug, 1)
    key = issue_key(client)
    mug.is_active = False
    mug.save()

    response = client.post(reverse("orders:checkout"), checkout_data(key))

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["An item in your cart is no longer sold."]
    assert Order.objects.count() == 0


def test_double_submit_lands_on_the_same_order(client, mug):
    add(client, mug, 2)
    data = checkout_data(issue_key(client))

    first = client.post(reverse("orders:checkout"), data)
    second = client.post(reverse("orders:checkout"), data)

    order = Order.objects.get()
    assert urlsplit(first["Location"]).path == urlsplit(second["Location"]).path == order.get_absolute_url()
    assert read_order_token(token_of(second["Location"])) == order.number
    assert order.lines.get().quantity == 2
    assert StockItem.objects.get(variant=mug).allocated == 2


def test_tampered_prices_skus_and_quantities_are_ignored(client, mug, tent):
    add(client, mug, 2)
    data = checkout_data(
        issue_key(client),
        price="0.01",
        unit_price="0.01",
        total="0.00",
        sku="TENT",
        variant=str(tent.pk),
        quantity="999",
        **{"lines-0-quantity": "50", "lines-0-price": "0.01"},
    )

    client.post(reverse("orders:checkout"), data)

    order = Order.objects.get()
    assert list(order.lines.values_list("sku", "quantity", "unit_price")) == [("MUG", 2, Decimal("8.00"))]
    assert order.total == Decimal("20.90")
    assert order.payment.amount_authorized == Decimal("20.90")


def test_unknown_idempotency_key_is_refused(client, mug):
    add(client, mug, 1)
    issue_key(client)

    response = client.post(reverse("orders:checkout"), checkout_data("f" * 32))

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "This checkout page has expired, so nothing was ordered. Please check your order below and place it again."
    ]
    new_key = response.context["form"]["idempotency_key"].value()
    assert new_key != "f" * 32
    assert new_key in client.session[CHECKOUT_KEYS_SESSION_KEY]
    assert Order.objects.count() == 0
    assert cart_units(client) == [("MUG", 1)]


def test_a_key_issued_to_another_session_is_refused(client, mug):
    other = client.__class__()
    add(other, mug, 1)
    foreign_key = issue_key(other)
    add(client, mug, 1)
    issue_key(client)

    response = client.post(reverse("orders:checkout"), checkout_data(foreign_key))

    assert response.status_code == 200
    assert Order.objects.count() == 0


@pytest.mark.parametrize("count", [1, 10])
def test_checkout_page_query_budget(client, django_assert_max_num_queries, count):
    for _ in range(count):
        variant = VariantFactory()
        give_stock(variant, 1)
        allow_backorders(variant)
        add(client, variant, 2)

    with django_assert_max_num_queries(CHECKOUT_PAGE_QUERIES) as queries:
        response = client.get(reverse("orders:checkout"))

    assert len(response.context["quote"].lines) == count
    assert len(queries) == CHECKOUT_PAGE_QUERIES


# --- the order page: who may see it --------------------------------------------------------------


@pytest.fixture
def alices_order(alice, tent):
    give_stock(tent, 1)
    return place([(tent, 3)], email="alice@example.com", user_id=alice.pk).order


def test_owner_sees_the_order_without_a_token(client, alice, alices_order):
    client.force_login(alice)

    response = client.get(alices_order.get_absolute_url())

    assert response.status_code == 200
    assert response.context["order"] == alices_order


def test_token_opens_the_order_for_a_guest(client, alices_order):
    url = alices_order.get_absolute_url() + f"?token={make_order_token(alices_order.number)}"

    assert client.get(url).status_code == 200


def test_another_customer_gets_404(client, bob, alices_order):
    client.force_login(bob)

    assert client.get(alices_order.get_absolute_url()).status_code == 404
    assert client.post(reverse("orders:cancel", args=[alices_order.number]), {}).status_code == 404


def test_guest_without_a_token_gets_404(client, alices_order):
    assert client.get(alices_order.get_absolute_url()).status_code == 404


def test_tampered_token_gets_404(client, alices_order):
    other = OrderFactory()
    token = make_order_token(alices_order.number)

    assert client.get(alices_order.get_absolute_url() + f"?token={token}x").status_code == 404
    assert (
        client.get(other.get_absolute_url() + f"?token={token}").status_code == 404
    )  # another order's token


def test_expired_token_gets_404(client, alices_order):
    url = alices_order.get_absolute_url() + f"?token={make_order_token(alices_order.number)}"

    with time_machine.travel(timezone.now() + timedelta(days=399)):
        assert client.get(url).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=401)):
        assert client.get(url).status_code == 404


@pytest.mark.parametrize("count", [1, 10])
@pytest.mark.parametrize(
    ("signed_in", "budget"), [(False, ORDER_PAGE_QUERIES), (True, OWNER_ORDER_PAGE_QUERIES)]
)
def test_order_page_query_budget(client, alice, django_assert_max_num_queries, count, signed_in, budget):
    variants = []
    for _ in range(count):
        variant = VariantFactory()
        give_stock(variant, 1)
        allow_backorders(variant)
        variants.append(variant)
    order = place([(variant, 2) for variant in variants], user_id=alice.pk).order
    url = order.get_absolute_url() + f"?token={make_order_token(order.number)}"
    if signed_in:
        client.force_login(alice)
        url = order.get_absolute_url()

    with django_assert_max_num_queries(budget) as queries:
        response = client.get(url)

    assert len(response.context["waiting_lines"]) == count  # the cancel form is on the page
    assert len(queries) == budget


# --- the order page: cancelling waiting units ------------------------------------------------


def test_customer_cancels_part_of_the_waiting_units(
    client, alices_order, mailoutbox, django_capture_on_commit_callbacks
):
    token = make_order_token(alices_order.number)
    line = alices_order.lines.get()
    page = client.get(alices_order.get_absolute_url() + f"?token={token}").content.decode()
    assert f'name="line_{line.pk}"' in page
    assert "2 waiting for stock." in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("orders:cancel", args=[alices_order.number]), {"token": token, f"line_{line.pk}": "1"}
        )

    assert response["Location"] == alices_order.get_absolute_url() + f"?token={token.replace(':', '%3A')}"
    assert messages_of(response) == [
        (
            "success",
            "Cancelled 1 waiting unit. You pay nothing for the cancelled items: the €90.00 reserved on your "
            "card for them has been released (your bank may take a few days to show it). "
            "We have emailed you a confirmation.",
        )
    ]
    line.refresh_from_db()
    alices_order.payment.refresh_from_db()
    assert (line.quantity_allocated, line.quantity_backordered, line.quantity_cancelled) == (1, 1, 1)
    assert alices_order.payment.amount_voided == Decimal("90.00")
    assert list(alices_order.events.filter(kind="cancelled").values_list("message", flat=True)) == [
        "Cancelled at the customer's request: 1 × Alpine Tent"
    ]
    assert mailoutbox[-1].subject == f"Order {alices_order.number}: items cancelled"


def test_owner_cancels_every_waiting_unit(client, alice, alices_order):
    client.force_login(alice)
    line = alices_order.lines.get()

    client.post(reverse("orders:cancel", args=[alices_order.number]), {f"line_{line.pk}": "2"})

    line.refresh_from_db()
    assert (line.quantity_allocated, line.quantity_backordered, line.quantity_cancelled) == (1, 0, 2)
    assert alices_order.payment.transactions.filter(kind="void").get().amount == Decimal("180.00")


def test_cancelling_more_than_waits_is_refused_and_changes_nothing(client, alice, alices_order):
    client.force_login(alice)
    line = alices_order.lines.get()

    response = client.post(reverse("orders:cancel", args=[alices_order.number]), {f"line_{line.pk}": "3"})

    assert messages_of(response) == [
        ("error", "Only 2 of Alpine Tent are still waiting and can be cancelled.")
    ]
    line.refresh_from_db()
    assert (line.quantity_backordered, line.quantity_cancelled) == (2, 0)
    assert alices_order.payment.transactions.count() == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "Enter how many of the waiting units you want to cancel."),
        ("", "Enter how many of the waiting units you want to cancel."),
        ("-1", "Enter a whole number of units to cancel."),
        ("lots", "Enter a whole number of units to cancel."),
    ],
)
def test_bad_cancel_numbers_are_refused(client, alice, alices_order, value, message):
    client.force_login(alice)
    line = alices_order.lines.get()

    response = client.post(reverse("orders:cancel", args=[alices_order.number]), {f"line_{line.pk}": value})

    assert messages_of(response) == [("error", message)]
    line.refresh_from_db()
    assert line.quantity_cancelled == 0


def test_cancel_is_post_only(client, alice, alices_order):
    client.force_login(alice)

    assert client.get(reverse("orders:cancel", args=[alices_order.number])).status_code == 405


def test_no_cancel_form_when_nothing_waits(client, alice, mug):
    order = place([(mug, 1)], user_id=alice.pk).order
    client.force_login(alice)

    response = client.get(order.get_absolute_url())

    assert response.context["cancel_form"] is None
    assert reverse("orders:cancel", args=[order.number]) not in response.content.decode()


# --- order history -----------------------------------------------------------------------------


def test_history_needs_login(client):
    response = client.get(reverse("orders:history"))

    assert response["Location"] == f"{reverse('login')}?next={reverse('orders:history')}"


def test_history_lists_only_the_customers_orders(client, alice, bob, mug):
    mine = place([(mug, 2)], user_id=alice.pk).order
    place([(mug, 1)], user_id=bob.pk)
    client.force_login(alice)

    response = client.get(reverse("orders:history"))

    assert list(response.context["orders"]) == [mine]
    content = response.content.decode()
    assert mine.number in content
    assert "Ready to ship" in content
    assert "€20.90" in content


def test_history_empty_state(client, alice):
    client.force_login(alice)

    response = client.get(reverse("orders:history"))

    assert "You have not placed any orders yet." in response.content.decode()


@pytest.mark.parametrize("count", [1, 10])
def test_history_query_budget(client, alice, django_assert_max_num_queries, count):
    for _ in range(count):
        OrderLineFactory(order=OrderFactory(user=alice), quantity=2)
    client.force_login(alice)

    with django_assert_max_num_queries(HISTORY_PAGE_QUERIES) as queries:
        response = client.get(reverse("orders:history"))

    assert len(response.context["orders"]) == count
    assert len(queries) == HISTORY_PAGE_QUERIES
    assert OrderLine.objects.count() == count
