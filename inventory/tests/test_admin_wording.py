"""One name for one thing in the staff admin (issue 16, admin screenshots): "Stock levels" for the stock
model wherever it shows, "Set aside for orders" for allocated units (item 1); the admin index with orders
and stock first (item 9)."""

import re

import pytest
from django.urls import reverse

from inventory.models import StockItem
from inventory.services import stock_adjust
from inventory.tests.factories import WarehouseFactory
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def item():
    variant, warehouse = VariantFactory(sku="MUG-1"), WarehouseFactory(name="Main")
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=5)
    return StockItem.objects.get()


def test_the_stock_model_is_called_stock_levels_everywhere(admin_client, item):
    index = admin_client.get(reverse("admin:index")).content.decode()
    listing = admin_client.get(reverse("admin:inventory_stockitem_changelist")).content.decode()
    page = admin_client.get(reverse("admin:inventory_stockitem_change", args=[item.pk])).content.decode()
    adjust = admin_client.get(
        reverse("admin:inventory_stockitem_adjust_item", args=[item.pk])
    ).content.decode()
    imports = admin_client.get(reverse("staff_stock_count_import")).content.decode()

    assert (StockItem._meta.verbose_name, StockItem._meta.verbose_name_plural) == (
        "stock level",
        "stock levels",
    )
    for html in (index, listing, page, adjust, imports):
        assert "Stock items" not in html
        assert "Stock item" not in html
    assert f'<a href="{reverse("admin:inventory_stockitem_changelist")}">Stock levels</a>' in " ".join(
        re.sub(r'\s*(aria-current="page"|class="[^"]*")', "", index).split()
    )
    assert ">Stock levels</a>" in imports
    assert ">Stock levels</a>" in adjust


def test_allocated_units_are_set_aside_for_orders_everywhere_staff_see_them(admin_client, item):
    listing = admin_client.get(reverse("admin:inventory_stockitem_changelist")).content.decode()
    page = admin_client.get(reverse("admin:inventory_stockitem_change", args=[item.pk])).content.decode()
    adjust = admin_client.get(
        reverse("admin:inventory_stockitem_adjust_item", args=[item.pk])
    ).content.decode()
    ledger = admin_client.get(reverse("admin:inventory_stockmovement_changelist")).content.decode()
    replenishment = admin_client.get(reverse("staff_replenishment")).content.decode()

    for html in (listing, page, adjust, ledger, replenishment):
        assert "Set aside for orders" in html or "set aside for orders" in html
        assert "promised to orders" not in html
        assert ">Allocated<" not in html
        assert "Allocated</a>" not in html
    assert "5 on hand, 0 set aside for orders, 5 free." in adjust
    assert "<label>Set aside for orders:</label>" in page


def test_the_admin_index_lists_orders_then_stock_first(admin_client):
    response = admin_client.get(reverse("admin:index"))

    html = response.content.decode()
    sections = re.findall(r'<div class="app-(\w+) module', html)
    assert sections[:2] == ["orders", "inventory"]
    assert sorted(sections) == sorted(app["app_label"] for app in response.context["app_list"])
    inventory = html[html.index('<div class="app-inventory module') :]
    models = re.findall(r'<tr class="model-(\w+)', inventory[: inventory.index("</table>")])
    assert models[:3] == ["stockitem", "purchaseorder", "stockmovement"]
    orders = html[html.index('<div class="app-orders module') :]
    assert re.findall(r'<tr class="model-(\w+)', orders[: orders.index("</table>")])[0] == "order"
    # The staff console stays on top, the apps below it.
    assert html.index('id="staff-console"') < html.index('<div class="app-orders module')
