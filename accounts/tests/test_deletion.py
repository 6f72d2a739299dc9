"""Deleting an account: the login, addresses, cart and subscriptions go; the orders stay, detached,
and still open by their signed links; staff, a wrong password and someone else are refused."""

from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from accounts.models import Address
from accounts.services.addresses import AddressData, address_create
from accounts.services.deletion import AccountDeletionRefused, account_delete
from accounts.services.verification import account_create, account_email_confirm
from accounts.tokens import verify_token_make
from inventory.models import StockMovement
from inventory.services import stock_adjust
from inventory.tests.factories import WarehouseFactory
from notifications.models import BackInStockSubscription, Notification, NotificationKind
from notifications.services.subscriptions import subscription_create
from orders.models import Cart, CartLine, Order, OrderEvent
from orders.services import cart_add
from orders.tests.helpers import allow_backorders, give_stock, place
from orders.tokens import order_access_path
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"
HOME = AddressData(
    full_name="Ada Lovelace",
    address_line1="12 Analytical Row",
    city="London",
    postcode="N1 9GU",
    country="GB",
)


@pytest.fixture
def mug():
    variant = VariantFactory(product=ProductFactory(name="Enamel Mug"), sku="MUG", price=Decimal("8.00"))
    give_stock(variant, 50)
    return variant


@pytest.fixture
def tent():
    variant = VariantFactory(product=ProductFactory(name="Alpine Tent"), sku="TENT", price=Decimal("100.00"))
    allow_backorders(variant)
    return variant


def customer_with_everything(email: str, mug, tent):
    """A customer with two orders, an address, a cart line and a back-in-stock subscription."""
    user = User.objects.create_user(email=email, password=PASSWORD, first_name="Ada", last_name="Lovelace")
    orders = [place([(mug, 1)], email=email, user_id=user.pk).order for _ in range(2)]
    address_create(user_id=user.pk, data=HOME)
    cart = Cart.objects.create(user=user)
    cart_add(cart_id=cart.pk, variant_id=mug.pk, quantity=3)
    subscription_create(variant_id=tent.pk, email=email, user_id=user.pk)
    return user, orders


def what_is_left(user_id: int, email: str) -> dict:
    return {
        "user": User.objects.filter(pk=user_id).count(),
        "addresses": Address.objects.filter(user_id=user_id).count(),
        "carts": Cart.objects.filter(user_id=user_id).count(),
        "cart_lines": CartLine.objects.filter(cart__user_id=user_id).count(),
        "subscriptions": BackInStockSubscription.objects.filter(email=email).count(),
        "orders_of_the_account": Order.objects.filter(user_id=user_id).count(),
    }


EVERYTHING = {
    "user": 1,
    "addresses": 1,
    "carts": 1,
    "cart_lines": 1,
    "subscriptions": 1,
    "orders_of_the_account": 2,
}
NOTHING = {
    "user": 0,
    "addresses": 0,
    "carts": 0,
    "cart_lines": 0,
    "subscriptions": 0,
    "orders_of_the_account": 0,
}


# --- the service ----------------------------------------------------------------------------------------


def test_deleting_keeps_the_orders_detached_and_removes_the_rest(
    mug, tent, django_capture_on_commit_callbacks
):
    ada, orders = customer_with_everything("ada@example.com", mug, tent)
    bob, bobs_orders = customer_with_everything("bob@example.com", mug, tent)
    assert what_is_left(ada.pk, "ada@example.com") == EVERYTHING

    with django_capture_on_commit_callbacks(execute=True):
        result = account_delete(user_id=ada.pk, password=PASSWORD)

    assert (result.email, result.orders_kept, result.addresses, result.cart_lines, result.subscriptions) == (
        "ada@example.com",
        2,
        1,
        1,
        1,
    )
    assert what_is_left(ada.pk, "ada@example.com") == NOTHING
    kept = Order.objects.filter(pk__in=[o.pk for o in orders]).order_by("pk")
    assert [(o.user_id, o.email, o.full_name, o.city, o.total) for o in kept] == [
        (None, "ada@example.com", "Ada Lovelace", "London", Decimal("12.90")),
        (None, "ada@example.com", "Ada Lovelace", "London", Decimal("12.90")),
    ]
    assert [o.lines.count() for o in kept] == [1, 1]
    assert OrderEvent.objects.filter(order__in=kept).count() == 4  # placed + set aside, each
    assert what_is_left(bob.pk, "bob@example.com") == EVERYTHING  # Bob's account is untouched
    email = Notification.objects.get(kind=NotificationKind.ACCOUNT_DELETED)
    assert (email.recipient, email.context["name"], email.context["orders_kept"]) == (
        "ada@example.com",
        "Ada Lovelace",
        2,
    )
    [sent] = [m for m in mail.outbox if m.to == ["ada@example.com"] and "deleted" in m.subject]
    assert sent.subject == "Your Backorder Shop account has been deleted"
    assert "We keep your 2 orders, with their invoices and credit notes" in sent.body
    assert "Hello Ada Lovelace," in sent.body


def test_a_wrong_password_is_refused_and_nothing_is_deleted(mug, tent):
    ada, _ = customer_with_everything("ada@example.com", mug, tent)

    with pytest.raises(AccountDeletionRefused, match="not your password") as refused:
        account_delete(user_id=ada.pk, password="guess")

    assert refused.value.code == "password"
    assert what_is_left(ada.pk, "ada@example.com") == EVERYTHING
    assert not Notification.objects.filter(kind=NotificationKind.ACCOUNT_DELETED).exists()


@pytest.mark.parametrize("flags", [{"is_staff": True}, {"is_superuser": True}])
def test_staff_and_superusers_are_refused(flags):
    user = User.objects.create_user(email="staff@example.com", password=PASSWORD, **flags)

    with pytest.raises(AccountDeletionRefused, match="Staff accounts cannot be deleted here") as refused:
        account_delete(user_id=user.pk, password=PASSWORD)

    assert refused.value.code == "staff"
    assert User.objects.filter(pk=user.pk).exists()


def test_an_account_named_on_the_stock_ledger_is_refused_with_everything_kept(mug, tent):
    """A former member of staff who once moved stock: the ledger (PROTECT) keeps who did it."""
    ada, _ = customer_with_everything("ada@example.com", mug, tent)
    stock_adjust(variant_id=mug.pk, warehouse_id=WarehouseFactory().pk, quantity_change=1, user_id=ada.pk)

    with pytest.raises(AccountDeletionRefused, match="named on the shop's records") as refused:
        account_delete(user_id=ada.pk, password=PASSWORD)

    assert refused.value.code == "records"
    assert what_is_left(ada.pk, "ada@example.com") == EVERYTHING
    assert StockMovement.objects.filter(user_id=ada.pk).count() == 1
    assert not Notification.objects.filter(kind=NotificationKind.ACCOUNT_DELETED).exists()


def test_a_customer_who_cancelled_and_asked_questions_deletes_cleanly(client, mug, tent):
    """Every foreign key a customer's own actions write (timeline events of a cancellation) lets go."""
    ada, _ = customer_with_everything("ada@example.com", mug, tent)
    waiting = place([(tent, 2)], email="ada@example.com", user_id=ada.pk).order
    client.force_login(ada)
    line = waiting.lines.get()
    client.post(reverse("orders:cancel", args=[waiting.number]), {f"line_{line.pk}": 1})
    # Placed, cancelled and refunded: the events name who did it.
    assert OrderEvent.objects.filter(order=waiting, user_id=ada.pk).count() == 3

    account_delete(user_id=ada.pk, password=PASSWORD)

    assert what_is_left(ada.pk, "ada@example.com") == NOTHING
    assert OrderEvent.objects.filter(order=waiting, user_id__isnull=False).count() == 0
    waiting.refresh_from_db()
    assert (waiting.user_id, waiting.lines.get().quantity_cancelled) == (None, 1)


@pytest.mark.parametrize(("own", "page", "written_in"), [("de", "en", "de"), ("", "de", "de"), ("", "", "")])
def test_the_goodbye_email_is_in_the_accounts_language_else_the_pages(own, page, written_in):
    user = User.objects.create_user(email="ada@example.com", password=PASSWORD, language=own)

    account_delete(user_id=user.pk, password=PASSWORD, language=page)

    assert Notification.objects.get(kind=NotificationKind.ACCOUNT_DELETED).language == written_in


# --- the page -------------------------------------------------------------------------------------------


def test_the_page_says_what_goes_and_what_is_kept(client, mug, tent):
    ada, _ = customer_with_everything("ada@example.com", mug, tent)
    client.force_login(ada)

    page = client.get(reverse("accounts:delete")).content.decode()

    assert "Your saved addresses." in page and "Your back-in-stock alerts." in page
    assert "§147 AO" in page
    assert 'name="password"' in page


def test_deleting_on_the_page_logs_out_and_the_orders_still_open_by_their_links(client, mug, tent):
    ada, orders = customer_with_everything("ada@example.com", mug, tent)
    client.force_login(ada)

    response = client.post(reverse("accounts:delete"), {"password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == reverse("shop:home")
    assert what_is_left(ada.pk, "ada@example.com") == NOTHING
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("account")).status_code == 302  # signed out
    for order in orders:
        page = client.get(order_access_path(order.number))
        assert page.status_code == 200
        assert page.context["order"].pk == order.pk
    assert client.get(orders[0].get_absolute_url()).status_code == 404  # without its link: nobody's
    assert not client.login(username="ada@example.com", password=PASSWORD)


def test_a_wrong_password_on_the_page_is_refused(client, mug, tent):
    ada, _ = customer_with_everything("ada@example.com", mug, tent)
    client.force_login(ada)

    response = client.post(reverse("accounts:delete"), {"password": "guess"})

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "password": ["That is not your password. Nothing was deleted."]
    }
    assert what_is_left(ada.pk, "ada@example.com") == EVERYTHING
    assert client.session["_auth_user_id"] == str(ada.pk)


def test_repeated_wrong_passwords_are_paused(client, mug, tent):
    ada, _ = customer_with_everything("ada@example.com", mug, tent)
    client.force_login(ada)

    answers = [client.post(reverse("accounts:delete"), {"password": "guess"}).status_code for _ in range(6)]
    last = client.post(reverse("accounts:delete"), {"password": PASSWORD})

    assert answers == [200, 200, 200, 200, 200, 429]
    assert last.status_code == 429
    assert what_is_left(ada.pk, "ada@example.com") == EVERYTHING


def test_staff_see_why_and_cannot_post(client):
    staff = User.objects.create_user(email="staff@example.com", password=PASSWORD, is_staff=True)
    client.force_login(staff)

    page = client.get(reverse("accounts:delete"))
    posted = client.post(reverse("accounts:delete"), {"password": PASSWORD})

    assert "Staff accounts cannot be deleted here" in page.content.decode()
    assert 'name="password"' not in page.content.decode()
    assert posted.status_code == 403
    assert User.objects.filter(pk=staff.pk).exists()


def test_the_page_only_ever_deletes_the_signed_in_account(client, mug, tent):
    """No id is posted: the page deletes the account it is signed in as, so Bob's is untouched."""
    ada, _ = customer_with_everything("ada@example.com", mug, tent)
    bob, _ = customer_with_everything("bob@example.com", mug, tent)
    client.force_login(ada)

    client.post(reverse("accounts:delete"), {"password": PASSWORD, "user_id": bob.pk})

    assert what_is_left(ada.pk, "ada@example.com") == NOTHING
    assert what_is_left(bob.pk, "bob@example.com") == EVERYTHING


def test_a_guest_is_sent_to_log_in(client):
    assert client.get(reverse("accounts:delete"))["Location"].startswith(reverse("login"))
    assert client.post(reverse("accounts:delete"), {"password": "x"})["Location"].startswith(reverse("login"))


def test_the_email_has_an_admin_preview_once_an_order_exists(admin_client, mug):
    url = reverse("admin:notifications_notification_preview", args=["account_deleted"])
    assert "No sample data yet" in admin_client.get(url).content.decode()
    place([(mug, 1)], email="ada@example.com")

    content = admin_client.get(url).content.decode()

    assert "Your Backorder Shop account has been deleted" in content
    assert "We keep your order, with its invoices and credit notes" in content
    assert Notification.objects.filter(kind=NotificationKind.ACCOUNT_DELETED).count() == 0


# Every foreign key to the user model across the repo and what deleting a user does to its rows.
# A new one must be thought about here (and in account_delete): a PROTECT one that a customer's own
# actions can write would make deleting that customer fail.
FOREIGN_KEYS_TO_THE_USER = {
    "accounts.Address.user": "CASCADE",  # deleted with the account (account_delete counts them first)
    "accounts.User_groups.user": "CASCADE",
    "accounts.User_user_permissions.user": "CASCADE",
    "admin.LogEntry.user": "CASCADE",  # staff only: staff accounts are refused
    "api.ApiKey.acting_user": "PROTECT",  # an API key's own inactive user, never a customer
    "api.ApiKey.created_by": "SET_NULL",
    "inventory.PurchaseOrder.cancelled_by": "SET_NULL",
    "inventory.PurchaseOrder.ordered_by": "SET_NULL",
    "inventory.PurchaseOrderDateChange.changed_by": "SET_NULL",
    "inventory.StockMovement.user": "PROTECT",  # staff moving stock; refused with a message (test above)
    "notifications.BackInStockSubscription.user": "SET_NULL",  # deleted first by account_delete
    "orders.Cart.user": "CASCADE",  # deleted first by account_delete
    "orders.CustomerQuestion.answered_by": "SET_NULL",
    "orders.Order.user": "SET_NULL",  # detached first by account_delete: the orders stay
    "orders.OrderEvent.user": "SET_NULL",
    "orders.PaymentTransaction.user": "SET_NULL",
    "orders.Shipment.created_by": "SET_NULL",
    "shop.CatalogImport.created_by": "SET_NULL",
    "shop.SubmissionKey.user": "SET_NULL",
}


def test_every_foreign_key_to_the_user_is_known():
    found = {
        f"{model._meta.label}.{field.name}": field.remote_field.on_delete.__name__
        for model in apps.get_models(include_auto_created=True)
        for field in model._meta.get_fields()
        if getattr(field, "concrete", False)
        and field.is_relation
        and field.remote_field.model is User
        and getattr(field.remote_field, "on_delete", None)
    }

    assert found == FOREIGN_KEYS_TO_THE_USER


def test_the_page_query_budget(client, django_assert_num_queries):
    user = User.objects.create_user(email="ada@example.com", password=PASSWORD)
    client.force_login(user)

    # Session, user, the navbar (cart count, categories).
    with django_assert_num_queries(4):
        assert client.get(reverse("accounts:delete")).status_code == 200


def test_signing_up_again_with_the_address_claims_the_detached_orders_once_confirmed(mug, tent):
    ada, orders = customer_with_everything("ada@example.com", mug, tent)
    account_delete(user_id=ada.pk, password=PASSWORD)
    again = account_create(email="ada@example.com", password=PASSWORD)
    assert Order.objects.filter(user=again).count() == 0  # not before the address is confirmed

    confirmed = account_email_confirm(token=verify_token_make(user_id=again.pk, email="ada@example.com"))

    assert sorted(confirmed.orders_added) == sorted(o.number for o in orders)
    assert Order.objects.filter(user=again).count() == 2
