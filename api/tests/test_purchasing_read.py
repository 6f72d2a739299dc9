"""GET /api/v1/purchase-orders/ (and one order), GET /api/v1/suppliers/: what they show, the filters,
bad filter values, queries per page, and who may read them."""

from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from api.scopes import CATALOG_READ, PURCHASING
from inventory.models import PurchaseOrderStatus
from inventory.services import purchase_order_receive, purchase_order_set_expected_date
from inventory.tests.factories import (
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    SupplierFactory,
    WarehouseFactory,
)
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/purchase-orders/"


def detail(po) -> str:
    return f"{LIST}{po.pk}/"


@pytest.fixture
def api(api_client_with):
    return api_client_with(PURCHASING)


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def make_po(*, lines=((None, 10),), expected=date(2026, 3, 10), **fields):
    po = PurchaseOrderFactory(expected_date=expected, **fields)
    for variant, quantity in lines:
        PurchaseOrderLineFactory(
            purchase_order=po, variant=variant or VariantFactory(), quantity_ordered=quantity
        )
    return po


# --- what is shown ---------------------------------------------------------------------------------


def test_one_order_shows_its_lines_supplier_status_and_every_move_of_its_date(api, admin_user):
    # Given an order of 10 tents and 4 stoves, due 10 March, moved twice (by staff, then without a user)
    supplier = SupplierFactory(name="Alpine Goods", lead_time_days=12)
    warehouse = WarehouseFactory(code="MAIN", name="Main")
    tent, stove = VariantFactory(sku="TENT-1"), VariantFactory(sku="STOVE-1")
    po = make_po(
        reference="PO-42",
        supplier=supplier,
        warehouse=warehouse,
        lines=((tent, 10), (stove, 4)),
        notes="Rush",
    )
    purchase_order_set_expected_date(
        purchase_order_id=po.pk, expected_date=date(2026, 3, 20), user_id=admin_user.pk, reason="Port strike"
    )
    purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=None, reason="Supplier unsure")
    tent_line, stove_line = po.lines.order_by("pk")
    purchase_order_receive(purchase_order_id=po.pk, quantities={tent_line.pk: 3})

    # When the integration reads it
    response = api.get(detail(po))

    # Then it has everything the admin's page shows of it
    assert response.status_code == 200
    body = response.json()
    history = body.pop("date_history")
    po.refresh_from_db()
    assert body == {
        "id": po.pk,
        "reference": "PO-42",
        "status": "partially_received",
        "supplier": {"id": supplier.pk, "name": "Alpine Goods"},
        "warehouse": {"id": warehouse.pk, "code": "MAIN", "name": "Main"},
        "expected_date": None,
        "confirmed_date": None,
        "notes": "Rush",
        "created_at": iso(po.created_at),
        "updated_at": iso(po.updated_at),
        "ordered_at": None,
        "cancelled_at": None,
        "lines": [
            {
                "id": tent_line.pk,
                "variant": tent.pk,
                "sku": "TENT-1",
                "quantity_ordered": 10,
                "quantity_received": 3,
                "quantity_outstanding": 7,
            },
            {
                "id": stove_line.pk,
                "variant": stove.pk,
                "sku": "STOVE-1",
                "quantity_ordered": 4,
                "quantity_received": 0,
                "quantity_outstanding": 4,
            },
        ],
    }
    changes = list(po.date_changes.order_by("changed_at", "pk"))
    assert history == [
        {
            "old_date": "2026-03-10",
            "new_date": "2026-03-20",
            "changed_at": iso(changes[0].changed_at),
            "source": "staff",
            "reason": "Port strike",
            "changed_by": admin_user.email,
        },
        {
            "old_date": "2026-03-20",
            "new_date": None,
            "changed_at": iso(changes[1].changed_at),
            "source": "staff",
            "reason": "Supplier unsure",
            "changed_by": None,
        },
    ]


def test_an_unknown_order_is_a_404_problem(api):
    for path in (f"{LIST}999999/", f"{LIST}{10**30}/"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/problem+json"


def test_suppliers_give_id_name_email_and_lead_time(api):
    b = SupplierFactory(name="Borealis", contact_email="", lead_time_days=30)
    a = SupplierFactory(name="Alpine Goods", contact_email="orders@alpine.example", lead_time_days=12)

    response = api.get("/api/v1/suppliers/")

    assert response.status_code == 200
    assert response.json()["results"] == [
        {"id": b.pk, "name": "Borealis", "contact_email": "", "lead_time_days": 30},
        {"id": a.pk, "name": "Alpine Goods", "contact_email": "orders@alpine.example", "lead_time_days": 12},
    ]
    found = api.get("/api/v1/suppliers/", {"name": "alpine"}).json()["results"]
    assert [s["id"] for s in found] == [a.pk]


# --- filters ---------------------------------------------------------------------------------------


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_filters_by_status_supplier_warehouse_dates_variant_and_sku(api):
    tent = VariantFactory(sku="TENT-1")
    first = make_po(lines=((tent, 5),), expected=date(2026, 3, 5))
    second = make_po(expected=date(2026, 3, 15), status=PurchaseOrderStatus.DRAFT)
    third = make_po(lines=((tent, 2), (None, 1)), expected=None, supplier=first.supplier)
    fourth = make_po(
        expected=date(2026, 3, 25), status=PurchaseOrderStatus.CANCELLED, warehouse=second.warehouse
    )

    assert ids(api.get(LIST)) == [first.pk, second.pk, third.pk, fourth.pk]
    assert ids(api.get(LIST, {"status": "ordered"})) == [first.pk, third.pk]
    assert ids(api.get(LIST, {"status": ["draft", "cancelled"]})) == [second.pk, fourth.pk]
    assert ids(api.get(LIST, {"supplier": first.supplier_id})) == [first.pk, third.pk]
    assert ids(api.get(LIST, {"warehouse": second.warehouse_id})) == [second.pk, fourth.pk]
    assert ids(
        api.get(LIST, {"expected_date_after": "2026-03-05", "expected_date_before": "2026-03-15"})
    ) == [
        first.pk,
        second.pk,
    ]
    assert ids(api.get(LIST, {"expected_date_after": "2026-03-06"})) == [second.pk, fourth.pk]
    assert ids(api.get(LIST, {"expected_date_before": "2026-03-14"})) == [first.pk]
    assert ids(api.get(LIST, {"variant": tent.pk})) == [first.pk, third.pk]
    assert ids(api.get(LIST, {"sku": "TENT-1"})) == [first.pk, third.pk]
    assert ids(
        api.get(LIST, {"variant": tent.pk, "status": "ordered", "expected_date_after": "2026-03-01"})
    ) == [first.pk]
    assert ids(api.get(LIST, {"supplier": 999999})) == []


def test_updated_after_finds_what_changed_since_the_last_poll(api):
    old, moved = make_po(), make_po()
    since = timezone.now() + timedelta(seconds=1)
    later = since + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        purchase_order_set_expected_date(purchase_order_id=moved.pk, expected_date=date(2026, 4, 1))

    assert ids(api.get(LIST, {"updated_after": since.isoformat()})) == [moved.pk]
    assert ids(api.get(LIST, {"updated_after": (since - timedelta(days=1)).isoformat()})) == [
        old.pk,
        moved.pk,
    ]
    # Moments at the calendar's ends, offset past it once in UTC, are its first or last moment
    assert ids(api.get(LIST, {"updated_after": "9999-12-31T23:59:59-05:00"})) == []
    assert ids(api.get(LIST, {"updated_after": "0001-01-01T00:00:00+14:00"})) == [old.pk, moved.pk]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "lost"},
        {"supplier": "abc"},
        {"supplier": "0"},
        {"supplier": str(10**30)},
        {"warehouse": "-1"},
        {"variant": "1.5"},
        {"expected_date_after": "2026-02-30"},
        {"expected_date_before": "tomorrow"},
        {"updated_after": "yesterday"},
        {"sku": "x" * 65},
        {"suplier": "1"},
        {"page_size": "x", "cursor": "not-a-cursor"},
    ],
)
def test_a_bad_filter_value_is_a_400_or_404_problem_never_a_500(api, params):
    response = api.get(LIST, params)

    assert response.status_code == (404 if "cursor" in params else 400), response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    if response.status_code == 400:
        assert body["code"] == "invalid"
        assert set(body["errors"]) == set(params)


# --- queries per page ------------------------------------------------------------------------------


def test_a_page_costs_the_same_queries_for_1_order_and_for_50(api, django_assert_num_queries):
    for n in range(6):
        po = make_po(lines=((None, 5), (None, 3)))
        purchase_order_set_expected_date(
            purchase_order_id=po.pk, expected_date=date(2026, 4, n + 1), reason="x"
        )
    api.get(LIST)  # the key's last use is noted at most once a minute: not part of every request

    # The key, the orders with supplier and warehouse, their lines with SKUs, their date history
    with django_assert_num_queries(4):
        small = api.get(LIST, {"page_size": 1})
    with django_assert_num_queries(4):
        large = api.get(LIST, {"page_size": 50})

    assert (len(small.json()["results"]), len(large.json()["results"])) == (1, 6)
    assert sum(len(po["lines"]) + len(po["date_history"]) for po in large.json()["results"]) == 18
    with django_assert_num_queries(4):
        assert api.get(detail(po)).status_code == 200


def test_the_cursor_walks_every_order_once(api):
    made = [make_po().pk for _ in range(5)]
    seen, url = [], LIST + "?page_size=2"
    while url:
        page = api.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert seen == made


# --- who may read ----------------------------------------------------------------------------------


def test_a_key_without_the_purchasing_scope_is_refused(api_client_with):
    make_po()
    catalog_only = api_client_with(CATALOG_READ)
    for path in (LIST, "/api/v1/suppliers/"):
        response = catalog_only.get(path)
        assert response.status_code == 403
        assert "purchasing" in response.json()["detail"]


@pytest.mark.parametrize(
    ("group", "allowed"), [("Warehouse", True), ("Customer service", True), ("Catalog", False)]
)
def test_staff_read_purchase_orders_as_their_role_does_in_the_admin(django_user_model, group, allowed):
    po = make_po()
    user = django_user_model.objects.create_user("sam@example.com", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    staff = APIClient()
    staff.force_login(user)

    assert staff.get(detail(po)).status_code == (200 if allowed else 403)
