"""Shipping from the order page (issue 16, admin screenshots, item 8): a "Ship ready items" button, a
confirmation page with the shipment's amount in "27.55 EUR" form, one shipment per submitted page; the
shipment's amount with its currency on the order page; and the priority filter's title (item 7)."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import User
from inventory.models import StockMovement
from orders.models import PaymentTransaction, Shipment
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.models import SubmissionKey
from shop.tests.factories import VariantFactory
from shop.tests.helpers import keyed

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def ready_order(units: int = 2, price: str = "11.35", sku: str = "LAMP-1"):
    variant = VariantFactory(sku=sku, product__name="Trail Lantern", price=Decimal(price))
    give_stock(variant, 10)
    return place([(variant, units)]).order


def order_url(order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def ship_url(order) -> str:
    return reverse("admin:orders_order_ship", args=[order.pk])


def test_the_order_page_has_a_ship_ready_items_button(admin_client):
    order = ready_order()

    page = admin_client.get(order_url(order)).content.decode()

    assert f'<a href="{ship_url(order)}" class="ship-link">Ship ready items…</a>' in page


def test_the_ship_page_asks_first_shows_the_amount_with_its_currency_and_changes_nothing(admin_client):
    order = ready_order()  # 2 × 11.35 + 4.90 shipping (the shop's flat rate)

    response = admin_client.get(ship_url(order))

    page = response.content.decode()
    assert response.context["title"] == f"Ship ready items of {order.number}"
    assert '<td>LAMP-1 — Trail Lantern</td><td>2</td><td class="nowrap">22.70 EUR</td>' in page
    assert f'<td class="nowrap">{order.shipping_cost} EUR</td>' in page
    assert f'<th class="nowrap">{22.70 + float(order.shipping_cost):.2f} EUR</th>' in page
    assert '<input type="submit" value="Ship ready items" class="default">' in page
    assert not Shipment.objects.exists()
    assert order.lines.get().quantity_shipped == 0


def test_confirming_ships_through_the_service_once_per_submitted_page(admin_client, admin_user):
    order = ready_order()
    form = keyed({}, key=admin_client.get(ship_url(order)).context["submission_key"])

    first = admin_client.post(ship_url(order), form)
    again = admin_client.post(ship_url(order), form)

    assert (first.status_code, first.url) == (302, order_url(order))
    shipment = Shipment.objects.get()
    amount = Decimal("22.70") + order.shipping_cost
    assert (shipment.created_by, shipment.amount) == (admin_user, amount)
    assert messages_of(first) == [
        (
            "success",
            f"{order.number}: shipped 2 units (shipment #{shipment.pk}); captured {amount} EUR, "
            f"including {order.shipping_cost} EUR shipping.",
        )
    ]
    level, text = messages_of(again)[-1]
    assert level == "warning" and "it was not applied a second time" in text
    assert PaymentTransaction.objects.filter(kind="capture").count() == 1
    assert StockMovement.objects.filter(reason="shipped").count() == 1
    assert order.lines.get().quantity_shipped == 2
    assert SubmissionKey.objects.get().action == "order_ship"


def test_a_ship_post_without_a_good_key_ships_nothing(admin_client):
    order = ready_order()

    response = admin_client.post(ship_url(order), {"submission_key": "not-a-key"})

    assert messages_of(response) == [("error", "This form is out of date; reload the page and try again.")]
    assert not Shipment.objects.exists()


def test_the_ship_page_says_why_nothing_can_ship(admin_client):
    variant = VariantFactory()
    allow_backorders(variant)
    order = place([(variant, 1)]).order

    page = admin_client.get(ship_url(order)).content.decode()

    assert f"Nothing of {order.number} can ship now:</strong> nothing is set aside for it in stock." in page
    assert 'type="submit"' not in page.split('id="content-main"')[1]


def test_staff_who_may_not_ship_get_no_button_and_no_page(client):
    order = ready_order()
    user = User.objects.create_user("viewer@example.com", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_order"))
    client.force_login(user)

    assert "Ship ready items" not in client.get(order_url(order)).content.decode()
    assert client.get(ship_url(order)).status_code == 403
    assert client.post(ship_url(order), keyed()).status_code == 403
    assert not Shipment.objects.exists()


def test_the_warehouse_role_may_ship_from_the_order_page(client):
    order = ready_order()
    user = User.objects.create_user("packer@example.com", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_order", "add_shipment"]))
    client.force_login(user)

    form = keyed({}, key=client.get(ship_url(order)).context["submission_key"])
    client.post(ship_url(order), form)

    assert Shipment.objects.get().created_by == user


def test_the_order_page_shows_the_shipment_amount_with_its_currency(admin_client):
    order = ready_order()
    admin_client.post(ship_url(order), keyed())
    shipment = Shipment.objects.get()

    page = admin_client.get(order_url(order)).content.decode()
    listing = admin_client.get(reverse("admin:orders_shipment_changelist")).content.decode()

    assert f'<td class="field-amount_with_currency">{shipment.amount} EUR</td>' in page
    assert f'<td class="field-amount_with_currency">{shipment.amount} EUR</td>' in listing


def test_the_list_action_is_called_ship_ready_items(admin_client):
    ready_order()

    page = admin_client.get(reverse("admin:orders_order_changelist")).content.decode()

    assert '<option value="ship_action">Ship ready items</option>' in " ".join(page.split())


# --- item 7: the priority filter's title ---------------------------------------------------------


def test_the_priority_filter_is_titled_by_priority_and_filters(admin_client):
    plain = ready_order()
    urgent = ready_order(sku="LAMP-2")
    urgent.is_priority = True
    urgent.save(update_fields=["is_priority"])
    url = reverse("admin:orders_order_changelist")

    page = admin_client.get(url).content.decode()
    only = admin_client.get(url, {"priority": "yes"}).context["cl"].result_list
    others = admin_client.get(url, {"priority": "no"}).context["cl"].result_list

    assert "By is priority" not in page
    assert "By priority" in page
    assert '<a href="?priority=yes">Priority orders</a>' in page
    assert [o.pk for o in only] == [urgent.pk]
    assert [o.pk for o in others] == [plain.pk]
