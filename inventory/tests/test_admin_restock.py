"""Restocking any variant from the admin, with or without a stock line (issue 16 item 2), and the item
pickers that find a SKU (item 3): the stock list's search, the adjust and count pages opened on a
variant, the links from the variant, product and backorder-queue pages, and the variant autocomplete."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import User
from inventory.models import MovementReason, StockItem, StockMovement
from inventory.services import stock_adjust
from inventory.tests.factories import WarehouseFactory
from orders.tests.helpers import allow_backorders, place
from shop.tests.factories import ProductFactory, VariantFactory
from shop.tests.helpers import keyed

pytestmark = pytest.mark.django_db

STOCK_LIST = reverse("admin:inventory_stockitem_changelist")
ADJUST = reverse("admin:inventory_stockitem_adjust")
ADD_STOCK = reverse("admin:inventory_stockitem_add_stock")
COUNT = reverse("admin:inventory_stockitem_count")


@pytest.fixture
def saucepan():
    """COOK-SSS: out of stock, never stocked, so it has no stock line in any warehouse."""
    return VariantFactory(sku="COOK-SSS", product=ProductFactory(name="Stainless Saucepan Set"))


def staff(client, *codenames):
    user = User.objects.create_user("clerk@example.com", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return user


# --- item 2: every variant can be restocked and counted ---------------------------------------


def test_stock_list_search_offers_restock_links_for_an_item_without_stock_lines(admin_client, saucepan):
    stocked = VariantFactory(sku="COOK-SSP")
    stock_adjust(variant_id=stocked.pk, warehouse_id=WarehouseFactory().pk, quantity_change=3)

    response = admin_client.get(STOCK_LIST, {"q": "COOK-SS"})

    page = response.content.decode()
    assert response.context["cl"].result_count == 1  # COOK-SSP's stock line
    assert [m["sku"] for m in response.context["unstocked"]] == ["COOK-SSS"]
    assert "Matching items with no stock line yet" in page
    assert f'href="{ADD_STOCK}?variant={saucepan.pk}">Add stock</a>' in page
    assert f'href="{COUNT}?variant={saucepan.pk}">Record a count</a>' in page


def test_stock_list_explains_any_item_can_be_restocked(admin_client):
    page = admin_client.get(STOCK_LIST).content.decode()

    assert "Any item can be restocked or counted, also one with no stock line here yet" in page
    # The list's buttons show (django-import-export's list template hid them from everyone who may not
    # add stock items by hand, which is everyone).
    assert f'<a href="{ADJUST}" class="addlink">Adjust stock</a>' in page
    assert f'<a href="{COUNT}">Record a stock count</a>' in page
    assert f'<a href="{reverse("staff_stock_count_import")}">Import stock counts</a>' in page
    assert f'<a href="{reverse("admin:inventory_stockitem_queue")}">Backorder queues</a>' in page
    assert 'class="export_link">Export</a>' in page


def test_staff_who_may_only_view_stock_get_no_restock_links(client, saucepan):
    staff(client, "view_stockitem")

    response = client.get(STOCK_LIST, {"q": "COOK-SSS"})

    assert response.status_code == 200
    # They are told the item exists with no stock line (issue 16 item 2), without links to change it.
    assert response.context["unstocked"] == [{"sku": "COOK-SSS", "name": "Stainless Saucepan Set"}]
    assert "Add stock" not in response.content.decode()
    assert "Record a count" not in response.content.decode()


def test_adjust_page_opened_on_a_variant_without_stock_lines_restocks_it(admin_client, admin_user, saucepan):
    main, north = WarehouseFactory(name="Main", priority=0), WarehouseFactory(name="North", priority=1)

    page = admin_client.get(ADJUST, {"variant": saucepan.pk}).content.decode()

    assert (
        "<strong>COOK-SSS</strong> — Stainless Saucepan Set. Main: no stock yet; North: no stock yet." in page
    )
    assert f'<option value="{saucepan.pk}" selected>COOK-SSS — Stainless Saucepan Set</option>' in page

    response = admin_client.post(
        ADJUST + f"?variant={saucepan.pk}",
        keyed({"variant": saucepan.pk, "warehouse": north.pk, "quantity_change": "12", "reason": "adjusted"}),
    )

    item = StockItem.objects.get(variant=saucepan)
    assert response.status_code == 302
    assert (item.warehouse, item.on_hand, item.allocated) == (north, 12, 0)
    movement = StockMovement.objects.get()
    assert (movement.on_hand_delta, movement.reason, movement.user) == (
        12,
        MovementReason.ADJUSTED,
        admin_user,
    )
    assert not StockItem.objects.filter(warehouse=main).exists()
    assert [
        r.variant.sku for r in admin_client.get(STOCK_LIST, {"q": "COOK-SSS"}).context["cl"].result_list
    ] == ["COOK-SSS"]


def test_count_page_opened_on_a_variant_with_one_warehouse_has_both_chosen(
    admin_client, admin_user, saucepan
):
    main = WarehouseFactory(name="Main")

    page = admin_client.get(COUNT, {"variant": saucepan.pk}).content.decode()
    assert f'<option value="{main.pk}" selected>' in page

    response = admin_client.post(
        COUNT, keyed({"variant": saucepan.pk, "warehouse": main.pk, "counted": "7", "note": "found in back"})
    )

    assert response.status_code == 302
    item = StockItem.objects.get(variant=saucepan, warehouse=main)
    assert (item.on_hand, StockMovement.objects.get().reason) == (7, MovementReason.COUNTED)


def test_restocking_an_item_customers_wait_for_serves_them(
    admin_client, saucepan, django_capture_on_commit_callbacks
):
    allow_backorders(saucepan)
    order = place([(saucepan, 2)]).order
    main = WarehouseFactory(name="Main")

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            ADJUST,
            keyed(
                {"variant": saucepan.pk, "warehouse": main.pk, "quantity_change": "5", "reason": "adjusted"}
            ),
        )

    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_backordered) == (2, 0)
    assert StockItem.objects.get(variant=saucepan).allocated == 2


def test_variant_page_links_to_its_stock_restock_count_and_queue(admin_client, saucepan):
    page = admin_client.get(reverse("admin:shop_variant_change", args=[saucepan.pk])).content.decode()

    assert f'href="{STOCK_LIST}?q=COOK-SSS">Stock levels</a>' in page
    assert f'href="{ADJUST}?variant={saucepan.pk}">Adjust stock</a>' in page
    assert f'href="{COUNT}?variant={saucepan.pk}">Record a stock count</a>' in page
    assert reverse("admin:inventory_stockitem_queue_variant", args=[saucepan.pk]) in page


def test_variant_page_offers_no_restock_to_catalog_staff(client, saucepan):
    staff(client, "view_variant", "change_variant")

    page = client.get(reverse("admin:shop_variant_change", args=[saucepan.pk])).content.decode()

    assert "Adjust stock" not in page
    assert "Stock levels" not in page


def test_product_page_links_to_the_stock_of_its_variants(admin_client, saucepan):
    page = admin_client.get(reverse("admin:shop_product_change", args=[saucepan.product_id])).content.decode()

    assert f'href="{STOCK_LIST}?q=Stainless%20Saucepan%20Set">Stock of its variants</a>' in page


def test_backorder_queue_page_links_to_restock_and_count(admin_client, saucepan):
    allow_backorders(saucepan)
    place([(saucepan, 1)])

    page = admin_client.get(
        reverse("admin:inventory_stockitem_queue_variant", args=[saucepan.pk])
    ).content.decode()

    assert f'<a href="{ADJUST}?variant={saucepan.pk}">Adjust stock</a>' in page
    assert f'<a href="{COUNT}?variant={saucepan.pk}">Record a stock count</a>' in page


# --- item 3: the item pickers find a SKU and show it ----------------------------------------


def picker(client, term: str, *, model_name: str = "purchaseorderline") -> list[str]:
    response = client.get(
        reverse("admin:shop_variant_autocomplete"),
        {"term": term, "app_label": "inventory", "model_name": model_name, "field_name": "variant"},
    )
    assert response.status_code == 200
    return [r["text"] for r in json.loads(response.content)["results"]]


def test_purchase_order_line_picker_finds_a_sku_and_shows_it_first(admin_client, saucepan):
    VariantFactory(sku="PAN-COOK-SSS-LID", product=ProductFactory(name="Lid"))
    VariantFactory(sku="ACOOK-SSSX", product=ProductFactory(name="Other"))

    assert picker(admin_client, "COOK-SSS") == [
        "COOK-SSS — Stainless Saucepan Set",
        "ACOOK-SSSX — Other",
        "PAN-COOK-SSS-LID — Lid",
    ]
    assert picker(admin_client, "cook-sss", model_name="stockitem")[0] == "COOK-SSS — Stainless Saucepan Set"
    assert picker(admin_client, "saucepan") == ["COOK-SSS — Stainless Saucepan Set"]


def test_purchase_order_page_uses_the_sku_picker(admin_client):
    page = admin_client.get(reverse("admin:inventory_purchaseorder_add")).content.decode()

    assert f'data-ajax--url="{reverse("admin:shop_variant_autocomplete")}"' in page


def test_picker_answers_in_constant_queries(admin_client, django_assert_max_num_queries):
    for n in range(15):
        VariantFactory(sku=f"COOK-{n:02d}")

    with django_assert_max_num_queries(4):  # session, user, count, the page of variants with products
        assert len(picker(admin_client, "COOK")) == 15


# --- issue 16 (admin screenshots) item 2: a search that finds an item with no stock line says so ------


def test_stock_search_counts_an_item_with_no_stock_line_instead_of_0_results(admin_client, saucepan):
    WarehouseFactory()

    response = admin_client.get(STOCK_LIST, {"q": "COOK-SSS"})

    page = response.content.decode()
    assert response.context["cl"].result_count == 0
    assert "0 results" not in page
    assert (
        '<span class="small quiet" id="stock-search-count">0 stock lines; 1 item with no stock line yet '
        '(<a href="?">0 stock lines in all</a>)</span>'
    ) in page
    row = page[page.index('<th scope="row">COOK-SSS</th>') :]
    row = row[: row.index("</tr>")]
    assert "<td>Stainless Saucepan Set</td>" in row
    assert "<td>No stock line yet</td>" in row
    assert f'<a href="{ADD_STOCK}?variant={saucepan.pk}">Add stock</a>' in row


def test_stock_search_with_stock_lines_and_unstocked_items_counts_both(admin_client, saucepan):
    stocked = VariantFactory(sku="COOK-SSP")
    stock_adjust(variant_id=stocked.pk, warehouse_id=WarehouseFactory().pk, quantity_change=3)
    stock_adjust(
        variant_id=VariantFactory(sku="TENT-1").pk, warehouse_id=WarehouseFactory().pk, quantity_change=1
    )

    page = admin_client.get(STOCK_LIST, {"q": "COOK-SS"}).content.decode()

    assert '1 stock line; 1 item with no stock line yet (<a href="?">2 stock lines in all</a>)' in page


def test_stock_search_says_when_more_unstocked_items_match_than_are_listed(admin_client, monkeypatch):
    monkeypatch.setattr("inventory.admin.stock.UNSTOCKED_MATCHES_SHOWN", 2)
    for n in range(3):
        VariantFactory(sku=f"COOK-{n}")

    response = admin_client.get(STOCK_LIST, {"q": "COOK-"})

    page = response.content.decode()
    assert [m["sku"] for m in response.context["unstocked"]] == ["COOK-0", "COOK-1"]
    assert "0 stock lines; more than 2 items with no stock line yet" in page
    assert "Matching items with no stock line yet (the first 2)" in page


# --- issue 16 item 3: "Add stock" opens a page titled "Add stock" ----------------------------------


def test_add_stock_link_opens_a_page_titled_add_stock_that_adds(admin_client, admin_user, saucepan):
    main = WarehouseFactory(name="Main")
    link = admin_client.get(STOCK_LIST, {"q": "COOK-SSS"}).context["unstocked"][0]["add"]

    response = admin_client.get(link)

    page = response.content.decode()
    assert response.context["title"] == "Add stock"
    assert "<h1>Add stock</h1>" in page
    assert '<input type="submit" value="Add stock" class="default">' in page
    assert "Units to add" in page
    assert "Adjust stock" not in page.replace("use “Adjust stock”", "")

    response = admin_client.post(
        link,
        keyed({"variant": saucepan.pk, "warehouse": main.pk, "quantity_change": "4", "reason": "adjusted"}),
    )

    assert response.status_code == 302
    item = StockItem.objects.get(variant=saucepan)
    assert (item.warehouse, item.on_hand) == (main, 4)
    assert StockMovement.objects.get().user == admin_user


def test_add_stock_page_refuses_a_removal_and_writes_nothing(admin_client, saucepan):
    main = WarehouseFactory(name="Main")

    response = admin_client.post(
        ADD_STOCK,
        keyed({"variant": saucepan.pk, "warehouse": main.pk, "quantity_change": "-2", "reason": "adjusted"}),
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "quantity_change": ["Ensure this value is greater than or equal to 1."]
    }
    assert not StockItem.objects.exists()
    assert not StockMovement.objects.exists()


def test_adjust_stock_links_still_open_the_page_titled_adjust_stock(admin_client, saucepan):
    response = admin_client.get(ADJUST, {"variant": saucepan.pk})

    assert response.context["title"] == "Adjust stock"
    assert "<h1>Adjust stock</h1>" in response.content.decode()
