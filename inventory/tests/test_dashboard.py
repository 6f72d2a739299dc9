"""The backorder dashboard: every figure and chart against one seeded history with exact numbers,
links to the lists behind the figures, a strict CSP, permissions and a constant query count.

The history is made through the real services (checkout, stock, allocation pass, shipping,
cancellation) at fixed times with time_machine; "now" is Wednesday 18 November 2026, 12:00 UTC.
"""

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.urls import reverse

from accounts.models import User
from inventory.console.reports import (
    backorder_figures,
    fill_rate,
    low_stock_variants,
    purchase_order_figures,
    units_waiting_by_week,
    variant_projection,
)
from inventory.models import PurchaseOrderStatus
from inventory.services import stock_adjust
from inventory.tests.factories import BackorderPolicyFactory, PurchaseOrderLineFactory, WarehouseFactory
from orders.models import OrderLine
from orders.services import order_cancel_backordered, order_ship
from orders.tests.helpers import allow_backorders, place
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 18)
DASHBOARD = reverse("staff_dashboard")


def at(month: int, day: int, hour: int = 10):
    return time_machine.travel(datetime(2026, month, day, hour, 0, tzinfo=UTC), tick=False)


@pytest.fixture
def history(django_capture_on_commit_callbacks, admin_user):
    """Six orders over eleven weeks:

    O1  1 Sep  ann  3 × A, nothing in stock: waits, promised 29 Sep (overdue)
    O2 20 Oct  bob  2 × A: waits, promised 17 Nov (overdue)
    O3  2 Nov  ann  4 × B, 1 in stock: 3 wait (promised 23 Nov); 3 arrive 10 Nov; ships 12 Nov (on time)
    O4  3 Nov  cy   5 × B: wait (promised 24 Nov); 2 cancelled 14 Nov; 3 still wait
    O5 17 Nov  dan  2 × C from stock
    O6 17 Nov  eve  1 × A: waits, promised 15 Dec

    Each promise is the confident end of a lead-time range: the day ordered + the lead time (A 21 days,
    B 14) + the default p90 supplier lateness, 7 days (docs/dates.md).
    """
    warehouse = WarehouseFactory(code="MAIN")
    a, b, c = VariantFactory(sku="A"), VariantFactory(sku="B"), VariantFactory(sku="C")
    allow_backorders(a, lead_time_days=21)
    allow_backorders(b, lead_time_days=14)
    d = VariantFactory(sku="D")  # sells from stock only, never stocked: low
    BackorderPolicyFactory(variant=VariantFactory(sku="E"), mode="deny", discontinued=True)  # never low
    f = VariantFactory(sku="F")  # 4 in stock: low (threshold 5)

    def run(fn):
        with django_capture_on_commit_callbacks(execute=True):
            return fn()

    with at(8, 1):
        run(lambda: stock_adjust(variant_id=c.pk, warehouse_id=warehouse.pk, quantity_change=10))
        run(lambda: stock_adjust(variant_id=f.pk, warehouse_id=warehouse.pk, quantity_change=4))
    with at(9, 1):
        o1 = run(lambda: place([(a, 3)], email="ann@example.com")).order
    with at(10, 20, 9):
        o2 = run(lambda: place([(a, 2)], email="bob@example.com")).order
    with at(11, 1):
        run(lambda: stock_adjust(variant_id=b.pk, warehouse_id=warehouse.pk, quantity_change=1))
    with at(11, 2, 9):
        o3 = run(lambda: place([(b, 4)], email="ann@example.com")).order
    with at(11, 3, 9):
        o4 = run(lambda: place([(b, 5)], email="cy@example.com")).order
    with at(11, 10):
        run(lambda: stock_adjust(variant_id=b.pk, warehouse_id=warehouse.pk, quantity_change=3))
    if connection.vendor == "postgresql":
        # The allocation pass writes its ledger rows in SQL with the database's now(), which
        # time_machine does not move: put them back at 10 November, when the pass ran.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE inventory_stockmovement SET created_at = %s WHERE note LIKE %s",
                [datetime(2026, 11, 10, 10, 0, tzinfo=UTC), "auto-allocation%"],
            )
    with at(11, 12):
        run(lambda: order_ship(order_id=o3.pk, user_id=admin_user.pk))
    with at(11, 14):
        line = o4.lines.get()
        run(lambda: order_cancel_backordered(order_id=o4.pk, quantities={line.pk: 2}))
    with at(11, 17, 15):
        o5 = run(lambda: place([(c, 2)], email="dan@example.com")).order
    with at(11, 17, 16):
        o6 = run(lambda: place([(a, 1)], email="eve@example.com")).order
    with at(11, 18, 8):
        # Purchase orders: one due this week, one overdue, a draft and one due next week (for D),
        # and 4 units of A next Thursday.
        for reference, expected, status in [
            ("PO-WEEK", date(2026, 11, 20), PurchaseOrderStatus.ORDERED),
            ("PO-LATE", date(2026, 11, 12), PurchaseOrderStatus.PARTIALLY_RECEIVED),
            ("PO-DRAFT", date(2026, 11, 19), PurchaseOrderStatus.DRAFT),
            ("PO-NEXT", date(2026, 11, 23), PurchaseOrderStatus.ORDERED),
        ]:
            PurchaseOrderLineFactory(
                variant=d,
                purchase_order__reference=reference,
                purchase_order__expected_date=expected,
                purchase_order__status=status,
                purchase_order__warehouse=warehouse,
            )
        PurchaseOrderLineFactory(
            variant=a,
            quantity_ordered=4,
            purchase_order__reference="PO-A",
            purchase_order__expected_date=date(2026, 11, 26),
            purchase_order__warehouse=warehouse,
        )
    return {"a": a, "b": b, "orders": [o1, o2, o3, o4, o5, o6]}


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def test_the_seeded_history_is_what_the_figures_are_computed_from(history, now):
    lines = {
        line.order.email + ":" + line.sku: (
            line.quantity_allocated,
            line.quantity_backordered,
            line.quantity_shipped,
            line.quantity_cancelled,
            line.first_promised_date,
            line.expected_date,
        )
        for line in OrderLine.objects.select_related("order")
    }
    assert lines == {
        "ann@example.com:A": (0, 3, 0, 0, date(2026, 9, 29), date(2026, 9, 29)),
        "bob@example.com:A": (0, 2, 0, 0, date(2026, 11, 17), date(2026, 11, 17)),
        "ann@example.com:B": (0, 0, 4, 0, date(2026, 11, 23), date(2026, 11, 23)),
        # re-projected by the allocation pass of 10 November: 10 Nov + 14 days + 7
        "cy@example.com:B": (0, 3, 0, 2, date(2026, 11, 24), date(2026, 12, 1)),
        "dan@example.com:C": (2, 0, 0, 0, None, None),
        "eve@example.com:A": (0, 1, 0, 0, date(2026, 12, 15), date(2026, 12, 15)),
    }


def test_backorder_figures(history, now):
    figures = backorder_figures(today=TODAY)

    assert (figures.lines, figures.units, figures.customers, figures.overdue_lines) == (4, 9, 4, 2)
    assert figures.oldest_placed_at == datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
    assert figures.oldest_wait_days == 78
    assert [(b.label, b.lines, b.units) for b in figures.age_buckets] == [
        ("Under 1 week", 1, 1),
        ("1–2 weeks", 0, 0),
        ("2–4 weeks", 1, 3),
        ("4–8 weeks", 1, 2),
        ("8 weeks or more", 1, 3),
    ]


def test_fill_rate_counts_units_due_in_the_last_30_days(history, now):
    rate = fill_rate(today=TODAY)

    # In stock at checkout, placed since 20 October: 1 of O3 and 2 of O5 (on time).
    # Backordered, promised for 20 Oct–18 Nov: O2 2 (late). O3 and O4 were promised 23 and 24 Nov.
    assert (rate.start, rate.end) == (date(2026, 10, 20), TODAY)
    assert (rate.units_on_time, rate.units_promised) == (3, 5)
    assert rate.percent == Decimal("60.0")


def test_purchase_orders_due_in_the_next_7_days_and_overdue(history, now):
    figures = purchase_order_figures(today=TODAY)

    # PO-WEEK (Friday 20) and PO-NEXT (Monday 23): today and the 6 days after, past the weekend
    assert (figures.due_soon, figures.overdue, figures.due_until) == (2, 1, date(2026, 11, 24))


def test_purchase_orders_due_on_a_sunday_still_cover_a_week(history, now):
    sunday = date(2026, 11, 22)

    figures = purchase_order_figures(today=sunday)

    # "this week" used to end that Sunday (only PO-WEEK would have been out, nothing counted); now
    # PO-NEXT (23), PO-A (26) count, and PO-WEEK (20) is overdue with PO-LATE
    assert (figures.due_soon, figures.overdue, figures.due_until) == (2, 2, date(2026, 11, 28))


def test_low_stock_variants_are_those_not_covered_by_purchase_orders(history, now):
    # A: 0 free + 4 coming − 6 waiting; B: 3 waiting, nothing coming; F: 4 free. D (never stocked) has 30
    # units coming on open purchase orders: on order already, left out. E is discontinued.
    assert sorted(low_stock_variants().values_list("sku", flat=True)) == ["A", "B", "F"]


def test_units_waiting_at_the_end_of_each_of_the_last_12_weeks(history, now):
    points = units_waiting_by_week(now=NOW, units_now=9)

    assert [p.week_start for p in points][:2] == [date(2026, 8, 31), date(2026, 9, 7)]
    assert points[-1].week_start == date(2026, 11, 16)
    assert [p.units for p in points] == [3, 3, 3, 3, 3, 3, 3, 5, 5, 13, 8, 9]


def test_projection_of_one_variant_serves_the_queue_from_incoming_stock(history, now):
    projection = variant_projection(variant_id=history["a"].pk, today=TODAY, weeks=3)

    assert (projection.on_hand, projection.free, projection.waiting) == (0, 0, 6)
    # PO-A, due Thursday 26 November, is counted on its supplier's p90 lateness later (7 days: Thursday
    # 3 December), as the promises are (docs/dates.md)
    assert [(w.week_start, w.incoming, w.on_hand, w.waiting, w.free) for w in projection.weeks] == [
        (date(2026, 11, 16), 0, 0, 6, 0),
        (date(2026, 11, 23), 0, 0, 6, 0),
        (date(2026, 11, 30), 4, 4, 2, 0),
    ]


def figure_values(html: str) -> dict[str, tuple[str, str]]:
    pairs = re.findall(
        r'<a class="staff-figure[^"]*" href="([^"]+)">\s*<span class="staff-figure-label">([^<]+)</span>\s*'
        r'<span class="staff-figure-value">([^<]+)</span>',
        html,
    )
    return {label: (value, href.replace("&amp;", "&")) for href, label, value in pairs}


def test_dashboard_page_shows_each_figure_linked_to_its_list(admin_client, history, now):
    response = admin_client.get(DASHBOARD)

    assert response.status_code == 200
    figures = figure_values(response.content.decode())
    orders = reverse("admin:orders_order_changelist")
    pos = reverse("admin:inventory_purchaseorder_changelist")
    assert figures == {
        "Open backorder lines": ("4", f"{orders}?backorders=yes"),
        "Customers waiting": ("4", f"{orders}?backorders=yes"),
        "Oldest wait": ("78 days", reverse("admin:inventory_stockitem_queue")),
        "Overdue lines": ("2", f"{orders}?overdue=yes"),
        "Fill rate, last 30 days": ("60.0 %", f"{orders}?placed_at__gte=2026-10-20T00%3A00%3A00%2B00%3A00"),
        "Purchase orders due in the next 7 days": ("2", f"{pos}?due=week"),
        "Overdue purchase orders": ("1", f"{pos}?due=overdue"),
        "Low stock, not on order": ("3", reverse("admin:shop_variant_changelist") + "?stock=low"),
        "Suppliers": ("—", reverse("admin:inventory_supplier_changelist")),
        # The supplier loop (test_supplier_loop_staff.py): no supplier answered the history's orders.
        "Awaiting supplier confirmation": ("4", f"{pos}?answer=awaiting"),
        "Dates moved by suppliers, last 30 days": ("0", f"{pos}?answer=moved"),
        "Waiting units no purchase order covers": ("5", "#uncovered"),
    }


def test_each_link_lists_exactly_what_the_figure_counts(admin_client, history, now):
    figures = figure_values(admin_client.get(DASHBOARD).content.decode())

    def count(label):
        response = admin_client.get(figures[label][1])
        assert response.status_code == 200
        return response.context["cl"].result_count

    assert count("Open backorder lines") == 4  # O1, O2, O4, O6: one line each
    assert count("Overdue lines") == 2
    assert count("Purchase orders due in the next 7 days") == 2
    assert count("Overdue purchase orders") == 1
    assert count("Low stock, not on order") == 3
    assert count("Fill rate, last 30 days") == 5  # orders placed since 20 October


def test_charts_are_accessible_svg_with_tables_under_a_strict_csp(admin_client, history, now):
    response = admin_client.get(DASHBOARD)
    html = response.content.decode()

    assert response["Content-Security-Policy"].startswith(
        "default-src 'self'; script-src 'self'; style-src 'self'"
    )
    assert "style=" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # no inline script
    assert html.count('<svg class="chart"') == 3
    for chart in ("chart-ages", "chart-weeks", "chart-projection"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in html
        assert f'<title id="{chart}-title">' in html
    assert (
        '<desc id="chart-ages-desc">Units waiting, by time since the order was placed: Under 1 week: 1 units;'
        in html
    )
    assert "<title>2–4 weeks: 3 units waiting</title>" in html
    assert '<th scope="row">2 November 2026</th><td class="num">13</td>' in html
    assert "Projection for A" in html
    assert "/static/css/staff_console.css" in html


def test_projection_of_a_chosen_sku_and_an_unknown_one(admin_client, history, now):
    chosen = admin_client.get(DASHBOARD, {"sku": "b"}).content.decode()
    unknown = admin_client.get(DASHBOARD, {"sku": "NOPE"})

    assert "Projection for B" in chosen
    assert "Projection for A" in unknown.content.decode()
    assert [str(m) for m in unknown.context["messages"]] == [
        "No item has the SKU “NOPE”; showing the one with most units waiting."
    ]


def test_empty_shop_dashboard_says_nobody_waits(admin_client):
    html = admin_client.get(DASHBOARD).content.decode()

    assert "Nobody is waiting for any item." in html
    assert figure_values(html)["Fill rate, last 30 days"][0] == "—"
    assert figure_values(html)["Oldest wait"][0] == "—"


def test_dashboard_queries_do_not_grow_with_orders(
    admin_client, history, now, django_assert_num_queries, django_assert_max_num_queries
):
    # session, user, backorders, fill rate, purchase orders, low stock, 3 for the weeks,
    # the default variant, 1 for its projection (its availability: one statement with the shop's closures
    # and its purchase orders' suppliers' habits, docs/dates.md) + 3 for its dates, 2 for the suppliers' habits
    # tile (its list of every supplier asks for more suppliers than the projection's, so their habits
    # are read again, in 1 query), 6 for the supplier loop
    with django_assert_num_queries(21):
        admin_client.get(DASHBOARD)
    a = history["a"]
    for n in range(20):
        place([(a, 1)], email=f"more{n}@example.com")

    with django_assert_max_num_queries(26):
        response = admin_client.get(DASHBOARD)
    assert figure_values(response.content.decode())["Open backorder lines"][0] == "24"


def staff_with(client, *codenames):
    user = User.objects.create_user("clerk@example.com", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return user


def test_dashboard_needs_stock_or_order_permissions(client):
    staff_with(client, "view_product")
    assert client.get(DASHBOARD).status_code == 403


def test_warehouse_staff_can_open_the_dashboard(client):
    user = User.objects.create_user("keeper@example.com", password="x", is_staff=True)
    user.groups.set([Group.objects.get(name="Warehouse")])
    client.force_login(user)

    html = client.get(DASHBOARD).content.decode()

    assert "Import stock counts" in html and "Replenishment: what to reorder" in html


def test_admin_index_links_to_the_staff_console(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    assert f'href="{DASHBOARD}"' in html
    assert f'href="{reverse("staff_replenishment")}"' in html


def test_dashboard_explains_each_figure_on_the_page(admin_client, history, now):
    html = admin_client.get(DASHBOARD).content.decode()

    assert "docs/staff.md" not in html  # a path in the repository: staff cannot open it
    assert '<a href="#how-counted">How each figure is counted</a>' in html
    definitions = re.findall(r"<dt>([^<]+)</dt>\s*<dd>([^<]+)</dd>", html)
    assert [label for label, _ in definitions] == list(figure_values(html))
    assert all(text.strip() for _, text in definitions)
    assert "expected from today to Tuesday 24 November 2026" in html


def test_admin_index_lists_worker_heartbeats_under_operations_not_catalog(admin_client):
    response = admin_client.get(reverse("admin:index"))

    html = response.content.decode()
    shop_models = next(app["models"] for app in response.context["app_list"] if app["app_label"] == "shop")
    assert "WorkerHeartbeat" not in [m["object_name"] for m in shop_models]
    operations = html[html.index('id="operations"') :]
    assert f'<a href="{reverse("admin:shop_workerheartbeat_changelist")}">Worker heartbeats</a>' in operations
    assert admin_client.get(reverse("admin:shop_workerheartbeat_changelist")).status_code == 200


def test_admin_index_shows_no_operations_box_to_staff_who_may_not_see_heartbeats(client):
    staff_with(client, "view_product")

    html = client.get(reverse("admin:index")).content.decode()

    assert 'id="operations"' not in html
