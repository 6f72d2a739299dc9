"""Email verification (accounts.services.verification, accounts.views): the signed link confirms the
address and attaches the guest orders placed with it; sign-up alone attaches nothing."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User
from accounts.tests.factories import PASSWORD, user_create
from accounts.tokens import VERIFY_EMAIL_SALT, verify_token_make
from notifications.emails import render_notification
from notifications.models import Notification, NotificationKind
from orders.choices import OrderEventKind
from orders.models import Order, OrderEvent
from orders.tests.factories import OrderFactory
from orders.tokens import make_order_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """reverse() outside a request uses the thread's language, which a German request leaves active."""
    with translation.override("en"):
        yield


def verify_path(user: User) -> str:
    return reverse(
        "accounts:verify_email", kwargs={"token": verify_token_make(user_id=user.pk, email=user.email)}
    )


def page(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def added_events() -> list[tuple[str, str, str, bool]]:
    return list(
        OrderEvent.objects.filter(message="Added to your account")
        .order_by("order__number")
        .values_list("order__number", "kind", "message", "visible_to_customer")
    )


@pytest.fixture
def bob():
    return user_create(email="bob@example.com", password=PASSWORD)


@pytest.fixture
def orders_of_bobs_address(bob):
    """Two guest orders with bob's address (one in capitals), a guest order of someone else, and an
    order of alice's account that she placed with bob's address."""
    alice = user_create(email="alice@example.com")
    return {
        "guest": OrderFactory(number="BO-1", email="bob@example.com"),
        "guest_caps": OrderFactory(number="BO-2", email="BOB@Example.com"),
        "other_guest": OrderFactory(number="BO-3", email="carol@example.com"),
        "alices": OrderFactory(number="BO-4", email="bob@example.com", user=alice),
        "alice": alice,
    }


# --- sign-up --------------------------------------------------------------------------------------


def test_signup_sends_one_confirmation_email_and_attaches_no_order(client):
    # given: a guest order with the address someone signs up with
    guest = OrderFactory(number="BO-9", email="dana@example.com")

    # when
    response = client.post(
        reverse("signup"),
        {"email": "Dana@Example.com", "password1": PASSWORD, "password2": PASSWORD},
        follow=True,
    )

    # then: the account exists, unconfirmed; one email to confirm it; the order is still a guest's
    dana = User.objects.get()
    assert (dana.email, dana.email_verified_at, dana.language) == ("Dana@example.com", None, "en")
    assert list(Notification.objects.values_list("kind", "recipient", "context", "language")) == [
        (
            NotificationKind.ACCOUNT_VERIFY,
            "Dana@example.com",
            {"user_id": dana.pk, "email": "Dana@example.com"},
            "en",
        )
    ]
    guest.refresh_from_db()
    assert guest.user_id is None
    assert OrderEvent.objects.count() == 0
    assert "We have sent a link to Dana@example.com: open it to confirm your address." in page(response)


def test_signup_in_german_keeps_the_language_for_the_email(client):
    client.post(
        "/de/accounts/signup/", {"email": "eva@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )

    eva = User.objects.get()
    assert eva.language == "de"
    assert Notification.objects.get().language == "de"


def test_the_email_links_to_a_page_that_confirms_only_on_post(client, bob):
    # given: the email of a sign-up
    client.post(
        reverse("signup"), {"email": "finn@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    subject, text, html, _headers = render_notification(Notification.objects.get())
    path = re.search(r"https?://[^/\s]+(/accounts/verify/[^/\s]+/)", text).group(1)

    # when: the link is opened (a mail scanner would do this too)
    response = client.get(path)

    # then: a button, nothing confirmed yet
    assert subject == "Confirm your email address for Backorder Shop"
    assert "The link works for 72 hours." in text
    assert path in html
    assert response.status_code == 200
    assert "Confirm my email address" in page(response)
    assert User.objects.get(email="finn@example.com").email_verified_at is None


# --- confirming -----------------------------------------------------------------------------------


def test_confirming_attaches_the_guest_orders_of_the_address_in_any_case(client, bob, orders_of_bobs_address):
    now = timezone.now()

    with time_machine.travel(now, tick=False):
        response = client.post(verify_path(bob))

    # then: confirmed now; the two guest orders are bob's with one timeline event each
    bob.refresh_from_db()
    assert bob.email_verified_at == now
    assert dict(Order.objects.values_list("number", "user_id")) == {
        "BO-1": bob.pk,
        "BO-2": bob.pk,
        "BO-3": None,
        "BO-4": orders_of_bobs_address["alice"].pk,
    }
    assert added_events() == [
        ("BO-1", OrderEventKind.NOTE, "Added to your account", True),
        ("BO-2", OrderEventKind.NOTE, "Added to your account", True),
    ]
    assert response.status_code == 200
    text = page(response)
    assert 'Thank you: <strong class="text-break">bob@example.com</strong> is confirmed.' in text
    assert "We have added 2 orders you placed as a guest with this address to your account." in text
    assert "<li>BO-1</li><li>BO-2</li>" in text


def test_opening_the_link_again_adds_nothing_twice(client, bob, orders_of_bobs_address):
    client.post(verify_path(bob))
    confirmed_at = User.objects.get(pk=bob.pk).email_verified_at

    response = client.post(verify_path(bob))

    assert User.objects.get(pk=bob.pk).email_verified_at == confirmed_at
    assert len(added_events()) == 2
    text = page(response)
    assert '<strong class="text-break">bob@example.com</strong> was confirmed already.' in text
    assert "There were no guest orders with this address to add to your account." in text


def test_one_guest_order_is_said_in_the_singular(client, bob):
    OrderFactory(number="BO-7", email="bob@example.com")

    response = client.post(verify_path(bob))

    assert "We have added 1 order you placed as a guest with this address to your account." in page(response)


def refused_link_leaves_everything(client, bob, path: str) -> None:
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 400
        assert "This link is invalid or has expired" in page(response)
    bob.refresh_from_db()
    assert bob.email_verified_at is None
    assert Order.objects.filter(user__isnull=False).count() == 1  # alice's own order only
    assert OrderEvent.objects.count() == 0


def test_a_tampered_link_changes_nothing(client, bob, orders_of_bobs_address):
    token = verify_token_make(user_id=bob.pk, email=bob.email)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    refused_link_leaves_everything(client, bob, reverse("accounts:verify_email", kwargs={"token": tampered}))


def test_an_expired_link_changes_nothing(client, settings, bob, orders_of_bobs_address):
    path = verify_path(bob)

    with time_machine.travel(timezone.now() + timedelta(hours=settings.ACCOUNT_VERIFY_LINK_HOURS, minutes=1)):
        refused_link_leaves_everything(client, bob, path)


def test_a_link_for_another_purpose_or_an_old_address_changes_nothing(client, bob, orders_of_bobs_address):
    # an order page's token (another salt), and a link made for bob's previous address
    order_token = make_order_token("BO-1")
    old_address = verify_token_make(user_id=bob.pk, email="bob@old.example")

    refused_link_leaves_everything(
        client, bob, reverse("accounts:verify_email", kwargs={"token": order_token})
    )
    refused_link_leaves_everything(
        client, bob, reverse("accounts:verify_email", kwargs={"token": old_address})
    )
    assert VERIFY_EMAIL_SALT == "accounts.verify-email"


def test_an_inactive_account_cannot_be_confirmed(client, bob, orders_of_bobs_address):
    User.objects.filter(pk=bob.pk).update(is_active=False)

    refused_link_leaves_everything(client, bob, verify_path(bob))


# --- the account page and "Send the link again" -------------------------------------------------------


def test_account_page_says_the_address_is_not_confirmed_yet(client, bob, django_assert_max_num_queries):
    client.force_login(bob)

    with django_assert_max_num_queries(5):
        response = client.get(reverse("account"))

    text = page(response)
    assert "not confirmed yet" in text
    assert "Your email address is not confirmed yet." in text
    assert f'action="{reverse("accounts:verify_email_resend")}"' in text


def test_account_page_of_a_confirmed_address(client, bob, django_assert_max_num_queries):
    User.objects.filter(pk=bob.pk).update(email_verified_at=timezone.now())
    client.force_login(bob)

    with django_assert_max_num_queries(5):
        response = client.get(reverse("account"))

    text = page(response)
    assert "email-confirmed" in text
    assert "not confirmed yet" not in text
    assert "Send the link again" not in text


def test_send_the_link_again_is_throttled_per_account(client, settings, bob):
    settings.ACCOUNT_VERIFY_RESEND_RATE = "3/h"
    client.force_login(bob)

    answers = [client.post(reverse("accounts:verify_email_resend"), follow=True) for _ in range(4)]

    assert (
        Notification.objects.filter(kind=NotificationKind.ACCOUNT_VERIFY, recipient="bob@example.com").count()
        == 3
    )
    assert "We have sent a new link to bob@example.com." in page(answers[2])
    assert "We have sent you several links already. Please wait" in page(answers[3])
    assert [a.redirect_chain for a in answers] == [[(reverse("account"), 302)]] * 4


def test_send_the_link_again_does_nothing_once_confirmed(client, bob):
    User.objects.filter(pk=bob.pk).update(email_verified_at=timezone.now())
    client.force_login(bob)

    response = client.post(reverse("accounts:verify_email_resend"), follow=True)

    assert Notification.objects.count() == 0
    assert "Your email address is already confirmed." in page(response)


def test_send_the_link_again_needs_a_login_and_a_post(client, bob):
    assert client.post(reverse("accounts:verify_email_resend")).status_code == 302  # to the login
    client.force_login(bob)
    assert client.get(reverse("accounts:verify_email_resend")).status_code == 405
    assert Notification.objects.count() == 0


def test_an_email_for_an_address_the_account_no_longer_has_is_not_sent(bob):
    from accounts.services.verification import account_verify_email_send
    from notifications.emails import PermanentEmailError

    notification = account_verify_email_send(user=bob)
    User.objects.filter(pk=bob.pk).update(email="robert@example.com")

    with pytest.raises(PermanentEmailError, match="no longer has the address"):
        render_notification(notification)


def test_the_admin_previews_the_email_for_a_customer(admin_client, bob):
    response = admin_client.get(
        reverse("admin:notifications_notification_preview", args=[NotificationKind.ACCOUNT_VERIFY])
    )

    text = page(response)
    assert "Subject:" in text
    assert "Please confirm that bob@example.com is your email address" in text
    assert Notification.objects.count() == 0


def test_a_german_customers_link_opens_the_german_page(client):
    client.post(
        "/de/accounts/signup/", {"email": "eva@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )

    _subject, text, _html, _headers = render_notification(Notification.objects.get())

    path = re.search(r"https?://[^/\s]+(/\S+/verify/[^/\s]+/)", text).group(1)
    assert path.startswith("/de/accounts/verify/")
    response = client.get(path)
    assert (response.status_code, response["Content-Language"]) == (200, "de")
