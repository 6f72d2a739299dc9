"""Supplier habits where staff see them: the supplier list and change page (inventory/admin/suppliers.py)
and the dashboard's "Suppliers" tile (inventory/console/suppliers.py), with constant query counts."""

import re

import pytest
from django.urls import reverse

from inventory.console.suppliers import suppliers_tile
from inventory.tests.factories import SupplierFactory, WarehouseFactory
from inventory.tests.test_supplier_habits import order

pytestmark = pytest.mark.django_db

SUPPLIERS = reverse("admin:inventory_supplier_changelist")


@pytest.fixture
def suppliers():
    """Punctual (5 on time), Slow (5 a week late, one of them short), Erratic (0, 1, 3, 10, 20 days
    late), New (2 orders received so far)."""
    warehouse = WarehouseFactory()
    punctual, slow = SupplierFactory(name="Punctual"), SupplierFactory(name="Slow")
    erratic, new = SupplierFactory(name="Erratic"), SupplierFactory(name="New")
    for n in range(5):
        order(punctual, warehouse, n)
        order(slow, warehouse, n, late=7, parts=[5] if n == 0 else None, close_short=n == 0)
        order(erratic, warehouse, n, late=[0, 1, 3, 10, 20][n])
    for n in range(2):
        order(new, warehouse, n, late=1)
    return {"punctual": punctual, "slow": slow, "erratic": erratic, "new": new}


def cells(html: str, supplier_name: str) -> list[str]:
    row = re.search(rf"<tr>(?:(?!</tr>).)*>{supplier_name}</a>(?:(?!</tr>).)*</tr>", html, re.S).group(0)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_the_supplier_list_shows_each_suppliers_habits(admin_client, suppliers):
    html = admin_client.get(SUPPLIERS).content.decode()

    # (tick box, contact, lead time, open purchase orders,) on time, lateness, fill rate
    assert cells(html, "Punctual")[4:] == [
        "100% on time (5 of 5)",
        "usually on time, 9 in 10 on time",
        "100% of units delivered",
    ]
    assert cells(html, "Slow")[4:] == [
        "0% on time (0 of 5)",
        "usually 7 days late, 9 in 10 within 7 days",
        "90% of units delivered",
    ]
    assert cells(html, "Erratic")[4:] == [
        "20% on time (1 of 5)",
        "usually 3 days late, 9 in 10 within 20 days",
        "100% of units delivered",
    ]
    assert cells(html, "New")[4:] == [
        "0% on time (0 of 2)",
        "learning: 2 of 5 orders needed",
        "100% of units delivered",
    ]


def test_the_supplier_list_answers_in_the_same_queries_for_one_supplier_and_for_twenty(
    admin_client, django_assert_num_queries
):
    warehouse = WarehouseFactory()
    order(SupplierFactory(), warehouse, 0)
    # session, user, count, rows with open orders, habits (orders with their last receipt)... and the
    # changelist's total
    with django_assert_num_queries(6):
        assert admin_client.get(SUPPLIERS).context["cl"].result_count == 1
    for _ in range(19):
        supplier = SupplierFactory()
        for n in range(3):
            order(supplier, warehouse, n, late=n)
    with django_assert_num_queries(6):
        assert admin_client.get(SUPPLIERS).context["cl"].result_count == 20


def test_the_change_page_shows_the_habits_and_how_many_orders_are_still_needed(admin_client, suppliers):
    slow = admin_client.get(reverse("admin:inventory_supplier_change", args=[suppliers["slow"].pk]))
    new = admin_client.get(reverse("admin:inventory_supplier_change", args=[suppliers["new"].pk]))
    added = admin_client.get(reverse("admin:inventory_supplier_add"))

    assert (
        "<li>0% on time (0 of 5)</li><li>Usually 7 days late, 9 in 10 within 7 days</li>"
        "<li>Fill rate: 90% of units delivered</li><li>5 orders received</li>"
    ) in slow.content.decode()
    assert (
        "<li>Learning: 2 of 5 orders needed (until then: usually 2 days late, 9 in 10 within 7 days)</li>"
        in (new.content.decode())
    )
    assert "Learned from its purchase orders once they arrive." in added.content.decode()


def test_the_change_page_saves_a_supplier_without_touching_its_habits(admin_client, suppliers):
    slow = suppliers["slow"]
    url = reverse("admin:inventory_supplier_change", args=[slow.pk])

    response = admin_client.post(url, {"name": "Slow Ltd", "contact_email": "", "lead_time_days": 21})

    assert response.status_code == 302
    slow.refresh_from_db()
    assert (slow.name, slow.lead_time_days) == ("Slow Ltd", 21)


def test_the_dashboard_tile_names_how_many_are_usually_late_and_the_least_reliable(
    admin_client, suppliers, django_assert_num_queries
):
    with django_assert_num_queries(2):
        tile = suppliers_tile()
    assert (tile.value, tile.note) == (
        "2 of 3",
        "learned suppliers usually late; least reliable: Erratic (usually 3 days late, 9 in 10 within 20 days); "
        "1 still learning",
    )

    html = admin_client.get(reverse("staff_dashboard")).content.decode()
    assert (
        f'<a class="staff-figure" href="{SUPPLIERS}">\n'
        '    <span class="staff-figure-label">Suppliers</span>\n'
        '    <span class="staff-figure-value">2 of 3</span>'
    ) in html
    assert "<dt>Suppliers</dt>\n<dd>Suppliers with at least 5 purchase orders received (learned)" in html


def test_the_tile_before_any_supplier_is_learned_and_its_queries_do_not_grow(django_assert_num_queries):
    tile = suppliers_tile()
    assert (tile.value, tile.note) == ("—", "none has 5 orders received yet")
    warehouse = WarehouseFactory()
    for i in range(3):
        supplier = SupplierFactory()
        for n in range(5):
            order(supplier, warehouse, n, late=n + i)  # the last: 2, 3, 4, 5, 6 days late
    with django_assert_num_queries(2):
        tile = suppliers_tile()
    assert (tile.value, tile.note) == (
        "3 of 3",
        f"learned suppliers usually late; least reliable: {supplier.name} (usually 4 days late, 9 in 10 within 6 days)",
    )
