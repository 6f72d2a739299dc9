"""The page cache of the category listing (shop/cache.py): what it saves, and that it never shows
a visitor someone else's page or a badge that stock changes made wrong."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse

from inventory.services import purchase_order_create, stock_adjust
from inventory.tests.factories import SupplierFactory, WarehouseFactory
from orders.tests.helpers import allow_backorders, place
from shop import cache as page_cache
from shop.tests.factories import CategoryFactory
from shop.tests.page_cache_helpers import badges, product

pytestmark = pytest.mark.django_db

# category + children, nav, count, page, variants, availability (1, with the shop's closures)
CATEGORY_QUERIES = 6
# a cached page whose badges changed: availability (1, with the shop's closures)
BADGE_QUERIES = 1


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


def cart_badge(response) -> str:
    return re.search(r'Cart <span class="badge text-bg-light">(\d+)</span>', response.content.decode())[1]


def without_csrf_token(response) -> str:
    """The page with its CSRF token (per request, never cached: the navbar's language switcher) blanked."""
    return re.sub(
        r'name="csrfmiddlewaretoken" value="[^"]+"',
        'name="csrfmiddlewaretoken" value=""',
        response.content.decode(),
    )


def listing(client, **params):
    return client.get(reverse("shop:category", args=["kitchen"]), params)


def test_a_warm_listing_makes_no_query_and_shows_the_same_page(
    client, kitchen, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        product(kitchen, "Kettle", units=40)
        product(kitchen, "Toaster", units=3)
        product(kitchen, "Mixer")
    with django_assert_num_queries(CATEGORY_QUERIES):
        cold = listing(client)

    # when
    with django_assert_num_queries(0):
        warm = listing(client)

    # then
    assert without_csrf_token(warm) == without_csrf_token(cold)
    assert (cold["X-Page-Cache"], warm["X-Page-Cache"]) == ("miss", "hit")
    assert badges(warm) == {"Kettle": "In stock", "Mixer": "Out of stock", "Toaster": "Only 3 left"}
    assert [p.name for p in warm.context["products"]] == ["Kettle", "Mixer", "Toaster"]


def test_a_stock_change_shows_on_the_next_listing(
    client, kitchen, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        kettle = product(kitchen, "Kettle", units=40)
        product(kitchen, "Toaster", units=40)
    listing(client)
    warehouse = kettle.stock_items.get().warehouse

    # when: 38 kettles are written off, after commit the token of that variant changes
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=kettle.pk, warehouse_id=warehouse.pk, quantity_change=-38)

    # then: only the badges are computed again
    with django_assert_num_queries(BADGE_QUERIES):
        response = listing(client)
    assert badges(response) == {"Kettle": "Only 2 left", "Toaster": "In stock"}
    assert response["X-Page-Cache"] == "badges"
    with django_assert_num_queries(0):  # and stored again
        assert badges(listing(client)) == {"Kettle": "Only 2 left", "Toaster": "In stock"}


def test_until_the_hook_runs_the_cached_badge_is_shown_then_the_new_one(
    client, kitchen, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        kettle = product(kitchen, "Kettle", units=40)
    listing(client)
    warehouse = kettle.stock_items.get().warehouse

    # when: the change is written but its after-commit hook has not run yet
    with django_capture_on_commit_callbacks(execute=False) as hooks:
        stock_adjust(variant_id=kettle.pk, warehouse_id=warehouse.pk, quantity_change=-38)
    before_the_hook = badges(listing(client))
    for hook in hooks:
        hook()

    # then: the window is the time between a commit and its hook, not the TTL
    assert before_the_hook == {"Kettle": "In stock"}
    assert badges(listing(client)) == {"Kettle": "Only 2 left"}


def test_an_order_changes_the_badges_of_what_it_bought(client, kitchen, django_capture_on_commit_callbacks):
    # given: the last 3 toasters, then backorders up to 2 units
    with django_capture_on_commit_callbacks(execute=True):
        product(kitchen, "Kettle", units=40)
        toaster = product(kitchen, "Toaster", units=3)
        allow_backorders(toaster, backorder_limit=2, lead_time_days=14)
    assert badges(listing(client)) == {"Kettle": "In stock", "Toaster": "Only 3 left"}

    # when: an order takes them all and backorders the 2 allowed
    with django_capture_on_commit_callbacks(execute=True):
        place([(toaster, 5)])

    # then
    assert badges(listing(client)) == {"Kettle": "In stock", "Toaster": "Out of stock"}


def test_a_purchase_order_gives_a_backorder_its_date(client, kitchen, django_capture_on_commit_callbacks):
    # given: a backorderable mixer with no stock; the date is the lead time's: the badge gives the date
    # we are 90% sure of, today + 60 days + the default p90 supplier lateness, 7 days (docs/dates.md)
    with django_capture_on_commit_callbacks(execute=True):
        mixer = product(kitchen, "Mixer")
        allow_backorders(mixer, lead_time_days=60)
    assert badges(listing(client)) == {"Mixer": "Backorder: ships by 27 Jan"}

    # when: 20 are ordered from a supplier for 1 December
    with django_capture_on_commit_callbacks(execute=True):
        purchase_order_create(
            supplier_id=SupplierFactory().pk,
            warehouse_id=WarehouseFactory().pk,
            reference="PO-1",
            lines={mixer.pk: 20},
            expected_date=datetime(2026, 12, 1).date(),
            status="ordered",
        )

    # then: 1 December + the supplier's default p90 lateness (7 days)
    assert badges(listing(client)) == {"Mixer": "Backorder: ships by 8 Dec"}


def test_catalog_changes_show_on_the_next_listing(client, kitchen, django_capture_on_commit_callbacks):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        kettle = product(kitchen, "Kettle", units=40)
        product(kitchen, "Toaster", units=40)
    listing(client)

    # when: a product renamed, another hidden, a new category (the navbar lists it)
    with django_capture_on_commit_callbacks(execute=True):
        kettle.product.name = "Electric kettle"
        kettle.product.save()
        toaster = kitchen.products.get(name="Toaster")
        toaster.is_active = False
        toaster.save()
        CategoryFactory(name="Garden", slug="garden")
    response = listing(client)

    # then
    assert list(badges(response)) == ["Electric kettle"]
    nav = re.search(r'<ul class="nav">(.*?)</ul>', response.content.decode(), re.S)[1]
    assert re.findall(r'href="/c/[^"]+/"[^>]*>([^<]*)</a>', nav) == ["Garden", "Kitchen"]


def test_a_new_day_computes_the_badges_again(
    client, kitchen, time_machine, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # given: a backorder whose date counts from today, cached a minute before midnight
    time_machine.move_to(datetime(2026, 11, 21, 23, 59, 30, tzinfo=UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        mixer = product(kitchen, "Mixer")
        allow_backorders(mixer, lead_time_days=60)
    assert badges(listing(client)) == {"Mixer": "Backorder: ships by 27 Jan"}  # 60 days + 7 (p90 lateness)

    # when: the cached page has not expired, but the day has changed
    time_machine.move_to(datetime(2026, 11, 22, 0, 0, 10, tzinfo=UTC), tick=False)

    # then
    with django_assert_num_queries(BADGE_QUERIES):
        assert badges(listing(client)) == {"Mixer": "Backorder: ships by 28 Jan"}


def test_two_visitors_each_see_their_own_cart_and_messages(kitchen, django_capture_on_commit_callbacks):
    # given: the listing is in the cache
    with django_capture_on_commit_callbacks(execute=True):
        kettle = product(kitchen, "Kettle", units=40)
    ada, bob = Client(), Client()
    listing(bob)

    # when: Ada adds 2 kettles (the flash message waits for her next page)
    ada.post(reverse("orders:cart_add"), {"variant": kettle.pk, "quantity": 2})
    ada_page = listing(ada)
    bob_page = listing(bob)

    # then
    assert cart_badge(ada_page) == "2"
    assert "to your cart" in ada_page.content.decode()
    assert cart_badge(bob_page) == "0"
    assert "to your cart" not in bob_page.content.decode()
    assert list(get_messages(bob_page.wsgi_request)) == []
    assert badges(ada_page) == badges(bob_page) == {"Kettle": "In stock"}


def test_a_signed_in_customer_sees_their_name_and_a_fresh_csrf_token(kitchen, django_user_model):
    # given: a guest's visit filled the cache
    product(kitchen, "Kettle", units=40)
    listing(Client())
    ada = Client()
    ada.force_login(django_user_model.objects.create_user("ada@example.com", "pw"))

    # when
    page = listing(ada).content.decode()

    # then
    assert "(ada@example.com)" in page
    logout = re.search(r'<form method="post" action="/accounts/logout/">(.*?)</form>', page, re.S)[1]
    assert "Log out" in logout and 'name="csrfmiddlewaretoken"' in logout
    assert "Log in" not in page


def test_a_search_or_an_availability_filter_is_never_served_from_the_cache(
    client, kitchen, django_assert_num_queries
):
    # given
    product(kitchen, "Kettle", units=40)
    product(kitchen, "Mixer")
    listing(client, availability="now")

    # then: each request reads the database again
    with django_assert_num_queries(CATEGORY_QUERIES):
        assert list(badges(listing(client, availability="now"))) == ["Kettle"]
    # (a search on PostgreSQL asks first whether any word or SKU matched: shop/search.py)
    with django_assert_num_queries(CATEGORY_QUERIES + (connection.vendor == "postgresql")):
        assert list(badges(listing(client, q="mix"))) == ["Mixer"]


@pytest.mark.parametrize(
    ("asked", "shown", "warm_queries"),
    # Computed pages still take the navbar's categories from the cache: one query fewer.
    [
        ("2", 2, 0),
        ("abc", 1, CATEGORY_QUERIES - 1),
        ("9", 2, CATEGORY_QUERIES - 1),
        ("500", 2, CATEGORY_QUERIES - 1),
    ],
)
def test_pages_the_cache_keeps(
    client, kitchen, settings, django_assert_num_queries, asked, shown, warm_queries
):
    # given: two pages of products
    settings.SHOP_PAGE_SIZE = 2
    for name in ("Apple", "Banana", "Cherry"):
        product(kitchen, name, units=40)
    listing(client, page=asked)

    # when
    with django_assert_num_queries(warm_queries):
        response = listing(client, page=asked)

    # then: a page number out of range, or not a number, is answered but not kept under that number
    assert response.context["page_obj"].number == shown


def test_with_a_ttl_of_zero_nothing_is_cached(client, kitchen, settings, django_assert_num_queries):
    # given
    settings.SHOP_PAGE_CACHE_TTL = 0
    product(kitchen, "Kettle", units=40)
    listing(client)

    # then
    with django_assert_num_queries(CATEGORY_QUERIES):
        assert badges(listing(client)) == {"Kettle": "In stock"}


def test_the_cached_page_is_the_page_rendered_without_the_cache(client, kitchen, settings):
    # given
    product(kitchen, "Kettle", units=40)
    product(kitchen, "Toaster", units=2, price="35.50")
    settings.SHOP_PAGE_CACHE_TTL = 0
    uncached = without_csrf_token(listing(client))
    settings.SHOP_PAGE_CACHE_TTL = 60
    listing(client)

    # when
    cached = without_csrf_token(listing(client))

    # then
    assert cached == uncached
    assert "€35.50" in cached


@pytest.mark.parametrize("lost", ["variant token", "epoch"])
def test_tokens_lost_from_the_cache_never_hide_a_later_change(
    client, kitchen, django_assert_num_queries, django_capture_on_commit_callbacks, lost
):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        kettle = product(kitchen, "Kettle", units=40)
    listing(client)
    warehouse = kettle.stock_items.get().warehouse

    # when: a token is evicted (nothing changed: the page is still right)
    cache.delete(
        page_cache._availability_key(kettle.pk) if lost == "variant token" else page_cache._epoch_key()
    )
    with django_assert_num_queries(0):
        assert badges(listing(client)) == {"Kettle": "In stock"}

    # then: a change after that still shows
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=kettle.pk, warehouse_id=warehouse.pk, quantity_change=-38)
    assert badges(listing(client)) == {"Kettle": "Only 2 left"}


def test_a_change_elsewhere_costs_a_look_at_the_tokens_but_no_query(
    client, kitchen, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # given: a cached kitchen page, and a variant in another category
    with django_capture_on_commit_callbacks(execute=True):
        product(kitchen, "Kettle", units=40)
        rake = product(CategoryFactory(name="Garden", slug="garden"), "Rake", units=10)
    listing(client)

    # when: the rake's stock changes (the epoch moves)
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=rake.pk, warehouse_id=rake.stock_items.get().warehouse_id, quantity_change=-1)

    # then
    with django_assert_num_queries(0):
        response = listing(client)
    assert response["X-Page-Cache"] == "hit"
    assert badges(response) == {"Kettle": "In stock"}
