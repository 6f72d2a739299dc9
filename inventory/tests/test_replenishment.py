"""The replenishment report: the formula (table-driven), the rows of a small shop, the page (sorting,
filters, CSV, query budget) and drafting purchase orders from the suggestions."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from inventory.console.reports import ReplenishmentSettings, replenishment_figures, replenishment_rows
from inventory.models import PurchaseOrder, PurchaseOrderStatus, StockMovement
from inventory.services import purchase_order_cancel, purchase_order_receive
from inventory.tests.factories import PurchaseOrderLineFactory, SupplierFactory, WarehouseFactory
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

CONFIG = ReplenishmentSettings(window_days=30, safety_days=7, review_days=14)
REPORT = reverse("staff_replenishment")

FIGURES = [
    # on hand, allocated, backordered, incoming, sold in 30 days, lead time, discontinued
    # -> units/day, days of cover, safety stock, reorder point, position, suggested
    pytest.param(
        (10, 2, 0, 0, 30, 14, False), (Decimal("1.00"), 8, 7, 21, 8, 27), id="one-a-day-below-reorder-point"
    ),
    pytest.param(
        (5, 0, 0, 0, 0, 14, False), (Decimal("0.00"), None, 0, 0, 5, 0), id="no-sales-no-backorders"
    ),
    pytest.param(
        (0, 0, 4, 0, 0, 14, False), (Decimal("0.00"), None, 0, 0, -4, 4), id="no-sales-but-customers-wait"
    ),
    pytest.param(
        (20, 5, 3, 30, 45, 10, False), (Decimal("1.50"), 8, 11, 26, 42, 0), id="covered-by-incoming"
    ),
    pytest.param((0, 0, 2, 0, 10, 21, False), (Decimal("0.33"), 0, 3, 10, -2, 17), id="waiting-and-selling"),
    pytest.param(
        (0, 0, 2, 0, 10, 21, True), (Decimal("0.33"), 0, 3, 10, -2, 0), id="discontinued-never-suggested"
    ),
]


@pytest.mark.parametrize(("given", "expected"), FIGURES)
def test_replenishment_formula(given, expected):
    on_hand, allocated, backordered, incoming, sold, lead, discontinued = given

    figures = replenishment_figures(
        on_hand=on_hand,
        allocated=allocated,
        backordered=backordered,
        incoming=incoming,
        sold=sold,
        lead_time_days=lead,
        discontinued=discontinued,
        config=CONFIG,
    )

    assert (
        figures["velocity"],
        figures["days_of_cover"],
        figures["safety_stock"],
        figures["reorder_point"],
        figures["position"],
        figures["suggested"],
    ) == expected


@pytest.fixture
def shop():
    """P: supplied by S1 (its latest purchase order; an older one from S2 was cancelled), 15 in stock over
    two warehouses, 14 sold, 6 incoming at W2. Q: never ordered from anyone, 3 waiting. R: 5 received
    from S2, no sales."""
    w1, w2 = WarehouseFactory(code="W1", name="North"), WarehouseFactory(code="W2", name="South")
    s1 = SupplierFactory(name="Acme", lead_time_days=10)
    s2 = SupplierFactory(name="Bolt", lead_time_days=20)
    p, q, r = VariantFactory(sku="P"), VariantFactory(sku="Q"), VariantFactory(sku="R")
    give_stock(p, 10, w1)
    give_stock(p, 5, w2)
    old = PurchaseOrderLineFactory(variant=p, purchase_order__supplier=s2, purchase_order__warehouse=w1)
    purchase_order_cancel(purchase_order_id=old.purchase_order_id)
    PurchaseOrderLineFactory(
        variant=p, quantity_ordered=6, purchase_order__supplier=s1, purchase_order__warehouse=w2
    )
    place([(p, 14)])
    allow_backorders(q, lead_time_days=30)
    place([(q, 3)])
    received = PurchaseOrderLineFactory(
        variant=r, quantity_ordered=5, purchase_order__supplier=s2, purchase_order__warehouse=w1
    )
    purchase_order_receive(purchase_order_id=received.purchase_order_id)
    return {"w1": w1, "w2": w2, "s1": s1, "s2": s2, "p": p, "q": q, "r": r}


def table(rows):
    return {
        r.sku: (
            r.supplier_name,
            r.lead_time_days,
            r.lead_time_source,
            r.on_hand,
            r.allocated,
            r.backordered,
            r.incoming,
            r.sold,
            r.velocity,
            r.days_of_cover,
            r.reorder_point,
            r.suggested,
        )
        for r in rows
    }


def test_rows_of_a_small_shop(shop):
    rows = replenishment_rows(now=timezone.now(), config=CONFIG)

    assert table(rows) == {
        "P": ("Acme", 10, "supplier", 15, 14, 0, 6, 14, Decimal("0.47"), 2, 9, 9),
        "Q": ("", 30, "policy", 0, 0, 3, 0, 3, Decimal("0.10"), 0, 4, 9),
        "R": ("Bolt", 20, "supplier", 5, 0, 0, 0, 0, Decimal("0.00"), None, 0, 0),
    }


def test_a_warehouse_limits_stock_and_incoming_but_not_demand(shop):
    rows = replenishment_rows(now=timezone.now(), warehouse_id=shop["w1"].pk, config=CONFIG)

    # W1 holds 10 of P, all allocated (it is served first); P's purchase order is for W2.
    assert table(rows)["P"] == ("Acme", 10, "supplier", 10, 10, 0, 0, 14, Decimal("0.47"), 0, 9, 16)


def test_a_supplier_filter_keeps_its_variants(shop):
    assert [r.sku for r in replenishment_rows(now=timezone.now(), supplier_id=shop["s2"].pk)] == ["R"]


def test_sales_older_than_the_window_do_not_count(shop):
    rows = replenishment_rows(now=timezone.now() + timedelta(days=31), config=CONFIG)

    assert {r.sku: r.sold for r in rows} == {"P": 0, "Q": 0, "R": 0}


def skus_on_page(response) -> list[str]:
    return [r.sku for r in response.context["rows"]]


def test_page_sorts_by_suggestion_by_default_and_by_any_column(admin_client, shop):
    assert skus_on_page(admin_client.get(REPORT)) == ["P", "Q", "R"]  # 9, 9 (SKU breaks the tie), 0
    assert skus_on_page(admin_client.get(REPORT, {"o": "-on_hand"})) == ["P", "R", "Q"]
    assert skus_on_page(admin_client.get(REPORT, {"o": "supplier"})) == ["P", "R", "Q"]  # no supplier last
    assert skus_on_page(admin_client.get(REPORT, {"o": "-sku", "need": "1"})) == ["Q", "P"]


def test_csv_export_has_every_figure(admin_client, shop):
    response = admin_client.get(REPORT, {"format": "csv", "o": "sku", "supplier": shop["s1"].pk})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["sku", "item", "supplier", "lead_time_days"]
    assert rows[1:] == [
        ["P", str(shop["p"]), "Acme", "10", "15", "14", "0", "6", "14", "0.47", "2", "4", "9", "7", "9"]
    ]


def test_page_queries_do_not_grow_with_variants(admin_client, shop, django_assert_num_queries):
    # session, user, the rows, suppliers (for the rows), suppliers and warehouses (for the filters)
    with django_assert_num_queries(6):
        admin_client.get(REPORT)
    for _ in range(20):
        give_stock(VariantFactory(), 3, shop["w1"])

    with django_assert_num_queries(6):
        response = admin_client.get(REPORT)
    assert len(response.context["rows"]) == 23


def test_empty_report_says_why(admin_client):
    assert "No active items yet." in admin_client.get(REPORT).content.decode()
    assert "No item matches these filters." in admin_client.get(REPORT, {"q": "x"}).content.decode()


def test_drafting_makes_one_draft_per_supplier_through_the_service(admin_client, admin_user, shop):
    response = admin_client.post(
        REPORT,
        {"variant": [shop["p"].pk, shop["q"].pk, shop["r"].pk], "warehouse": shop["w1"].pk, "query": "o=sku"},
        follow=True,
    )

    po = PurchaseOrder.objects.get(supplier=shop["s1"], status=PurchaseOrderStatus.DRAFT)
    today = timezone.localdate()
    assert (po.status, po.warehouse, po.expected_date, po.reference) == (
        PurchaseOrderStatus.DRAFT,
        shop["w1"],
        today + timedelta(days=10),
        f"RP-{today:%Y%m%d}-{shop['s1'].pk}-1",
    )
    assert {line.variant.sku: line.quantity_ordered for line in po.lines.all()} == {"P": 9}
    assert PurchaseOrder.objects.filter(status=PurchaseOrderStatus.DRAFT).count() == 1
    entry = LogEntry.objects.get(object_id=str(po.pk))
    assert (entry.user, entry.action_flag) == (admin_user, ADDITION)
    assert response.redirect_chain[-1][0] == f"{REPORT}?o=sku"
    assert [str(m) for m in response.context["messages"]] == [
        "Q: no supplier known (never on a purchase order); order it by hand",
        "R: nothing to order",
        f'Draft <a href="{reverse("admin:inventory_purchaseorder_change", args=[po.pk])}">{po.reference}</a> '
        "for Acme: 9 × P. Review it, then mark it as ordered.",
    ]


def test_drafting_twice_the_same_day_numbers_the_references(admin_client, shop):
    for _ in range(2):
        admin_client.post(REPORT, {"variant": [shop["p"].pk], "warehouse": shop["w2"].pk})

    today = timezone.localdate()
    assert sorted(PurchaseOrder.objects.filter(status="draft").values_list("reference", flat=True)) == [
        f"RP-{today:%Y%m%d}-{shop['s1'].pk}-1",
        f"RP-{today:%Y%m%d}-{shop['s1'].pk}-2",
    ]


def test_drafting_needs_a_selection_and_a_warehouse(admin_client, shop):
    nothing = admin_client.post(REPORT, {"warehouse": shop["w1"].pk}, follow=True)
    nowhere = admin_client.post(REPORT, {"variant": [shop["p"].pk]}, follow=True)

    assert [str(m) for m in nothing.context["messages"]] == ["Select the items to order first."]
    assert [str(m) for m in nowhere.context["messages"]] == [
        "Choose the warehouse the purchase orders are for."
    ]
    assert not PurchaseOrder.objects.filter(status="draft").exists()


def member_of(client, group: str) -> User:
    user = User.objects.create_user(
        group.lower().replace(" ", "-") + "@example.com", password="x", is_staff=True
    )
    user.groups.set([Group.objects.get(name=group)])
    client.force_login(user)
    return user


def test_warehouse_staff_can_draft(client, shop):
    member_of(client, "Warehouse")

    assert client.get(REPORT).status_code == 200
    client.post(REPORT, {"variant": [shop["p"].pk], "warehouse": shop["w1"].pk})
    assert PurchaseOrder.objects.filter(status="draft").count() == 1


def test_customer_service_may_read_but_not_draft_and_catalog_may_not_read(client, shop):
    member_of(client, "Customer service")
    assert client.get(REPORT).status_code == 200
    assert client.post(REPORT, {"variant": [shop["p"].pk], "warehouse": shop["w1"].pk}).status_code == 403
    assert not PurchaseOrder.objects.filter(status="draft").exists()

    member_of(client, "Catalog")
    assert client.get(REPORT).status_code == 403


def test_warehouse_journey_dashboard_reorder_draft_and_count(client, django_capture_on_commit_callbacks):
    """The issue's "done when": a Warehouse user reads the dashboard and its charts, sees what to reorder,
    drafts a purchase order from the suggestion, imports a stock count and sees the backorders allocated."""
    warehouse, supplier = WarehouseFactory(code="MAIN"), SupplierFactory(name="Acme", lead_time_days=7)
    lamp = VariantFactory(sku="LAMP")
    allow_backorders(lamp)
    first = PurchaseOrderLineFactory(
        variant=lamp,
        quantity_ordered=1,
        purchase_order__supplier=supplier,
        purchase_order__warehouse=warehouse,
    )
    purchase_order_receive(purchase_order_id=first.purchase_order_id)  # Acme supplied it before
    orders = [place([(lamp, 2)], email=f"c{n}@example.com").order for n in range(3)]
    user = member_of(client, "Warehouse")

    dashboard = client.get(reverse("staff_dashboard")).content.decode()
    assert "5 units waiting for stock" in dashboard  # 1 of the 6 ordered was in stock
    assert dashboard.count('<svg class="chart"') == 3

    report = client.get(REPORT, {"need": "1"})
    (row,) = report.context["rows"]
    assert (row.sku, row.supplier_name, row.backordered, row.suggested) == ("LAMP", "Acme", 5, 12)

    client.post(REPORT, {"variant": [lamp.pk], "warehouse": warehouse.pk})
    draft = PurchaseOrder.objects.get(status=PurchaseOrderStatus.DRAFT)
    assert {line.variant.sku: line.quantity_ordered for line in draft.lines.all()} == {"LAMP": 12}

    counted = SimpleUploadedFile(
        "count.csv", b"sku,warehouse,counted\nLAMP,MAIN,5\n", content_type="text/csv"
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("staff_stock_count_import"), {"file": counted})

    # Queue order: the first two orders are served in full, the third gets the last unit.
    assert [o.lines.get().quantity_allocated for o in orders] == [2, 2, 1]
    assert StockMovement.objects.get(reason="counted").user == user
