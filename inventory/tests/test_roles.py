"""Staff roles (inventory/migrations/0005_staff_roles.py): each group has exactly its permissions;
a Warehouse user ships but cannot cancel waiting units or refund; a Customer service user cancels
but cannot touch stock; every staff action is recorded with the user."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import User
from inventory.models import MovementReason, StockItem, StockMovement
from inventory.tests.factories import WarehouseFactory
from orders.models import OrderEvent, OrderEventKind, PaymentTransaction, Shipment, TransactionKind
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory
from shop.tests.helpers import keyed

pytestmark = pytest.mark.django_db

ORDERS = reverse("admin:orders_order_changelist")


def permissions_of(name: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_warehouse_permissions():
    assert permissions_of("Warehouse") == {
        "inventory.view_warehouse",
        "inventory.view_stockitem",
        "inventory.change_stockitem",
        "inventory.view_stockmovement",
        "inventory.view_backorderpolicy",
        "inventory.view_supplier",
        "inventory.add_supplier",
        "inventory.change_supplier",
        "inventory.view_purchaseorder",
        "inventory.add_purchaseorder",
        "inventory.change_purchaseorder",
        "inventory.delete_purchaseorder",
        # inventory/migrations/0014: the warehouse keeps the shop's closures (days nothing ships)
        "inventory.view_shopclosure",
        "inventory.add_shopclosure",
        "inventory.change_shopclosure",
        "inventory.delete_shopclosure",
        "inventory.view_purchaseorderline",
        "inventory.add_purchaseorderline",
        "inventory.change_purchaseorderline",
        "inventory.delete_purchaseorderline",
        "inventory.view_purchaseorderdatechange",
        "orders.view_order",
        "orders.view_orderline",
        "orders.view_shipment",
        "orders.add_shipment",
        "orders.view_shipmentline",
        "shop.view_product",
        "shop.view_variant",
    }


def test_customer_service_permissions():
    assert permissions_of("Customer service") == {
        "orders.view_order",
        "orders.change_order",
        "orders.view_orderline",
        "orders.view_orderevent",
        "orders.view_payment",
        "orders.change_payment",
        "orders.view_paymenttransaction",
        "orders.view_shipment",
        "orders.view_shipmentline",
        "orders.view_cart",
        "orders.view_cartline",
        "orders.view_delaynotice",
        "orders.view_linedelay",
        "orders.view_orderfeedback",
        "orders.view_customerquestion",  # inventory/migrations/0009: read and answer customers' questions
        "orders.change_customerquestion",
        "orders.view_cardcharge",  # inventory/migrations/0012: follow card payments that failed
        "orders.change_cardcharge",
        "invoices.view_document",  # invoices/migrations/0003: read invoices and credit notes
        "notifications.view_notification",
        "notifications.change_notification",
        "notifications.view_backinstocksubscription",
        "notifications.change_backinstocksubscription",
        "notifications.view_restockwave",
        "notifications.view_lowstockstate",
        "notifications.view_emailpreference",
        "notifications.change_emailpreference",
        "inventory.view_stockitem",
        "inventory.view_backorderpolicy",
        "inventory.view_purchaseorder",
        "inventory.view_purchaseorderline",
        "shop.view_category",
        "shop.view_product",
        "shop.view_variant",
    }


def test_catalog_permissions():
    crud = ("view", "add", "change", "delete")
    assert permissions_of("Catalog") == {
        *(f"shop.{a}_{m}" for a in crud for m in ("category", "product", "variant")),
        *(f"inventory.{a}_backorderpolicy" for a in crud),
    }


def member_of(client, group: str) -> User:
    user = User.objects.create_user(
        group.lower().replace(" ", "-") + "@example.com", password="x", is_staff=True
    )
    user.groups.set([Group.objects.get(name=group)])
    client.force_login(user)
    return user


@pytest.fixture
def waiting_order():
    """An order with 2 units shipped-ready and 3 waiting."""
    variant = VariantFactory()
    allow_backorders(variant)
    give_stock(variant, 2)
    return place([(variant, 5)]).order


def action_names(response) -> set[str]:
    return {name for name, _ in response.context["action_form"].fields["action"].choices if name}


def test_warehouse_user_ships_but_cannot_cancel_or_refund(client, waiting_order):
    user = member_of(client, "Warehouse")
    payment = waiting_order.payment

    assert action_names(client.get(ORDERS)) == {"ship_action"}
    response = client.post(
        ORDERS,
        keyed({"action": "cancel_backordered_action", "_selected_action": [waiting_order.pk], "post": "yes"}),
    )

    assert response.status_code == 302  # the admin ignores an action it did not offer ("No action selected")
    line = waiting_order.lines.get()
    assert (line.quantity_backordered, line.quantity_cancelled) == (3, 0)
    assert not OrderEvent.objects.filter(
        kind__in=[OrderEventKind.CANCELLED, OrderEventKind.REFUNDED]
    ).exists()
    payment.refresh_from_db()
    assert (payment.amount_voided, payment.amount_refunded) == (0, 0)

    client.post(ORDERS, keyed({"action": "ship_action", "_selected_action": [waiting_order.pk]}))

    shipment = Shipment.objects.get(order=waiting_order)
    assert shipment.created_by == user
    assert PaymentTransaction.objects.get(kind=TransactionKind.CAPTURE).user == user
    assert OrderEvent.objects.get(kind=OrderEventKind.SHIPPED).user == user
    assert StockMovement.objects.get(reason=MovementReason.SHIPPED).user == user


def test_customer_service_user_cancels_waiting_units_with_their_name_on_it(client, waiting_order):
    user = member_of(client, "Customer service")

    assert {"cancel_backordered_action", "ship_action"} <= action_names(client.get(ORDERS))
    client.post(
        ORDERS,
        keyed({"action": "cancel_backordered_action", "_selected_action": [waiting_order.pk], "post": "yes"}),
    )

    assert waiting_order.lines.get().quantity_cancelled == 3
    assert OrderEvent.objects.get(kind=OrderEventKind.CANCELLED).user == user
    assert OrderEvent.objects.get(kind=OrderEventKind.REFUNDED).user == user
    assert PaymentTransaction.objects.get(kind=TransactionKind.VOID).user == user


def test_customer_service_user_cannot_adjust_or_count_stock(client):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    give_stock(variant, 5, warehouse)
    item = StockItem.objects.get()
    member_of(client, "Customer service")
    posted = {"variant": variant.pk, "warehouse": warehouse.pk, "quantity_change": "-5", "reason": "adjusted"}

    for name, args in [
        ("admin:inventory_stockitem_adjust", []),
        ("admin:inventory_stockitem_adjust_item", [item.pk]),
        ("admin:inventory_stockitem_count", []),
        ("admin:inventory_stockitem_count_item", [item.pk]),
    ]:
        url = reverse(name, args=args)
        assert client.get(url).status_code == 403
        assert client.post(url, keyed({**posted, "counted": "0"})).status_code == 403

    item.refresh_from_db()
    assert (item.on_hand, StockMovement.objects.count()) == (5, 1)
    # They still see stock and the queues, to answer customers.
    assert client.get(reverse("admin:inventory_stockitem_changelist")).status_code == 200
    assert client.get(reverse("admin:inventory_stockitem_queue")).status_code == 200


def test_warehouse_user_adjusts_stock_under_their_name(client):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    user = member_of(client, "Warehouse")

    client.post(
        reverse("admin:inventory_stockitem_adjust"),
        keyed(
            {"variant": variant.pk, "warehouse": warehouse.pk, "quantity_change": "4", "reason": "adjusted"}
        ),
    )

    assert StockMovement.objects.get().user == user


def test_catalog_user_edits_products_but_sees_no_stock_or_orders(client):
    variant = VariantFactory()
    member_of(client, "Catalog")

    assert client.get(reverse("admin:shop_variant_change", args=[variant.pk])).status_code == 200
    assert client.get(reverse("admin:inventory_stockitem_changelist")).status_code == 403
    assert client.get(ORDERS).status_code == 403
    assert client.get(reverse("staff_dashboard")).status_code == 403
