"""The shop in two languages (docs/i18n.md): English at the paths it always had, German under /de/,
the navbar's switcher, the first visit of a German browser, and the page cache kept apart per language."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import translation

from shop.tests.factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.SHOP_PAGE_CACHE_TTL = 60
    settings.SHOP_CURRENCY = "EUR"


@pytest.fixture
def kettle():
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    item = ProductFactory(category=kitchen, name="Kettle", slug="kettle")
    return VariantFactory(product=item, price=Decimal("1234.56"))


def switcher(page: str) -> list[str]:
    """The languages the navbar's switcher offers (the buttons' values)."""
    form = re.search(
        r'<form method="post" action="/i18n/language/" class="shop-language">(.*?)</form>', page, re.S
    )
    return re.findall(r'name="language" value="(\w+)"', form[1])


def test_english_pages_keep_their_paths_and_offer_german(client, kettle):
    # when
    response = client.get("/c/kitchen/")

    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in page
    assert response["Content-Language"] == "en"
    assert switcher(page) == ["de"]
    assert "€1,234.56" in page
    assert 'href="/p/kettle/"' in page
    assert ">Cart <span" in page and "Warenkorb" not in page


def test_german_pages_are_under_de_and_offer_english(client, kettle):
    # when
    response = client.get("/de/c/kitchen/")

    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="de">' in page
    assert response["Content-Language"] == "de"
    assert switcher(page) == ["en"]
    assert "1.234,56\u00a0€" in page and "€1,234.56" not in page
    assert 'href="/de/p/kettle/"' in page and 'href="/p/kettle/"' not in page
    # a word of locale/de (the navbar's cart link), and not its English
    assert ">Warenkorb <span" in page and ">Cart <span" not in page


def test_the_page_cache_never_shows_one_languages_page_in_the_other(client, kettle):
    # given: the English listing is cached
    assert client.get("/c/kitchen/")["X-Page-Cache"] == "miss"
    assert client.get("/c/kitchen/")["X-Page-Cache"] == "hit"

    # when
    german = client.get("/de/c/kitchen/")
    german_again = client.get("/de/c/kitchen/")
    english = client.get("/c/kitchen/")

    # then: each language has its own entry, links and money
    assert (german["X-Page-Cache"], german_again["X-Page-Cache"], english["X-Page-Cache"]) == (
        "miss",
        "hit",
        "hit",
    )
    assert 'href="/de/p/kettle/"' in german_again.content.decode()
    assert 'href="/de/c/kitchen/"' in german_again.content.decode()  # the navbar's categories
    assert "1.234,56\u00a0€" in german_again.content.decode()
    assert "/de/" not in english.content.decode().replace('value="/de/', "")
    assert "€1,234.56" in english.content.decode()


def test_admin_api_health_and_metrics_have_no_german_paths(client):
    for path in ["/de/admin/login/", "/de/api/v1/schema/", "/de/healthz", "/de/metrics"]:
        assert client.get(path).status_code == 404, path
    assert client.get("/healthz").status_code == 200


def test_reversing_in_german_gives_the_prefixed_path_and_english_the_old_one():
    with translation.override("de"):
        assert reverse("orders:cart") == "/de/orders/cart/"
        assert reverse("admin:index") == "/admin/"
        assert reverse("stripe_webhook") == "/payments/stripe/webhook/"
    assert reverse("orders:cart") == "/orders/cart/"


# --- the first visit


def test_a_first_visit_from_a_german_browser_goes_to_the_german_page(kettle):
    # when
    response = Client(HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5").get("/c/kitchen/?page=1")

    # then
    assert response.status_code == 302
    assert response["Location"] == "/de/c/kitchen/?page=1"
    assert "Accept-Language" in response["Vary"] and "Cookie" in response["Vary"]


def test_a_visitor_who_chose_english_stays_on_english_pages(kettle):
    browser = Client(HTTP_ACCEPT_LANGUAGE="de")
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    assert browser.get("/c/kitchen/").status_code == 200


@pytest.mark.parametrize(
    "path", ["/admin/login/", "/healthz", "/api/v1/schema/", "/payments/stripe/webhook/"]
)
def test_a_german_browser_is_not_redirected_outside_the_customer_pages(path):
    response = Client(HTTP_ACCEPT_LANGUAGE="de").get(path)

    assert response.status_code != 302 or not response["Location"].startswith("/de/")


def test_a_post_is_never_redirected(kettle):
    response = Client(HTTP_ACCEPT_LANGUAGE="de").post(
        "/orders/cart/add/", {"variant": kettle.pk, "quantity": 1}
    )

    assert not (response.status_code == 302 and response["Location"].startswith("/de/"))


def test_an_english_browser_gets_english():
    response = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8").get("/")

    assert response.status_code == 200
    assert '<html lang="en">' in response.content.decode()


# --- the switcher


def test_the_switcher_takes_the_visitor_to_the_same_page_in_the_chosen_language(client, kettle):
    # when
    response = client.post("/i18n/language/", {"language": "de", "next": "/c/kitchen/?page=1"})

    # then
    assert response.status_code == 302
    assert response["Location"] == "/de/c/kitchen/?page=1"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"

    # and back
    back = client.post("/i18n/language/", {"language": "en", "next": "/de/c/kitchen/"})
    assert back["Location"] == "/c/kitchen/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_the_switcher_needs_a_post_with_a_csrf_token(kettle):
    browser = Client(enforce_csrf_checks=True)

    assert browser.get("/i18n/language/").status_code == 405
    assert browser.post("/i18n/language/", {"language": "de", "next": "/"}).status_code == 403
    assert settings.LANGUAGE_COOKIE_NAME not in browser.cookies


def test_the_switcher_refuses_an_unknown_language_and_a_foreign_next(client):
    response = client.post("/i18n/language/", {"language": "xx", "next": "https://evil.example/"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies


def test_the_switcher_stores_a_signed_in_customers_language(client):
    # given
    user_model = get_user_model()
    if "language" not in {f.name for f in user_model._meta.concrete_fields}:
        pytest.skip("the user model has no language field (accounts.User not switched in yet)")
    ada = user_model.objects.create_user(email="ada@example.com", password="pw")
    client.force_login(ada)

    # when
    client.post("/i18n/language/", {"language": "de", "next": "/"})

    # then
    ada.refresh_from_db()
    assert ada.language == "de"


# --- an account's emails


def test_a_password_reset_asked_on_a_german_page_is_emailed_in_german(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    # given
    get_user_model().objects.create_user(email="grete@example.de", password="pw")

    # when (the worker sends the email after the request's commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/de/accounts/password_reset/", {"email": "grete@example.de"})

    # then: the link leads to the German page, and the email is German (locale/de)
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    body = mailoutbox[0].body
    assert re.search(r"https?://[^/\s]+/de/accounts/reset/[^\s]+/", body)
    assert mailoutbox[0].subject == f"Passwort bei {settings.SHOP_NAME} zurücksetzen"


def test_a_password_reset_asked_on_an_english_page_stays_english(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    get_user_model().objects.create_user(email="ada@example.com", password="pw")

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password_reset/", {"email": "ada@example.com"})

    assert mailoutbox[0].subject == f"Reset your password at {settings.SHOP_NAME}"
    assert "/de/" not in mailoutbox[0].body


def test_logging_in_brings_back_the_accounts_language(client):
    # given: Grete chose German on another device
    get_user_model().objects.create_user(email="grete@example.de", password="pw", language="de")

    # when she logs in on an English page
    response = client.post("/accounts/login/", {"username": "grete@example.de", "password": "pw"})

    # then she goes on in German, and this browser remembers it
    assert response.status_code == 302
    assert response["Location"] == "/de/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"


def test_logging_in_without_a_stored_language_changes_nothing(client):
    get_user_model().objects.create_user(email="ada@example.com", password="pw")

    response = client.post("/accounts/login/", {"username": "ada@example.com", "password": "pw"})

    assert response["Location"] == "/"
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies


def test_a_german_listing_costs_the_queries_of_an_english_one(client, kettle, django_assert_num_queries):
    """The language adds no query: the German page, cold, makes the English page's queries (shop's
    page-cache tests count them), and warm, none."""
    from shop.tests.test_page_cache import CATEGORY_QUERIES  # noqa: PLC0415

    with django_assert_num_queries(CATEGORY_QUERIES):
        assert client.get("/de/c/kitchen/")["X-Page-Cache"] == "miss"
    with django_assert_num_queries(0):
        assert client.get("/de/c/kitchen/")["X-Page-Cache"] == "hit"
