"""The cart: adding, changing and removing lines, refusals, the cart page, merging at login."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import dateformat

from inventory.tests.promises import from_lead_time
from orders.models import Cart, CartLine
from orders.services import cart_add, cart_get_or_create, cart_merge
from orders.tests.helpers import allow_backorders, give_stock
from orders.views import CART_SESSION_KEY
from shop.formatting import ships_in_words
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"
# Session, the cart's lines (with variants and products), availability (1: one statement with the
# shop's closures for the shipping calendar and any suppliers' habits), nav categories.
# Exactly this many for 1 line and for 10.
CART_PAGE_QUERIES = 4
# See test_a_guests_first_item_query_budget.
ADD_FIRST_ITEM_QUERIES = 8


def in_words(value) -> str:
    return dateformat.format(value, "l j F Y")


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.tags, m.message) for m in get_messages(response.wsgi_request)]


def add(client, variant, quantity, **extra):
    """Add through the page (following the redirect, so its messages are shown and used up)."""
    return client.post(
        reverse("orders:cart_add"), {"variant": variant.pk, "quantity": quantity, **extra}, follow=True
    )


def post_add(client, variant, quantity, **extra):
    """Add through the page without following the redirect."""
    return client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": quantity, **extra})


def cart_lines(client=None, *, user=None) -> list[tuple[str, int]]:
    if user is not None:
        lines = CartLine.objects.filter(cart__user=user)
    else:
        lines = CartLine.objects.filter(cart_id=client.session.get(CART_SESSION_KEY))
    return list(lines.order_by("pk").values_list("variant__sku", "quantity"))


@pytest.fixture
def tent():
    """3 in stock, backorders allowed up to 2 more: 5 can be ordered."""
    variant = VariantFactory(product=ProductFactory(name="Alpine Tent"), sku="TENT", price=Decimal("100.00"))
    give_stock(variant, 3)
    allow_backorders(variant, backorder_limit=2)
    return variant


@pytest.fixture
def mug():
    variant = VariantFactory(product=ProductFactory(name="Enamel Mug"), sku="MUG", price=Decimal("8.00"))
    give_stock(variant, 50)
    return variant


@pytest.fixture
def alice():
    return User.objects.create_user(email="alice@example.com", password=PASSWORD)


# --- adding ------------------------------------------------------------------------------------


def test_guest_adds_to_a_new_cart_kept_in_the_session(client, tent):
    response = post_add(client, tent, 2)

    assert response.status_code == 302
    assert response["Location"] == reverse("orders:cart")
    assert messages_of(response) == [("success", "Added 2 × Alpine Tent to your cart.")]
    assert cart_lines(client) == [("TENT", 2)]
    assert Cart.objects.get().user is None


def test_adding_again_adds_to_the_same_line(client, tent):
    add(client, tent, 2)

    add(client, tent, 3)

    assert cart_lines(client) == [("TENT", 5)]


def test_more_than_can_be_ordered_is_refused_with_the_number(client, tent):
    response = post_add(client, tent, 6, next="/products/alpine-tent/")

    assert response["Location"] == "/products/alpine-tent/"
    assert messages_of(response) == [("error", "Only 5 of Alpine Tent can be ordered.")]
    assert CartLine.objects.count() == 0


def test_adding_beyond_the_limit_keeps_the_old_quantity(client, tent):
    add(client, tent, 3)

    response = add(client, tent, 3)

    assert response.redirect_chain == [(reverse("orders:cart"), 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "Only 5 of Alpine Tent can be ordered. Your cart already has 3."
    ]
    assert cart_lines(client) == [("TENT", 3)]


def test_deny_policy_caps_at_stock(client):
    kettle = VariantFactory(product=ProductFactory(name="Kettle"))
    give_stock(kettle, 2)

    response = add(client, kettle, 3)

    assert messages_of(response) == [("error", "Only 2 of Kettle can be ordered.")]
    assert CartLine.objects.count() == 0


def test_out_of_stock_item_is_refused(client):
    kettle = VariantFactory(product=ProductFactory(name="Kettle"))

    response = add(client, kettle, 1)

    assert messages_of(response) == [("error", "Kettle cannot be ordered right now: it is out of stock.")]
    assert CartLine.objects.count() == 0


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "Enter a quantity of at least 1."),
        ("-2", "Enter a quantity of at least 1."),
        ("1000", "You can order at most 999 at once."),
        ("two", "Enter a whole number."),
        ("", "Enter a quantity."),
    ],
)
def test_bad_quantities_are_refused(client, tent, quantity, message):
    response = client.post(reverse("orders:cart_add"), {"variant": tent.pk, "quantity": quantity})

    assert messages_of(response) == [("error", message)]
    assert (Cart.objects.count(), CartLine.objects.count()) == (0, 0)


def test_unknown_or_inactive_variant_is_refused(client):
    retired = VariantFactory(is_active=False)
    give_stock(retired, 5)

    client.post(reverse("orders:cart_add"), {"variant": retired.pk, "quantity": 1})
    response = client.post(reverse("orders:cart_add"), {"variant": retired.pk + 1000, "quantity": 1})

    assert messages_of(response) == [("error", "Sorry, that item is no longer sold.")] * 2
    assert CartLine.objects.count() == 0


def test_foreign_next_is_not_followed(client, tent):
    response = post_add(client, tent, 9, next="https://evil.example/")

    assert response["Location"] == reverse("orders:cart")


def test_cart_changes_are_post_only_and_need_csrf(tent):
    client = Client(enforce_csrf_checks=True)

    assert client.get(reverse("orders:cart_add")).status_code == 405
    assert add(client, tent, 1).status_code == 403
    assert CartLine.objects.count() == 0


# --- changing and removing ---------------------------------------------------------------------


def test_change_quantity(client, tent):
    add(client, tent, 1)
    line = CartLine.objects.get()

    response = client.post(reverse("orders:cart_update", args=[line.pk]), {"quantity": 4})

    assert messages_of(response) == [("success", "You now have 4 × Alpine Tent in your cart.")]
    assert cart_lines(client) == [("TENT", 4)]


def test_change_beyond_the_limit_keeps_the_old_quantity(client, tent):
    add(client, tent, 4)
    line = CartLine.objects.get()

    response = client.post(reverse("orders:cart_update", args=[line.pk]), {"quantity": 6})

    assert messages_of(response) == [("error", "Only 5 of Alpine Tent can be ordered.")]
    assert cart_lines(client) == [("TENT", 4)]


def test_change_to_zero_is_refused(client, tent):
    add(client, tent, 2)
    line = CartLine.objects.get()

    response = client.post(reverse("orders:cart_update", args=[line.pk]), {"quantity": 0})

    assert messages_of(response) == [("error", "Enter a quantity of at least 1.")]
    assert cart_lines(client) == [("TENT", 2)]


def test_a_line_of_another_cart_cannot_be_changed_or_removed(client, tent):
    other_cart = cart_get_or_create(user_id=None)
    other_line = cart_add(cart_id=other_cart.pk, variant_id=tent.pk, quantity=2)
    add(client, tent, 1)

    client.post(reverse("orders:cart_update", args=[other_line.pk]), {"quantity": 1})
    response = client.post(reverse("orders:cart_remove", args=[other_line.pk]))

    assert messages_of(response) == [
        ("error", "That item is not in your cart any more."),
        ("info", "That item was not in your cart any more."),
    ]
    assert CartLine.objects.get(pk=other_line.pk).quantity == 2


def test_remove(client, tent, mug):
    add(client, tent, 1)
    add(client, mug, 2)
    line = CartLine.objects.get(variant=tent)

    response = client.post(reverse("orders:cart_remove", args=[line.pk]))

    assert messages_of(response) == [("success", "Removed Alpine Tent from your cart.")]
    assert cart_lines(client) == [("MUG", 2)]


# --- the cart page -----------------------------------------------------------------------------


def test_cart_page_shows_what_ships_now_what_waits_and_until_when(client):
    stove = VariantFactory(product=ProductFactory(name="Camp Stove"), price=Decimal("100.00"))
    give_stock(stove, 1)
    allow_backorders(stove, lead_time_days=10, backorder_discount_percent=Decimal("10"))
    add(client, stove, 3)

    response = client.get(reverse("orders:cart"))

    content = response.content.decode()
    # No purchase order: today + 10 days' lead time to + the default p90 lateness (docs/dates.md)
    expected = from_lead_time(10)
    assert '<span class="fw-semibold">1</span> in stock, ready to ship' in content
    assert (
        f'<span class="fw-semibold">2</span> on backorder, {ships_in_words(expected.earliest, expected.confident)}'
        in content
    )
    assert "Backorder discount: 10% off the 2 waiting, €90.00 each" in content
    summary = response.context["summary"]
    assert (summary.quote.subtotal, summary.quote.discount_total, summary.goods_total) == (
        Decimal("300.00"),
        Decimal("20.00"),
        Decimal("280.00"),
    )
    assert "€280.00" in content
    assert response.context["cart_count"] == 3


def test_cart_page_flags_a_line_that_can_no_longer_be_ordered(client, tent):
    add(client, tent, 5)
    tent.is_active = False
    tent.save()

    response = client.get(reverse("orders:cart"))

    content = response.content.decode()
    assert "This item is no longer sold. Please remove it from your cart." in content
    assert reverse("orders:checkout") not in content


def test_empty_cart_page(client):
    response = client.get(reverse("orders:cart"))

    assert response.status_code == 200
    assert "Your cart is empty." in response.content.decode()
    assert response.context["summary"].lines == []


def test_navbar_shows_the_number_of_units(client, tent, mug):
    add(client, tent, 2)
    add(client, mug, 3)

    response = client.get(reverse("shop:home"))

    assert (
        'Cart <span class="badge text-bg-light">5</span><span class="visually-hidden"> items</span>'
        in response.content.decode()
    )


@pytest.mark.parametrize("count", [1, 10])
def test_cart_page_query_budget(client, django_assert_max_num_queries, count):
    for _ in range(count):
        variant = VariantFactory()
        give_stock(variant, 1)
        allow_backorders(variant)
        add(client, variant, 2)

    with django_assert_max_num_queries(CART_PAGE_QUERIES) as queries:
        response = client.get(reverse("orders:cart"))

    assert len(response.context["summary"].lines) == count
    assert len(queries) == CART_PAGE_QUERIES  # the same for 1 line and for 10


# --- the product page form ---------------------------------------------------------------------


def test_product_page_offers_add_to_cart_when_in_stock(client, tent):
    content = client.get(tent.product.get_absolute_url()).content.decode()

    assert f'action="{reverse("orders:cart_add")}"' in content
    assert f'name="variant" value="{tent.pk}"' in content
    assert 'max="5"' in content
    assert ">Add to cart</button>" in content


def test_product_page_offers_backorder_when_nothing_is_in_stock(client):
    tent = VariantFactory()
    allow_backorders(tent)

    content = client.get(tent.product.get_absolute_url()).content.decode()

    assert ">Order on backorder</button>" in content
    assert 'max="999"' in content


def test_product_page_has_no_form_when_it_cannot_be_ordered(client):
    kettle = VariantFactory()

    content = client.get(kettle.product.get_absolute_url()).content.decode()

    assert reverse("orders:cart_add") not in content


# --- merging at login and sign-up ------------------------------------------------------------


def test_guest_cart_is_merged_into_the_account_cart_at_login(client, alice, tent, mug):
    own = cart_get_or_create(user_id=alice.pk)
    cart_add(cart_id=own.pk, variant_id=tent.pk, quantity=2)
    add(client, tent, 4)
    add(client, mug, 1)
    guest_cart_id = client.session[CART_SESSION_KEY]

    response = client.post(reverse("login"), {"username": "alice@example.com", "password": PASSWORD})

    assert response.status_code == 302
    assert messages_of(response) == [
        ("warning", "Only 5 of Alpine Tent can be ordered: your cart now has 5."),
    ]
    assert cart_lines(user=alice) == [("TENT", 5), ("MUG", 1)]
    assert not Cart.objects.filter(pk=guest_cart_id).exists()
    assert CART_SESSION_KEY not in client.session
    assert client.get(reverse("orders:cart")).context["cart_count"] == 6


def test_guest_cart_becomes_the_account_cart_at_sign_up(client, tent):
    add(client, tent, 2)

    client.post(
        reverse("signup"),
        {"email": "bob@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )

    bob = User.objects.get(email="bob@example.com")
    assert cart_lines(user=bob) == [("TENT", 2)]
    assert Cart.objects.count() == 1


def test_failed_login_keeps_the_guest_cart(client, alice, tent):
    add(client, tent, 2)

    client.post(reverse("login"), {"username": "alice@example.com", "password": "wrong"})

    assert cart_lines(client) == [("TENT", 2)]
    assert not Cart.objects.filter(user=alice).exists()


def test_merge_never_takes_units_from_the_account_cart_and_drops_what_is_not_sold(alice, tent, mug):
    own = cart_get_or_create(user_id=alice.pk)
    cart_add(cart_id=own.pk, variant_id=tent.pk, quantity=5)
    guest = cart_get_or_create(user_id=None)
    cart_add(cart_id=guest.pk, variant_id=tent.pk, quantity=1)
    cart_add(cart_id=guest.pk, variant_id=mug.pk, quantity=2)
    tent.backorder_policy.backorder_limit = 0
    tent.backorder_policy.save()  # now only the 3 in stock can be ordered; the account has 5
    mug.is_active = False
    mug.save()

    notes = cart_merge(source_cart_id=guest.pk, user_id=alice.pk)

    assert notes == [
        "Only 3 of Alpine Tent can be ordered: your cart now has 5.",
        "Enamel Mug is no longer sold, so it was not added to your cart.",
    ]
    assert cart_lines(user=alice) == [("TENT", 5)]
    assert not Cart.objects.filter(pk=guest.pk).exists()


def test_a_guests_first_item_query_budget(client, django_assert_max_num_queries):
    variant = VariantFactory()
    give_stock(variant, 3)

    # The form's variant (with its product, not read again), its availability (1, with the shop's
    # closures: the shipping calendar), the new cart
    # and its line (no transaction around them); the new session: exists?, insert (3).
    with django_assert_max_num_queries(ADD_FIRST_ITEM_QUERIES) as queries:
        response = client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 2})

    assert response.status_code == 302
    assert list(
        CartLine.objects.filter(cart_id=client.session[CART_SESSION_KEY]).values_list("quantity", flat=True)
    ) == [2]
    assert len(queries) == ADD_FIRST_ITEM_QUERIES
