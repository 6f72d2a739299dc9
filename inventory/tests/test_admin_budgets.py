"""Query budgets for the changelists no other test file measures (catalog, back-in-stock state, email
preferences, users and groups): the same number of queries for 1 row and for 20, and within a budget.

inventory/tests/test_admin.py, orders/tests/test_admin.py and notifications/tests/test_admin.py
measure the others.
"""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from notifications.models import EmailPreference, LowStockState, RestockWave
from shop.models import Category, WorkerHeartbeat
from shop.tests.factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def make_product():
    product = ProductFactory()
    VariantFactory(product=product)
    VariantFactory(product=product)


def make_category():
    CategoryFactory(parent=Category.objects.order_by("pk").first())


def make_group():
    group = Group.objects.create(name=uuid.uuid4().hex)
    group.permissions.set(Permission.objects.filter(codename__startswith="view_")[:3])


CHANGELISTS = [
    # url name, query string, how to make one row, queries (session, user, counts, rows, filter choices)
    (
        "admin:shop_category_changelist",
        "",
        make_category,
        6,
    ),
    ("admin:shop_product_changelist", "", make_product, 7),  # + categories for the filter, dates
    ("admin:shop_variant_changelist", "", lambda: VariantFactory(), 6),
    ("admin:shop_variant_changelist", "stock=low", lambda: VariantFactory(), 6),
    (
        "admin:shop_workerheartbeat_changelist",
        "",
        lambda: WorkerHeartbeat.objects.create(worker=uuid.uuid4().hex, seen_at=timezone.now()),
        5,
    ),
    (
        "admin:notifications_restockwave_changelist",
        "",
        lambda: RestockWave.objects.create(variant=VariantFactory(), number=1, started_at=timezone.now()),
        5,
    ),
    (
        "admin:notifications_lowstockstate_changelist",
        "",
        lambda: LowStockState.objects.create(variant=VariantFactory(), is_low=True),
        5,
    ),
    (
        "admin:notifications_emailpreference_changelist",
        "",
        lambda: EmailPreference.objects.create(email=f"{uuid.uuid4().hex}@example.com"),
        5,
    ),
    (
        "admin:accounts_user_changelist",
        "",
        lambda: User.objects.create_user(f"{uuid.uuid4().hex}@example.com"),
        6,
    ),
    ("admin:auth_group_changelist", "", make_group, 5),
]


def queries(client, url: str):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(captured.captured_queries)


@pytest.mark.parametrize(
    ("name", "query", "make_row", "budget"),
    CHANGELISTS,
    ids=[f"{c[0].split(':')[1]}?{c[1]}" for c in CHANGELISTS],
)
def test_changelist_queries_do_not_grow_with_rows(admin_client, name, query, make_row, budget):
    url = reverse(name) + (f"?{query}" if query else "")
    make_row()
    one, n_one = queries(admin_client, url)
    for _ in range(19):
        make_row()
    twenty, n_twenty = queries(admin_client, url)

    # 19 more rows (some lists hold rows of their own: the admin user, the staff groups, a parent category)
    assert len(twenty.context["cl"].result_list) - len(one.context["cl"].result_list) == 19
    assert n_twenty == n_one
    assert n_one == budget


def test_empty_catalog_lists_say_how_rows_appear(admin_client):
    products = admin_client.get(reverse("admin:shop_product_changelist")).content.decode()
    variants = admin_client.get(reverse("admin:shop_variant_changelist"), {"q": "nothing"}).content.decode()

    assert "No products yet. Add one, or use “Import” to load a CSV file" in products
    assert "Nothing matches your search or filters." in variants


def test_low_stock_filter_lists_variants_at_or_below_their_threshold(admin_client):
    from inventory.tests.factories import WarehouseFactory
    from orders.tests.helpers import give_stock

    warehouse = WarehouseFactory()
    low, plenty = VariantFactory(sku="LOW"), VariantFactory(sku="PLENTY")
    give_stock(low, 5, warehouse)
    give_stock(plenty, 6, warehouse)

    response = admin_client.get(reverse("admin:shop_variant_changelist"), {"stock": "low"})

    assert [v.sku for v in response.context["cl"].result_list] == ["LOW"]


def test_heartbeats_show_dates_in_words(admin_client):
    WorkerHeartbeat.objects.create(worker="w1", seen_at=timezone.now() - timedelta(days=1))

    html = admin_client.get(reverse("admin:shop_workerheartbeat_changelist")).content.decode()

    assert (timezone.localtime() - timedelta(days=1)).strftime("%-d %B %Y") in html
