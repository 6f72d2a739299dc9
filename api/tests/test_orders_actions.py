"""POST /api/v1/orders/{number}/ship/, /cancel-waiting/ and /priority/: the admin's actions through the same
services, once per Idempotency-Key, with the admin's roles; refusals 409 and bad input 400, nothing written."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from api.tests.conftest import idempotency_headers
from inventory.models import StockItem, StockMovement
from notifications.models import Notification
from orders.models import Order, OrderEvent, Payment, PaymentTransaction, Shipment
from orders.services import order_ship
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.models import SubmissionKey
from shop.tests.factories import VariantFactory
from shop.tests.helpers import keyed

pytestmark = pytest.mark.django_db


def lantern_and_mug():
    lantern = VariantFactory(sku="LAMP-1", product__name="Trail Lantern", price=Decimal("11.35"))
    mug = VariantFactory(sku="MUG-1", product__name="Blue mug", price=Decimal("20.00"))
    give_stock(lantern, 10)
    allow_backorders(mug)
    return lantern, mug


def staff_client(group: str) -> APIClient:
    user = User.objects.create_user(
        group.lower().replace(" ", "-") + "@example.com", password="x", is_staff=True
    )
    user.groups.set([Group.objects.get(name=group)])
    client = APIClient()
    client.force_login(user)
    client.user = user
    return client


def post(client, url: str, body: dict | None = None, key: str | None = None):
    return client.post(url, body if body is not None else {}, format="json", **idempotency_headers(key))


def written() -> tuple[int, ...]:
    """What an action writes: shipments, payment calls, events, emails, submission claims, movements."""
    return (
        Shipment.objects.count(),
        PaymentTransaction.objects.count(),
        OrderEvent.objects.count(),
        Notification.objects.count(),
        SubmissionKey.objects.count(),
        StockMovement.objects.count(),
    )


def shipped_state(order: Order) -> tuple:
    order.refresh_from_db()
    shipment = Shipment.objects.get(order=order)
    return (
        order.status,
        shipment.amount,
        [(t.kind, t.amount, t.success) for t in order.payment.transactions.order_by("pk")],
        (order.payment.amount_captured, order.payment.status),
        [
            (line.sku, line.quantity_shipped, line.quantity_allocated, line.status)
            for line in order.lines.all()
        ],
        sorted(shipment.lines.values_list("order_line__sku", "quantity")),
    )


# --- ship -----------------------------------------------------------------------------------------


def test_shipping_through_the_api_does_what_the_admins_ship_ready_items_does(
    api_client_with, admin_client, django_capture_on_commit_callbacks
):
    lantern, mug = lantern_and_mug()
    by_api = place([(lantern, 2), (mug, 1)], email="api@example.com").order
    by_admin = place([(lantern, 2), (mug, 1)], email="admin@example.com").order
    url = reverse("admin:orders_order_ship", args=[by_admin.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_client_with("orders"), f"/api/v1/orders/{by_api.number}/ship/")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, keyed({}, key=admin_client.get(url).context["submission_key"]))

    assert response.status_code == 201
    shipment = Shipment.objects.get(order=by_api)
    assert response.json()["shipment"] == {
        "id": shipment.pk,
        "created_at": shipment.created_at.isoformat().replace("+00:00", "Z"),
        "currency": "EUR",
        "amount": "27.60",  # 2 × 11.35 + the 4.90 shipping on the first shipment
        "captured": "27.60",
        "lines": [{"line": by_api.lines.get(variant=lantern).pk, "quantity": 2}],
    }
    assert response.json()["order"]["status"] == "partially_shipped"
    assert response.json()["order"]["amounts"]["captured"] == "27.60"
    api_state, admin_state = shipped_state(by_api), shipped_state(by_admin)
    assert api_state == admin_state
    assert api_state[2] == [("authorize", Decimal("47.60"), True), ("capture", Decimal("27.60"), True)]
    assert [(m.to, m.subject) for m in mail.outbox if "on its way" in m.subject] == [
        (["api@example.com"], f"Order {by_api.number}: part of your order is on its way"),
        (["admin@example.com"], f"Order {by_admin.number}: part of your order is on its way"),
    ]
    assert StockItem.objects.get(variant=lantern).on_hand == 6


def test_a_retried_ship_request_ships_once_and_answers_the_same(
    api_client_with, django_capture_on_commit_callbacks
):
    lantern, _ = lantern_and_mug()
    order = place([(lantern, 1)]).order
    client = api_client_with("orders")
    key = "retry-me-0001"

    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, f"/api/v1/orders/{order.number}/ship/", key=key)
        again = post(client, f"/api/v1/orders/{order.number}/ship/", key=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Shipment.objects.count() == 1
    assert PaymentTransaction.objects.filter(kind="capture").count() == 1
    assert len([m for m in mail.outbox if "on its way" in m.subject]) == 1


def test_shipping_given_lines_ships_only_them(api_client_with):
    lantern, _ = lantern_and_mug()
    torch = VariantFactory(sku="TORCH-1", price=Decimal("5.00"))
    give_stock(torch, 3)
    order = place([(lantern, 1), (torch, 2)]).order
    torch_line = order.lines.get(variant=torch)

    response = post(
        api_client_with("orders"), f"/api/v1/orders/{order.number}/ship/", {"lines": [torch_line.pk]}
    )

    assert response.status_code == 201
    assert response.json()["shipment"]["lines"] == [{"line": torch_line.pk, "quantity": 2}]
    assert response.json()["shipment"]["amount"] == "14.90"  # 2 × 5.00 + 4.90 shipping
    assert [(line.sku, line.quantity_shipped, line.quantity_allocated) for line in order.lines.all()] == [
        ("LAMP-1", 0, 1),
        ("TORCH-1", 2, 0),
    ]


def test_a_refused_shipment_is_a_409_with_the_services_message_and_writes_nothing(api_client_with):
    lantern, mug = lantern_and_mug()
    waiting = place([(mug, 1)]).order  # everything waits: nothing to ship
    ready, other = place([(lantern, 1)]).order, place([(lantern, 1)]).order
    before = written()
    client = api_client_with("orders")

    nothing = post(client, f"/api/v1/orders/{waiting.number}/ship/")
    not_its_line = post(client, f"/api/v1/orders/{ready.number}/ship/", {"lines": [other.lines.get().pk]})

    assert (nothing.status_code, nothing["Content-Type"]) == (409, "application/problem+json")
    assert nothing.json()["detail"] == f"{waiting.number} has nothing allocated to ship."
    assert (not_its_line.status_code, not_its_line.json()["detail"]) == (
        409,
        f"{ready.number}: that item is not part of this order.",
    )
    assert written() == before


def test_a_ship_request_naming_a_waiting_line_is_refused(api_client_with):
    lantern, mug = lantern_and_mug()
    order = place([(lantern, 1), (mug, 1)]).order
    before = written()

    response = post(
        api_client_with("orders"),
        f"/api/v1/orders/{order.number}/ship/",
        {"lines": [order.lines.get(variant=mug).pk]},
    )

    assert response.status_code == 409
    assert response.json()["detail"] == f"{order.number}: nothing of MUG-1 is allocated to ship."
    assert written() == before


def test_an_order_that_ships_together_ships_all_its_ready_lines_or_nothing(api_client_with):
    lantern, _ = lantern_and_mug()
    torch = VariantFactory(sku="TORCH-1", price=Decimal("5.00"))
    give_stock(torch, 3)
    order = place([(lantern, 1), (torch, 1)], policy="together").order
    before = written()

    response = post(
        api_client_with("orders"),
        f"/api/v1/orders/{order.number}/ship/",
        {"lines": [order.lines.get(variant=torch).pk]},
    )

    assert (response.status_code, response.json()["detail"]) == (
        409,
        f"{order.number} ships together: ship all its ready lines at once.",
    )
    assert written() == before


# --- cancel waiting units ------------------------------------------------------------------------


def test_cancelling_waiting_units_voids_their_price_and_emails_once(
    api_client_with, django_capture_on_commit_callbacks
):
    lantern, mug = lantern_and_mug()
    order = place([(lantern, 1), (mug, 3)], email="ada@example.com").order
    mug_line = order.lines.get(variant=mug)
    client = api_client_with("orders")
    url = f"/api/v1/orders/{order.number}/cancel-waiting/"
    body = {"lines": [{"line": mug_line.pk, "quantity": 2}]}

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, url, body, key="cancel-1")
        again = post(client, url, body, key="cancel-1")

    assert (response.status_code, again.status_code, again.json()) == (200, 200, response.json())
    assert response.json()["cancelled"] == [{"line": mug_line.pk, "quantity": 2}]
    assert response.json()["released"] == {
        "currency": "EUR",
        "voided": "40.00",
        "refunded": "0.00",
        "unreleased": "0.00",
    }
    mug_line.refresh_from_db()
    assert (mug_line.quantity_backordered, mug_line.quantity_cancelled) == (1, 2)
    assert response.json()["order"]["amounts"]["cancelled"] == "40.00"
    assert list(PaymentTransaction.objects.filter(kind="void").values_list("amount", flat=True)) == [
        Decimal("40.00")
    ]
    assert OrderEvent.objects.get(order=order, kind="cancelled").message == "Cancelled by staff: 2 × Blue mug"
    assert [(m.to, m.subject) for m in mail.outbox if "cancelled" in m.subject] == [
        (["ada@example.com"], f"Order {order.number}: items cancelled")
    ]


def test_a_line_named_twice_counts_once_to_ship_and_its_quantities_add_up_to_cancel(api_client_with):
    lantern, mug = lantern_and_mug()
    order = place([(lantern, 1), (mug, 3)]).order
    lantern_line, mug_line = order.lines.get(variant=lantern), order.lines.get(variant=mug)
    client = api_client_with("orders")

    shipped = post(
        client, f"/api/v1/orders/{order.number}/ship/", {"lines": [lantern_line.pk, lantern_line.pk]}
    )
    twice = [{"line": mug_line.pk, "quantity": 1}, {"line": mug_line.pk, "quantity": 1}]
    cancelled = post(client, f"/api/v1/orders/{order.number}/cancel-waiting/", {"lines": twice})

    assert shipped.json()["shipment"]["lines"] == [{"line": lantern_line.pk, "quantity": 1}]
    assert cancelled.json()["cancelled"] == [{"line": mug_line.pk, "quantity": 2}]
    mug_line.refresh_from_db()
    assert (mug_line.quantity_backordered, mug_line.quantity_cancelled) == (1, 2)


def test_money_already_charged_is_refunded_and_reported(api_client_with, django_capture_on_commit_callbacks):
    lantern, mug = lantern_and_mug()
    order = place([(lantern, 1), (mug, 2)]).order  # 11.35 + 2 × 20.00 + 4.90 = 56.25 authorized
    order_ship(order_id=order.pk)  # captures 16.25
    # A capture that took 10.00 more than the parcel (a gateway adjustment, as orders/tests/test_money_wording.py
    # does): 30.00 is left reserved for the 40.00 of waiting units.
    Payment.objects.filter(order=order).update(amount_captured=Decimal("26.25"))

    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_client_with("orders"), f"/api/v1/orders/{order.number}/cancel-waiting/")

    assert response.status_code == 200
    assert response.json()["released"] == {
        "currency": "EUR",
        "voided": "30.00",
        "refunded": "10.00",
        "unreleased": "0.00",
    }
    assert sorted(
        PaymentTransaction.objects.filter(kind__in=["void", "refund"]).values_list("kind", "amount")
    ) == [
        ("refund", Decimal("10.00")),
        ("void", Decimal("30.00")),
    ]
    assert response.json()["order"]["payment"]["refunded"] == "10.00"
    assert len([m for m in mail.outbox if m.subject == f"Order {order.number}: items cancelled"]) == 1


def test_cancelling_without_lines_cancels_every_waiting_unit_as_the_admin_does(api_client_with):
    _, mug = lantern_and_mug()
    order = place([(mug, 2)]).order  # all waiting: the shipping charge goes back too

    response = post(api_client_with("orders"), f"/api/v1/orders/{order.number}/cancel-waiting/")

    assert response.status_code == 200
    assert response.json()["released"]["voided"] == "44.90"
    assert response.json()["order"]["status"] == "cancelled"


def test_cancelling_more_than_waits_is_a_409_and_writes_nothing(api_client_with):
    _, mug = lantern_and_mug()
    order = place([(mug, 1)]).order
    before = written()

    response = post(
        api_client_with("orders"),
        f"/api/v1/orders/{order.number}/cancel-waiting/",
        {"lines": [{"line": order.lines.get().pk, "quantity": 2}]},
    )

    assert response.status_code == 409
    assert response.json()["detail"] == "Only 1 of Blue mug is still waiting and can be cancelled."
    assert written() == before


# --- priority -------------------------------------------------------------------------------------


def test_priority_moves_the_order_to_the_front_of_the_queue(api_client_with, clock):
    _, mug = lantern_and_mug()
    first = place([(mug, 1)]).order
    clock.move_to("2026-03-02T10:00:00Z")
    last = place([(mug, 1)]).order
    client = api_client_with("orders")
    queue = f"/api/v1/variants/{mug.pk}/backorder-queue/"
    assert [e["order_number"] for e in client.get(queue).json()["results"]] == [first.number, last.number]

    marked = post(client, f"/api/v1/orders/{last.number}/priority/", {"priority": True})
    again = post(client, f"/api/v1/orders/{last.number}/priority/", {"priority": True})

    assert (marked.status_code, marked.json()) == (
        200,
        {"number": last.number, "is_priority": True, "changed": True},
    )
    assert again.json() == {
        "number": last.number,
        "is_priority": True,
        "changed": False,
    }  # a new key: no change
    assert [(e["order_number"], e["is_priority"]) for e in client.get(queue).json()["results"]] == [
        (last.number, True),
        (first.number, False),
    ]
    assert OrderEvent.objects.filter(order=last, kind="priority").count() == 1

    unmarked = post(client, f"/api/v1/orders/{last.number}/priority/", {"priority": False})

    assert unmarked.json()["changed"] is True
    assert [e["order_number"] for e in client.get(queue).json()["results"]] == [first.number, last.number]


def test_a_retried_priority_request_applies_once(api_client_with):
    _, mug = lantern_and_mug()
    order = place([(mug, 1)]).order
    client = api_client_with("orders")

    first = post(client, f"/api/v1/orders/{order.number}/priority/", {"priority": True}, key="prio-1")
    again = post(client, f"/api/v1/orders/{order.number}/priority/", {"priority": True}, key="prio-1")

    assert again.json() == first.json() == {"number": order.number, "is_priority": True, "changed": True}
    assert again["Idempotent-Replayed"] == "true"
    assert SubmissionKey.objects.filter(action="order_set_priority").count() == 1


# --- roles, scopes, input -------------------------------------------------------------------------


def test_warehouse_staff_may_ship_but_not_cancel_or_set_priority(clock):
    lantern, mug = lantern_and_mug()
    order = place([(lantern, 1), (mug, 1)]).order
    warehouse = staff_client("Warehouse")
    before = written()

    cancel = post(warehouse, f"/api/v1/orders/{order.number}/cancel-waiting/")
    priority = post(warehouse, f"/api/v1/orders/{order.number}/priority/", {"priority": True})

    assert (cancel.status_code, priority.status_code) == (403, 403)
    assert cancel["Content-Type"] == "application/problem+json"
    assert written() == before
    shipped = post(warehouse, f"/api/v1/orders/{order.number}/ship/")
    assert shipped.status_code == 201
    assert Shipment.objects.get().created_by == warehouse.user


def test_customer_service_may_cancel_and_set_priority():
    _, mug = lantern_and_mug()
    order = place([(mug, 2)]).order
    service = staff_client("Customer service")

    cancel = post(
        service,
        f"/api/v1/orders/{order.number}/cancel-waiting/",
        {"lines": [{"line": order.lines.get().pk, "quantity": 1}]},
    )
    priority = post(service, f"/api/v1/orders/{order.number}/priority/", {"priority": True})

    assert (cancel.status_code, priority.status_code) == (200, 200)
    assert PaymentTransaction.objects.get(kind="void").user == service.user


def test_a_key_without_the_orders_scope_may_not_act(api_client_with):
    lantern, _ = lantern_and_mug()
    order = place([(lantern, 1)]).order

    response = post(api_client_with("catalog:read", "stock:write"), f"/api/v1/orders/{order.number}/ship/")

    assert response.status_code == 403
    assert not Shipment.objects.exists()


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("ship", {"lines": []}, "lines"),
        ("ship", {"lines": "all"}, "lines"),
        ("ship", {"lines": [0]}, "lines"),
        ("ship", {"lines": [2**63]}, "lines"),
        ("ship", {"lines": [1] * 501}, "lines"),
        ("ship", {"everything": True}, "everything"),
        ("cancel-waiting", {"lines": [{"line": 1, "quantity": 0}]}, "lines"),
        ("cancel-waiting", {"lines": [{"line": 1, "quantity": 2**31}]}, "lines"),
        ("cancel-waiting", {"lines": [{"line": 1}]}, "lines"),
        ("cancel-waiting", {"lines": [{"line": 1, "quantity": 1, "note": "x"}]}, "lines"),
        (
            "cancel-waiting",
            {"lines": [{"line": 1, "quantity": 2**31 - 1}, {"line": 1, "quantity": 1}]},
            "lines",
        ),
        ("cancel-waiting", {"lines": []}, "lines"),
        ("priority", {}, "priority"),
        ("priority", {"priority": "yes"}, "priority"),
        ("priority", {"priority": 1}, "priority"),
        ("priority", {"priority": True, "why": "VIP"}, "why"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(api_client_with, action, body, field):
    lantern, mug = lantern_and_mug()
    order = place([(lantern, 1), (mug, 1)]).order
    before = written()

    response = post(api_client_with("orders"), f"/api/v1/orders/{order.number}/{action}/", body)

    assert (response.status_code, response["Content-Type"]) == (400, "application/problem+json")
    assert list(response.json()["errors"]) == [field]
    assert written() == before
    assert Order.objects.get(pk=order.pk).is_priority is False


def test_a_body_that_is_not_an_object_is_a_400(api_client_with):
    lantern, _ = lantern_and_mug()
    order = place([(lantern, 1)]).order

    response = post(api_client_with("orders"), f"/api/v1/orders/{order.number}/ship/", [1, 2])

    assert response.status_code == 400
    assert response.json()["detail"] == "Send a JSON object."


@pytest.mark.parametrize("action", ["ship", "cancel-waiting", "priority"])
def test_an_unknown_order_is_a_404_problem(api_client_with, action):
    body = {"priority": True} if action == "priority" else {}

    response = post(api_client_with("orders"), f"/api/v1/orders/BO-NOPE/{action}/", body)

    assert (response.status_code, response["Content-Type"]) == (404, "application/problem+json")
    assert response.json()["detail"] == "No order numbered “BO-NOPE”."
    assert not SubmissionKey.objects.exists()
