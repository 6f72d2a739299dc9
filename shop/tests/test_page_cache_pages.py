"""The home and product pages from the page cache (shop/page_cache_pages.py): what they cost, that a
change to stock, an order, a price, the catalog, a purchase order's date or the day shows on the next
request, and that no visitor ever sees another's cart, messages, CSRF token, name or address."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from inventory.services import purchase_order_create, purchase_order_set_expected_date, stock_adjust
from inventory.tests.factories import SupplierFactory, WarehouseFactory
from orders.tests.helpers import allow_backorders, give_stock, place
from shop import page_cache_pages
from shop.tests import page_cache_helpers
from shop.tests.factories import CategoryFactory, VariantFactory
from shop.tests.page_cache_helpers import badges

pytestmark = pytest.mark.django_db

# featured products, their variants, availability (1, with the shop's closures), the navbar's categories
HOME_QUERIES = 4
# ... and, with no featured product, the newest ones: one more
HOME_QUERIES_NEWEST = 5
# a cached home page whose badges changed: availability (1, with the shop's closures)
HOME_BADGE_QUERIES = 1
# product, its variants (with stock), its pictures, availability (1, with the closures), the navbar's
# categories
PRODUCT_QUERIES = 5
# a visitor with a session (a cart): the session, and the cart's count for the navbar
SESSION_AND_CART_QUERIES = 2


@pytest.fixture(autouse=True)
def _shop(settings, time_machine):
    settings.TIME_ZONE = "UTC"
    settings.SHOP_CURRENCY = "EUR"
    settings.SHOP_PAGE_CACHE_TTL = 60
    settings.INVENTORY_DEFAULT_BACKORDER_MODE = "deny"
    settings.INVENTORY_LOW_STOCK_THRESHOLD = 5
    time_machine.move_to(datetime(2026, 11, 21, 12, 0, tzinfo=UTC), tick=False)


@pytest.fixture
def kitchen():
    return CategoryFactory(name="Kitchen", slug="kitchen")


def product(category, name, *, units=0, price="10.00", featured=True):
    return page_cache_helpers.product(category, name, units=units, price=price, is_featured=featured)


def home(client, prefix=""):
    return client.get(f"{prefix}/")


def page(client, slug="kettle", prefix="", **params):
    return client.get(f"{prefix}/p/{slug}/", params)


def text(response) -> str:
    return response.content.decode()


def status(response) -> str:
    """The product page's availability: its badge and message ("In stock In stock, ready to ship")."""
    section = re.search(
        r'<section [^>]*class="mb-3 product-availability">(.*?)</section>', text(response), re.S
    )
    return (
        " ".join(re.sub(r"<[^>]+>", " ", section[1]).split())
        .removeprefix("Verfügbarkeit ")
        .removeprefix("Availability ")
    )


def price(response) -> str:
    return re.search(r'<p class="fs-3 fw-semibold mb-1 product-price">([^<]*)', text(response))[1].strip()


def cart_badge(response) -> str:
    return re.search(r'Cart <span class="badge text-bg-light">(\d+)</span>', text(response))[1]


def add_to_cart_form(response) -> str:
    return re.search(r'<form class="add-to-cart mb-3" method="post"[^>]*>(.*?)</form>', text(response), re.S)[
        1
    ]


def without_csrf_token(response) -> str:
    return re.sub(
        r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', text(response)
    )


# --- what a page costs -------------------------------------------------------------------------


def test_a_warm_home_page_makes_no_query_and_is_the_page_rendered_without_the_cache(
    client, kitchen, settings, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        product(kitchen, "Kettle", units=40)
        product(kitchen, "Toaster", units=3)
        product(kitchen, "Mixer")
    settings.SHOP_PAGE_CACHE_TTL = 0
    uncached = home(client)
    settings.SHOP_PAGE_CACHE_TTL = 60
    with django_assert_num_queries(HOME_QUERIES):
        cold = home(client)

    # when
    with django_assert_num_queries(0):
        warm = home(client)

    # then
    assert without_csrf_token(warm) == without_csrf_token(cold) == without_csrf_token(uncached)
    assert (uncached["X-Page-Cache"], cold["X-Page-Cache"], warm["X-Page-Cache"]) == ("miss", "miss", "hit")
    assert badges(warm) == {"Mixer": "Out of stock", "Toaster": "Only 3 left", "Kettle": "In stock"}
    assert [p.name for p in warm.context["products"]] == ["Mixer", "Toaster", "Kettle"]
    assert warm.context["products_heading"] == "Featured products"


def test_the_home_page_of_newest_products_costs_one_query_more(client, kitchen, django_assert_num_queries):
    product(kitchen, "Kettle", units=40, featured=False)

    with django_assert_num_queries(HOME_QUERIES_NEWEST):
        cold = home(client)
    with django_assert_num_queries(0):
        warm = home(client)

    assert warm.context["products_heading"] == cold.context["products_heading"] == "New arrivals"
    assert badges(warm) == {"Kettle": "In stock"}


@pytest.mark.parametrize("variants", [1, 4])
def test_a_warm_product_page_makes_no_query_and_is_the_page_rendered_without_the_cache(
    client, kitchen, settings, django_assert_num_queries, variants
):
    # given
    kettle = product(kitchen, "Kettle", units=40)
    for n in range(variants - 1):
        give_stock(VariantFactory(product=kettle.product, sku=f"KETTLE-{n + 2}"), 3)
    settings.SHOP_PAGE_CACHE_TTL = 0
    uncached = page(client)
    settings.SHOP_PAGE_CACHE_TTL = 60
    with django_assert_num_queries(PRODUCT_QUERIES):
        cold = page(client)

    # when
    with django_assert_num_queries(0):
        warm = page(client)

    # then
    assert without_csrf_token(warm) == without_csrf_token(cold) == without_csrf_token(uncached)
    assert (cold["X-Page-Cache"], warm["X-Page-Cache"]) == ("miss", "hit")
    assert status(warm) == "In stock In stock, ready to ship"
    assert (warm.context["selected_variant"].sku, len(warm.context["variants"])) == ("KETTLE-1", variants)
    assert "<title>Kettle" in text(warm)


def test_a_visitor_with_a_cart_pays_for_the_session_and_the_cart_count_only(
    client, kitchen, django_assert_num_queries
):
    # given: pages in the cache, and a visitor with 2 kettles in a cart
    kettle = product(kitchen, "Kettle", units=40)
    home(Client())
    page(Client())
    client.post(reverse("orders:cart_add"), {"variant": kettle.pk, "quantity": 2})

    # then
    for url in ("/", "/p/kettle/"):
        with django_assert_num_queries(SESSION_AND_CART_QUERIES):
            response = client.get(url)
        assert (response["X-Page-Cache"], cart_badge(response)) == ("hit", "2")


def test_with_a_ttl_of_zero_nothing_is_cached(client, kitchen, settings, django_assert_num_queries):
    settings.SHOP_PAGE_CACHE_TTL = 0
    product(kitchen, "Kettle", units=40)
    home(client)
    page(client)

    with django_assert_num_queries(HOME_QUERIES):
        assert home(client)["X-Page-Cache"] == "miss"
    with django_assert_num_queries(PRODUCT_QUERIES):
        assert page(client)["X-Page-Cache"] == "miss"


def test_only_a_variant_the_product_has_gets_an_entry(client, kitchen, django_assert_num_queries):
    product(kitchen, "Kettle", units=40)
    page(client, variant="NOPE")
    page(client, variant="x" * 300)

    # computed again every time (the navbar's categories come from the cache)
    with django_assert_num_queries(PRODUCT_QUERIES - 1):
        assert page(client, variant="NOPE").context["selected_variant"].sku == "KETTLE-1"
    with django_assert_num_queries(PRODUCT_QUERIES - 1):
        page(client, variant="x" * 300)
    page(client, variant="KETTLE-1")
    with django_assert_num_queries(0):
        assert page(client, variant="KETTLE-1")["X-Page-Cache"] == "hit"


# --- changes show on the next request ----------------------------------------------------------


def test_stock_received_and_written_off_shows_on_the_next_request(
    client, kitchen, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        kettle = product(kitchen, "Kettle", units=40)
        product(kitchen, "Toaster", units=40)
    home(client), page(client)
    warehouse = kettle.stock_items.get().warehouse

    # when: 38 kettles are written off
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=kettle.pk, warehouse_id=warehouse.pk, quantity_change=-38)

    # then: the home page computes its badges again, the product page all of itself
    with django_assert_num_queries(HOME_BADGE_QUERIES):
        response = home(client)
    assert (response["X-Page-Cache"], badges(response)) == (
        "badges",
        {"Toaster": "In stock", "Kettle": "Only 2 left"},
    )
    response = page(client)
    assert (response["X-Page-Cache"], status(response)) == ("miss", "Low stock Only 2 left in stock")

    # when: 10 are received
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=kettle.pk, warehouse_id=warehouse.pk, quantity_change=10)

    # then
    assert badges(home(client))["Kettle"] == "In stock"
    assert status(page(client)) == "In stock In stock, ready to ship"
    with django_assert_num_queries(0):
        assert page(client)["X-Page-Cache"] == "hit"


def test_until_the_hook_runs_the_cached_page_is_shown_then_the_new_one(
    client, kitchen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        kettle = product(kitchen, "Kettle", units=40)
    page(client)

    with django_capture_on_commit_callbacks(execute=False) as hooks:
        stock_adjust(
            variant_id=kettle.pk, warehouse_id=kettle.stock_items.get().warehouse_id, quantity_change=-38
        )
    before_the_hook = status(page(client))
    for hook in hooks:
        hook()

    assert (before_the_hook, status(page(client))) == (
        "In stock In stock, ready to ship",
        "Low stock Only 2 left in stock",
    )


def test_an_order_shows_on_the_next_request(client, kitchen, django_capture_on_commit_callbacks):
    # given: the last 3 toasters, then backorders up to 2 units
    with django_capture_on_commit_callbacks(execute=True):
        toaster = product(kitchen, "Toaster", units=3)
        allow_backorders(toaster, backorder_limit=2, lead_time_days=14)
    assert badges(home(client)) == {"Toaster": "Only 3 left"}
    assert "Only 3 left" in status(page(client, "toaster"))

    # when: an order takes them all and backorders the 2 allowed
    with django_capture_on_commit_callbacks(execute=True):
        place([(toaster, 5)])

    # then
    assert badges(home(client)) == {"Toaster": "Out of stock"}
    assert status(page(client, "toaster")) == "Out of stock Out of stock: backorders for this item are full"


def test_a_price_change_shows_on_the_next_request(client, kitchen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        kettle = product(kitchen, "Kettle", units=40, price="30.00")
    home(client)
    assert price(page(client)) == "€30.00"

    with django_capture_on_commit_callbacks(execute=True):
        kettle.price = Decimal("24.50")
        kettle.save()

    assert price(page(client)) == "€24.50"
    assert "€24.50" in text(home(client))


def test_catalog_changes_show_on_the_next_request(client, kitchen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        kettle = product(kitchen, "Kettle", units=40)
        product(kitchen, "Toaster", units=40)
    home(client), page(client)

    # when: the kettle renamed, the toaster hidden, a new category
    with django_capture_on_commit_callbacks(execute=True):
        kettle.product.name = "Electric kettle"
        kettle.product.save()
        kitchen.products.filter(name="Toaster").update(is_active=False)  # no hook: the save below tells
        CategoryFactory(name="Garden", slug="garden")

    # then
    assert list(badges(home(client))) == ["Electric kettle"]
    response = page(client)
    assert "<h1>Electric kettle</h1>" in text(response) and 'href="/c/garden/"' in text(response)


def test_a_purchase_order_date_change_shows_on_the_next_request(
    client, kitchen, django_capture_on_commit_callbacks
):
    # given: a backorderable mixer, 20 expected on 1 December
    with django_capture_on_commit_callbacks(execute=True):
        mixer = product(kitchen, "Mixer")
        allow_backorders(mixer, lead_time_days=60)
        po = purchase_order_create(
            supplier_id=SupplierFactory().pk,
            warehouse_id=WarehouseFactory().pk,
            reference="PO-1",
            lines={mixer.pk: 20},
            expected_date=date(2026, 12, 1),
            status="ordered",
        )
    assert badges(home(client)) == {"Mixer": "Backorder: ships by 8 Dec"}  # + 7 days p90 lateness
    assert "8 December 2026" in status(page(client, "mixer"))

    # when: the supplier moves it to 10 December
    with django_capture_on_commit_callbacks(execute=True):
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=date(2026, 12, 10))

    # then
    assert badges(home(client)) == {"Mixer": "Backorder: ships by 17 Dec"}
    assert "17 December 2026" in status(page(client, "mixer"))


def test_a_new_day_shows_on_the_next_request(
    client, kitchen, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(datetime(2026, 11, 21, 23, 59, 30, tzinfo=UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        mixer = product(kitchen, "Mixer")
        allow_backorders(mixer, lead_time_days=60)
    assert badges(home(client)) == {"Mixer": "Backorder: ships by 27 Jan"}
    assert "27 January 2027" in status(page(client, "mixer"))

    time_machine.move_to(datetime(2026, 11, 22, 0, 0, 10, tzinfo=UTC), tick=False)

    assert badges(home(client)) == {"Mixer": "Backorder: ships by 28 Jan"}
    assert "28 January 2027" in status(page(client, "mixer"))


def test_alternatives_follow_any_stock_change_in_their_category(
    client, kitchen, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # given: the kettle is out of stock, the toaster is the only alternative
    with django_capture_on_commit_callbacks(execute=True):
        product(kitchen, "Kettle")
        toaster = product(kitchen, "Toaster", units=40)
        mixer = product(kitchen, "Mixer")
    assert [p.name for p in page(client).context["alternatives"]] == ["Toaster"]
    with django_assert_num_queries(0):
        assert [p.name for p in page(client).context["alternatives"]] == ["Toaster"]

    # when: the mixer arrives (its variant is not on the kettle's page), the toaster sells out
    with django_capture_on_commit_callbacks(execute=True):
        give_stock(mixer, 10)
    assert [p.name for p in page(client).context["alternatives"]] == ["Mixer", "Toaster"]
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(
            variant_id=toaster.pk, warehouse_id=toaster.stock_items.get().warehouse_id, quantity_change=-40
        )

    # then
    response = page(client)
    assert [p.name for p in response.context["alternatives"]] == ["Mixer"]
    assert list(badges(response)) == ["Mixer"]


def test_a_change_to_another_product_costs_a_look_at_the_tokens_but_no_query(
    client, kitchen, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        product(kitchen, "Kettle", units=40)
        rake = product(CategoryFactory(name="Garden", slug="garden"), "Rake", units=10, featured=False)
    page(client)

    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=rake.pk, warehouse_id=rake.stock_items.get().warehouse_id, quantity_change=-1)

    with django_assert_num_queries(0):
        assert page(client)["X-Page-Cache"] == "hit"


def test_a_lost_token_never_hides_a_later_change(client, kitchen, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        kettle = product(kitchen, "Kettle", units=40)
    page(client)
    cache.delete(page_cache_pages._availability_key(kettle.pk))
    assert page(client)["X-Page-Cache"] == "hit"  # nothing changed

    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(
            variant_id=kettle.pk, warehouse_id=kettle.stock_items.get().warehouse_id, quantity_change=-38
        )

    assert status(page(client)) == "Low stock Only 2 left in stock"


# --- every visitor their own page --------------------------------------------------------------


def test_two_visitors_each_see_their_own_cart_messages_and_csrf_token(kitchen):
    # given: the pages are in the cache (Bob's visit), Ada adds 2 kettles (her message waits for her next page)
    kettle = product(kitchen, "Kettle", units=40)
    ada, bob = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    home(bob), page(bob)
    ada.get("/p/kettle/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', add_to_cart_form(page(ada)))[1]
    ada.post(reverse("orders:cart_add"), {"variant": kettle.pk, "quantity": 2, "csrfmiddlewaretoken": token})

    # when
    ada_page, bob_page = page(ada), page(bob)

    # then
    assert (ada_page["X-Page-Cache"], bob_page["X-Page-Cache"]) == ("hit", "hit")
    assert (cart_badge(ada_page), cart_badge(bob_page)) == ("2", "0")
    assert "to your cart" in text(ada_page) and "to your cart" not in text(bob_page)
    # each page's add-to-cart form carries its visitor's token: Bob's works for Bob, not for Ada
    bob_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', add_to_cart_form(bob_page))[1]
    assert (
        bob.post(
            reverse("orders:cart_add"),
            {"variant": kettle.pk, "quantity": 1, "csrfmiddlewaretoken": bob_token},
        ).status_code
        == 302
    )
    assert ada.cookies["csrftoken"].value != bob.cookies["csrftoken"].value
    assert (
        ada.post(
            reverse("orders:cart_add"),
            {"variant": kettle.pk, "quantity": 1, "csrfmiddlewaretoken": bob_token},
        ).status_code
        == 403
    )


def test_the_add_to_cart_form_returns_to_the_page_asked_for(client, kitchen):
    product(kitchen, "Kettle", units=40)
    page(client, variant="KETTLE-1")

    response = page(client, variant="KETTLE-1", ref='x"><b>')

    assert response["X-Page-Cache"] == "hit"
    assert '<input type="hidden" name="next" value="/p/kettle/?variant=KETTLE-1&amp;ref=x%22%3E%3Cb%3E">' in (
        add_to_cart_form(response)
    )


def test_a_signed_in_customer_sees_their_name_and_address_and_nobody_else_does(kitchen, django_user_model):
    # given: a product out of stock ("notify me"), its page cached by Ada, signed in
    product(kitchen, "Kettle")
    ada = Client()
    ada.force_login(django_user_model.objects.create_user("ada@example.com", "pw"))
    ada_page = text(page(ada))

    # when: a guest comes
    guest = page(Client())

    # then
    assert guest["X-Page-Cache"] == "hit"
    assert "We'll email ada@example.com once" in ada_page and "(ada@example.com)" in ada_page
    assert "ada@example.com" not in text(guest)
    assert 'name="email" id="notify-me-email-' in text(guest) and "Log in" in text(guest)


# --- languages ---------------------------------------------------------------------------------


def test_german_and_english_pages_never_share_an_entry(client, kitchen):
    # given: the English pages are in the cache
    product(kitchen, "Kettle", units=40)
    home(client), page(client)

    # when
    de_home, de_page = home(client, prefix="/de"), page(client, prefix="/de")

    # then
    assert (de_home["X-Page-Cache"], de_page["X-Page-Cache"]) == ("miss", "miss")
    assert '<html lang="de">' in text(de_page)
    assert "Auf Lager" in status(de_page) and badges(de_home) == {"Kettle": "Auf Lager"}
    assert 'action="/de/cart/add/"' in text(de_page) or 'href="/de/p/kettle/"' in text(de_home)
    assert 'href="/p/kettle/"' not in text(de_home)
    assert (home(client)["X-Page-Cache"], status(page(client))) == ("hit", "In stock In stock, ready to ship")
    assert (home(client, prefix="/de")["X-Page-Cache"], page(client, prefix="/de")["X-Page-Cache"]) == (
        "hit",
        "hit",
    )
