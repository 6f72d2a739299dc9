"""Customer pages: "Notify me", double opt-in, unsubscribe (button and RFC 8058 one-click)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from inventory.selectors import availability_for_variant
from inventory.services import stock_adjust
from inventory.tests.factories import BackorderPolicyFactory, WarehouseFactory
from notifications.models import BackInStockSubscription, EmailPreference, Notification, SubscriptionStatus
from notifications.services import back_in_stock_process
from notifications.tests.factories import SubscriptionFactory
from notifications.tokens import make_confirm_token, make_unsubscribe_token
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def variant():
    """Out of stock: no stock and the default policy (deny backorders)."""
    return VariantFactory(sku="TEAPOT-BLU", product__name="Blue teapot", product__slug="blue-teapot")


@pytest.fixture
def customer():
    return get_user_model().objects.create_user("ada@example.com", "pw-not-checked")


def subscribe_url(variant):
    return reverse("notifications:subscribe", args=[variant.pk])


def confirm_link(message) -> str:
    return re.search(r"http://\S+/notifications/confirm/\S+/", message.body).group(0)


def tamper(token: str) -> str:
    """The same token with the last character of its signature changed."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


# --- signing up ----------------------------------------------------------------------


def test_signed_in_customer_is_subscribed_at_once(client, variant, customer):
    client.force_login(customer)

    response = client.post(subscribe_url(variant))

    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:subscribe_done", args=[variant.pk])
    subscription = BackInStockSubscription.objects.get()
    assert (subscription.email, subscription.status, subscription.user) == (
        "ada@example.com",
        "active",
        customer,
    )
    assert subscription.confirmed_at is not None
    assert Notification.objects.count() == 0  # no confirmation needed
    done = client.get(response["Location"]).content.decode()
    assert "You're on the list" in done
    assert 'We\'ll email you at <strong class="text-break">ada@example.com</strong> once' in done


def test_guest_double_opt_in(client, variant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(subscribe_url(variant), {"email": " Grace@Example.com "})

    assert response.status_code == 302
    subscription = BackInStockSubscription.objects.get()
    assert (subscription.email, subscription.status, subscription.confirmed_at) == (
        "grace@example.com",
        "unconfirmed",
        None,
    )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Confirm your back-in-stock alert for Blue teapot"
    assert "List-Unsubscribe" not in message.extra_headers
    link = path_of(confirm_link(message))

    page = client.get(link)  # a mail scanner opening the link changes nothing

    assert page.status_code == 200
    assert "Confirm my alert" in page.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == "unconfirmed"

    confirmed = client.post(link)

    assert confirmed.status_code == 200
    assert "Your alert is confirmed" in confirmed.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert subscription.confirmed_at is not None


def test_the_answer_is_identical_whether_or_not_the_address_was_subscribed(client, variant):
    SubscriptionFactory(variant=variant, email="known@example.com")  # already active

    new = client.post(subscribe_url(variant), {"email": "new@example.com"})
    known = client.post(subscribe_url(variant), {"email": "known@example.com"})
    again = client.post(subscribe_url(variant), {"email": "new@example.com"})

    assert new.status_code == known.status_code == again.status_code == 302
    assert new["Location"] == known["Location"] == again["Location"]
    pages = [
        # the navbar's language switcher carries a CSRF token of its own on every page
        re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", client.get(r["Location"]).content.decode())
        for r in (new, known, again)
    ]
    # Each page names the address just typed (the visitor's own words) and otherwise reads the same.
    assert 'We\'ve sent a link to <strong class="text-break">new@example.com</strong>.' in pages[0]
    assert {page.replace("known@", "new@") for page in pages} == {pages[0]}
    assert BackInStockSubscription.objects.filter(variant=variant).count() == 2  # duplicates were no-ops
    # One confirmation for the new address (a repeat the same day adds none), none for the active one.
    assert list(Notification.objects.values_list("recipient", flat=True)) == ["new@example.com"]


def test_check_your_inbox_names_the_address_typed_for_this_item_only(client, variant):
    other = VariantFactory(sku="TEAPOT-RED", product__name="Red teapot", product__slug="red-teapot")

    # when: an alert asked for at one address (typed with spaces and capitals)
    response = client.post(subscribe_url(variant), {"email": " Grace@Example.com "}, follow=True)

    # then: its page names the address, as it will be written to
    content = response.content.decode()
    assert "Check your inbox" in content
    assert 'We\'ve sent a link to <strong class="text-break">grace@example.com</strong>.' in content
    assert f'href="{subscribe_url(variant)}">Ask again</a>' in content
    # another item's page (never asked for in this session) names no address
    elsewhere = client.get(reverse("notifications:subscribe_done", args=[other.pk])).content.decode()
    assert "We've sent a link to the address you entered." in elsewhere
    assert "grace@example.com" not in elsewhere
    # nor does another visitor's
    stranger = Client().get(reverse("notifications:subscribe_done", args=[variant.pk])).content.decode()
    assert "grace@example.com" not in stranger


def test_signup_rate_limited_per_ip_shows_a_friendly_page_and_writes_nothing(client, variant, settings):
    settings.BACK_IN_STOCK_SIGNUP_RATE_PER_IP = "2/h"
    for n in range(2):
        assert client.post(subscribe_url(variant), {"email": f"a{n}@example.com"}).status_code == 302

    response = client.post(subscribe_url(variant), {"email": "a2@example.com"})

    assert response.status_code == 429
    assert "Please try again a little later" in response.content.decode()
    assert BackInStockSubscription.objects.count() == 2
    assert Notification.objects.count() == 2


def test_signup_rate_limited_per_email_address_across_ips(variant, settings):
    settings.BACK_IN_STOCK_SIGNUP_RATE_PER_EMAIL = "1/h"
    first = Client(REMOTE_ADDR="10.0.0.1").post(subscribe_url(variant), {"email": "target@example.com"})
    other_variant = VariantFactory()

    second = Client(REMOTE_ADDR="10.0.0.2").post(
        subscribe_url(other_variant), {"email": "TARGET@example.com"}
    )

    assert (first.status_code, second.status_code) == (302, 429)
    assert BackInStockSubscription.objects.count() == 1
    assert Notification.objects.count() == 1


@pytest.mark.parametrize("stock, policy", [(3, None), (0, "allow")], ids=["in stock", "backorder"])
def test_no_alert_for_a_variant_that_can_be_ordered(client, variant, stock, policy):
    if stock:
        stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=stock)
    if policy:
        BackorderPolicyFactory(variant=variant, mode=policy)

    response = client.post(subscribe_url(variant), {"email": "eager@example.com"})

    assert response.status_code == 302
    assert response["Location"] == "/p/blue-teapot/?variant=TEAPOT-BLU"
    assert BackInStockSubscription.objects.count() == 0


def test_an_invalid_address_shows_the_form_again(client, variant):
    response = client.post(subscribe_url(variant), {"email": "not-an-address"})

    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert BackInStockSubscription.objects.count() == 0


def test_the_signup_page_shows_the_form(client, variant):
    response = client.get(subscribe_url(variant))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Blue teapot" in content and 'name="email"' in content


# --- the "Notify me" include of the product page ----------------------------------------------


def render_include(variant, user=None):
    request = RequestFactory().get("/")
    request.user = user or get_user_model()()
    availability = availability_for_variant(variant_id=variant.pk)
    return render_to_string(
        "notifications/includes/notify_me.html",
        {"variant": variant, "availability": availability, "user": request.user},
        request=request,
    )


def test_notify_me_include_only_for_out_of_stock_variants(variant, customer):
    backorderable = VariantFactory()
    BackorderPolicyFactory(variant=backorderable, mode="allow")

    guest_html = render_include(variant)
    customer_html = render_include(variant, customer)

    assert f'action="{subscribe_url(variant)}"' in guest_html and 'name="email"' in guest_html
    assert "csrfmiddlewaretoken" in guest_html
    assert 'name="email"' not in customer_html and "ada@example.com" in customer_html
    assert render_include(backorderable).strip() == ""


# --- confirmation links ------------------------------------------------------------------------


def test_confirm_link_tampered_or_expired_is_refused_with_a_clear_page(client, variant):
    subscription = SubscriptionFactory(variant=variant, status=SubscriptionStatus.UNCONFIRMED)
    token = make_confirm_token(subscription.pk)
    url = reverse("notifications:confirm", args=[token])
    tampered = reverse("notifications:confirm", args=[tamper(token)])

    responses = [client.get(tampered), client.post(tampered)]
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        responses += [client.get(url), client.post(url)]

    assert [r.status_code for r in responses] == [400, 400, 400, 400]
    assert all("This link is invalid or has expired" in r.content.decode() for r in responses)
    subscription.refresh_from_db()
    assert subscription.status == "unconfirmed"


def test_confirm_link_of_a_cancelled_alert_is_refused(client, variant):
    subscription = SubscriptionFactory(variant=variant, status=SubscriptionStatus.UNSUBSCRIBED)
    url = reverse("notifications:confirm", args=[make_confirm_token(subscription.pk)])

    assert (client.get(url).status_code, client.post(url).status_code) == (400, 400)
    subscription.refresh_from_db()
    assert subscription.status == "unsubscribed"


# --- unsubscribing ------------------------------------------------------------------------------


def one_click(client, url):
    """What a mail client sends for RFC 8058: no cookies, no CSRF token."""
    return client.post(
        url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )


def unsubscribe_url(email="ada@example.com"):
    return reverse("notifications:unsubscribe", args=[make_unsubscribe_token(email)])


@pytest.fixture
def open_alerts(variant):
    return [
        SubscriptionFactory(variant=variant, email="ada@example.com"),
        SubscriptionFactory(email="ada@example.com", status=SubscriptionStatus.UNCONFIRMED),
        SubscriptionFactory(variant=variant, email="bob@example.com"),
    ]


def test_unsubscribe_get_changes_nothing(client, open_alerts):
    response = client.get(unsubscribe_url())

    assert response.status_code == 200
    assert "Unsubscribe" in response.content.decode()
    assert set(BackInStockSubscription.objects.values_list("status", flat=True)) == {"active", "unconfirmed"}
    assert EmailPreference.objects.count() == 0


def test_unsubscribe_with_the_button(open_alerts):
    client = Client(enforce_csrf_checks=True)
    page = client.get(unsubscribe_url())
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)

    response = client.post(unsubscribe_url(), {"csrfmiddlewaretoken": token})

    assert response.status_code == 200
    assert "You're unsubscribed" in response.content.decode()
    assert [s.status for s in BackInStockSubscription.objects.order_by("pk")] == [
        "unsubscribed",
        "unsubscribed",
        "active",  # bob's
    ]
    assert EmailPreference.objects.get(email="ada@example.com").marketing_opt_out is True


def test_rfc8058_one_click_unsubscribe_without_csrf_token(open_alerts):
    client = Client(enforce_csrf_checks=True)

    response = one_click(client, unsubscribe_url("ADA@example.com"))

    assert response.status_code == 200
    assert BackInStockSubscription.objects.filter(email="ada@example.com", status="unsubscribed").count() == 2
    assert EmailPreference.objects.get(email="ada@example.com").marketing_opt_out is True


@pytest.mark.parametrize("how", ["one_click", "button"])
def test_unsubscribe_link_after_unsubscribing_says_so_without_a_button(open_alerts, how):
    # given: ada unsubscribed by her mail client's one-click POST, or by the page's button
    client = Client(enforce_csrf_checks=True)
    if how == "one_click":
        one_click(client, unsubscribe_url())
    else:
        page = client.get(unsubscribe_url()).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        client.post(unsubscribe_url(), {"csrfmiddlewaretoken": token})

    # when: she opens the link (again)
    response = client.get(unsubscribe_url())

    # then: no button that would do nothing; a way back to the item she last asked about, and to
    # its alert
    content = response.content.decode()
    assert response.status_code == 200
    assert "You're already unsubscribed" in content
    assert '<button class="btn btn-primary" type="submit">Unsubscribe</button>' not in content
    assert 'method="post"' not in re.sub(
        r'<form method="post" action="/i18n/language/".*?</form>', "", content, flags=re.S
    )
    latest = open_alerts[1].variant
    assert f'href="{subscribe_url(latest)}">Ask for an alert again</a>' in content
    product_url = f"{latest.product.get_absolute_url()}?variant={latest.sku}"
    assert f'href="{product_url}">Back to the product</a>' in content
    statuses = [s.status for s in BackInStockSubscription.objects.order_by("pk")]
    assert statuses == ["unsubscribed", "unsubscribed", "active"]  # bob's stays


def test_unsubscribe_link_still_offers_the_button_while_an_alert_is_open(variant):
    # given: unsubscribed once, then asked again for an alert (not confirmed yet: the opt-out stays)
    EmailPreference.objects.create(email="ada@example.com", marketing_opt_out=True)
    SubscriptionFactory(variant=variant, email="ada@example.com", status=SubscriptionStatus.UNCONFIRMED)

    response = Client().get(unsubscribe_url())

    content = response.content.decode()
    assert "already unsubscribed" not in content
    assert '<button class="btn btn-primary" type="submit">Unsubscribe</button>' in content


def test_unsubscribed_page_without_any_alert_offers_the_shop(client):
    response = client.post(unsubscribe_url("nobody@example.com"))

    content = response.content.decode()
    assert "You're unsubscribed" in content
    assert "Ask for an alert again on any product page." in content
    assert EmailPreference.objects.get().email == "nobody@example.com"


def test_unsubscribe_cancels_back_in_stock_emails_still_in_the_outbox(client, variant):
    subscription = SubscriptionFactory(variant=variant, email="ada@example.com")
    stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=1)

    back_in_stock_process(variant_ids=[variant.pk])  # on-commit sending never runs in this test
    assert Notification.objects.get().status == "pending"

    client.post(unsubscribe_url())

    assert Notification.objects.get().status == "cancelled"
    subscription.refresh_from_db()
    assert subscription.status == "notified"  # history stays as it was


def test_unsubscribe_link_tampered_or_expired_is_refused_with_a_clear_page(open_alerts):
    client = Client(enforce_csrf_checks=True)
    url = unsubscribe_url()
    tampered = reverse("notifications:unsubscribe", args=[tamper(make_unsubscribe_token("ada@example.com"))])

    responses = [client.get(tampered), one_click(client, tampered)]
    with time_machine.travel(timezone.now() + timedelta(days=181)):
        responses += [client.get(url), one_click(client, url)]

    assert [r.status_code for r in responses] == [400, 400, 400, 400]
    assert all("This link is invalid or has expired" in r.content.decode() for r in responses)
    assert BackInStockSubscription.objects.filter(status="unsubscribed").count() == 0
    assert EmailPreference.objects.count() == 0


def test_signing_up_again_after_unsubscribing_lifts_the_opt_out(client, variant, customer):
    EmailPreference.objects.create(email="ada@example.com", marketing_opt_out=True)
    client.force_login(customer)

    client.post(subscribe_url(variant))

    assert EmailPreference.objects.get().marketing_opt_out is False


def test_only_the_unsubscribe_view_skips_csrf(variant):
    client = Client(enforce_csrf_checks=True)
    subscription = SubscriptionFactory(variant=variant, status=SubscriptionStatus.UNCONFIRMED)

    signup = client.post(subscribe_url(variant), {"email": "x@example.com"})
    confirm = client.post(reverse("notifications:confirm", args=[make_confirm_token(subscription.pk)]))

    assert (signup.status_code, confirm.status_code) == (403, 403)
    subscription.refresh_from_db()
    assert (subscription.status, BackInStockSubscription.objects.count()) == ("unconfirmed", 1)
