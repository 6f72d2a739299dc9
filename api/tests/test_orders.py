"""GET /api/v1/orders/, /api/v1/orders/{number}/ and /api/v1/variants/{id}/backorder-queue/: exact answers,
the filters (and their 400s), the staff queue page's answer, and queries that do not grow with the page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from orders.models import OrderLine
from orders.services import order_set_priority, order_ship
from orders.tests.factories import OrderFactory, OrderLineFactory
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


def lantern_and_mug():
    lantern = VariantFactory(sku="LAMP-1", product__name="Trail Lantern", price=Decimal("11.35"))
    mug = VariantFactory(sku="MUG-1", product__name="Blue mug", price=Decimal("20.00"))
    give_stock(lantern, 10)
    allow_backorders(mug)
    return lantern, mug


def member_of(group: str) -> User:
    user = User.objects.create_user(
        group.lower().replace(" ", "-") + "@example.com", password="x", is_staff=True
    )
    user.groups.set([Group.objects.get(name=group)])
    return user


def queries_of(client, url: str) -> tuple[int, dict]:
    """The queries of a GET, the key's last use already noted (it is written at most once a minute)."""
    client.get("/api/v1/orders/?status=waiting&page_size=1")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries), response.json()


def test_an_order_with_its_lines_amounts_payment_and_timeline(api_client_with, clock):
    lantern, mug = lantern_and_mug()
    order = place([(lantern, 2), (mug, 1)]).order  # 2 × 11.35 in stock, 1 × 20.00 waiting, 4.90 shipping
    waiting = order.lines.get(variant=mug)

    response = api_client_with("orders").get(f"/api/v1/orders/{order.number}/")

    assert response.status_code == 200
    body = response.json()
    assert {k: v for k, v in body.items() if k not in ("lines", "timeline")} == {
        "number": order.number,
        "status": "partially_ready",
        "email": "ada@example.com",
        "placed_at": "2026-03-02T09:00:00Z",
        "ship_policy": "split",
        "is_priority": False,
        "need_by": None,
        "amounts": {
            "currency": "EUR",
            "subtotal": "42.70",
            "discount": "0.00",
            "shipping": "4.90",
            "total": "47.60",
            "cancelled": "0.00",
            "captured": "0.00",
            "outstanding": "47.60",
        },
        "payment": {
            "gateway": "test_card",
            "status": "authorized",
            "currency": "EUR",
            "authorized": "47.60",
            "captured": "0.00",
            "voided": "0.00",
            "refunded": "0.00",
        },
    }
    line_of = {"allocated": 0, "shipped": 0, "cancelled": 0, "units_at_backorder_price": 0}
    assert body["lines"] == [
        {
            **line_of,
            "id": order.lines.get(variant=lantern).pk,
            "variant_id": lantern.pk,
            "sku": "LAMP-1",
            "product_name": "Trail Lantern",
            "status": "allocated",
            "quantity": 2,
            "allocated": 2,
            "waiting": 0,
            "unit_price": "11.35",
            "backorder_unit_price": "11.35",
            "expected_earliest_date": None,  # nothing waits: no date to give
            "expected_date": None,
            "promised_date": None,
        },
        {
            **line_of,
            "id": waiting.pk,
            "variant_id": mug.pk,
            "sku": "MUG-1",
            "product_name": "Blue mug",
            "status": "backordered",
            "quantity": 1,
            "waiting": 1,
            "unit_price": "20.00",
            "backorder_unit_price": "20.00",
            # The lead-time estimate the customer was shown at checkout (docs/dates.md), as stored.
            "expected_earliest_date": "2026-03-25",
            "expected_date": "2026-03-30",
            "promised_date": "2026-03-30",
        },
    ]
    assert (str(waiting.expected_earliest_date), str(waiting.expected_date)) == ("2026-03-25", "2026-03-30")
    assert body["timeline"] == [
        {
            "title": "You placed your order",
            "at": "2026-03-02T09:00:00Z",
            "detail": "Waiting for stock: 1 × Blue mug (expected 25–30 March 2026)",
        },
        {"title": "Set aside for you", "at": "2026-03-02T09:00:00Z", "detail": "2 × Trail Lantern"},
    ]


def test_amounts_after_a_shipment_are_the_admins(api_client_with, clock):
    lantern, mug = lantern_and_mug()
    order = place([(lantern, 2), (mug, 1)]).order
    order_ship(order_id=order.pk)
    order_set_priority(order_id=order.pk, is_priority=True)  # a staff-only event: not in the timeline

    body = api_client_with("orders").get(f"/api/v1/orders/{order.number}/").json()

    assert body["status"] == "partially_shipped"
    assert body["is_priority"] is True
    assert (body["amounts"]["captured"], body["amounts"]["outstanding"]) == ("27.60", "20.00")
    assert (body["payment"]["status"], body["payment"]["captured"]) == ("partially_captured", "27.60")
    assert [(line["sku"], line["status"], line["shipped"], line["allocated"]) for line in body["lines"]] == [
        ("LAMP-1", "shipped", 2, 0),
        ("MUG-1", "backordered", 0, 0),
    ]
    assert [entry["title"] for entry in body["timeline"]] == [
        "You placed your order",
        "Set aside for you",
        "Shipped",
    ]
    assert body["timeline"][-1]["detail"] == (
        "2 × Trail Lantern. €27.60 has been charged to your card for this parcel, including €4.90 shipping."
    )


def test_an_unknown_order_is_a_404_problem(api_client_with):
    response = api_client_with("orders").get("/api/v1/orders/BO-NOPE/")

    assert (response.status_code, response["Content-Type"]) == (404, "application/problem+json")
    assert response.json() == {
        "type": "https://docs.shop.invalid/api/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No order numbered “BO-NOPE”.",
        "code": "not_found",
    }


def test_orders_need_the_orders_scope_or_the_admins_view_order(api_client_with, client):
    order = OrderFactory()
    url = f"/api/v1/orders/{order.number}/"

    assert api_client_with("catalog:read", "stock:write", "purchasing").get(url).status_code == 403
    client.force_login(User.objects.create_user("nobody@example.com", is_staff=True))
    assert client.get(url).status_code == 403
    for group in ("Warehouse", "Customer service"):  # both view orders in the admin
        client.force_login(member_of(group))
        assert client.get(url).status_code == 200


# --- the list: filters and queries -------------------------------------------------------------


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [order["number"] for order in response.json()["results"]]


def test_the_list_is_newest_first_and_filters(api_client_with, clock):
    lantern, mug = lantern_and_mug()
    ready = place([(lantern, 1)], email="ada@example.com").order
    clock.move_to("2026-03-03T09:00:00Z")
    waiting = place([(mug, 1)], email="Bob@Example.com").order
    clock.move_to("2026-03-04T09:00:00Z")
    order_ship(order_id=ready.pk)  # ready changes on the 4th; waiting does not
    client = api_client_with("orders")

    assert numbers(client.get("/api/v1/orders/")) == [waiting.number, ready.number]
    assert numbers(client.get("/api/v1/orders/?status=waiting")) == [waiting.number]
    assert numbers(client.get("/api/v1/orders/?status=waiting&status=shipped")) == [
        waiting.number,
        ready.number,
    ]
    assert numbers(client.get("/api/v1/orders/?has_waiting=true")) == [waiting.number]
    assert numbers(client.get("/api/v1/orders/?has_waiting=false")) == [ready.number]
    assert numbers(client.get("/api/v1/orders/?email=bob@example.com")) == [waiting.number]
    assert numbers(client.get("/api/v1/orders/?placed_after=2026-03-03T00:00:00Z")) == [waiting.number]
    assert numbers(client.get("/api/v1/orders/?placed_before=2026-03-03T00:00:00Z")) == [ready.number]
    assert numbers(client.get("/api/v1/orders/?changed_since=2026-03-04T00:00:00Z")) == [ready.number]
    assert numbers(client.get("/api/v1/orders/?changed_since=2026-03-05T00:00:00Z")) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("has_waiting=maybe", "has_waiting"),
        ("placed_after=yesterday", "placed_after"),
        ("changed_since=2026-13-01", "changed_since"),
        ("emial=ada@example.com", "emial"),
        ("page_size=0", None),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(api_client_with, query, field):
    response = api_client_with("orders").get(f"/api/v1/orders/?{query}")

    if field is None:  # DRF's pagination takes a bad page size as the default; never a 500
        assert response.status_code == 200
        return
    assert (response.status_code, response["Content-Type"]) == (400, "application/problem+json")
    assert list(response.json()["errors"]) == [field]


def test_a_moment_with_any_iso_offset_is_read_and_one_out_of_the_calendar_is_its_end(api_client_with, clock):
    lantern, _ = lantern_and_mug()
    order = place([(lantern, 1)]).order  # placed 2026-03-02 09:00 UTC
    client = api_client_with("orders")

    # +21:27 is ISO 8601 but beyond PostgreSQL's ±15:59: read as 2026-03-01 11:33 UTC
    after = client.get("/api/v1/orders/?placed_after=2026-03-02T09:00:00%2B21:27")
    out = client.get("/api/v1/orders/?placed_before=0001-01-01T00:00:00%2B23:00")

    assert numbers(after) == [order.number]
    # Before the year 1 once in UTC: the first moment there is, as every list's filters take it
    # (api.filters.base.UtcDateTimeField), so nothing was placed before it
    assert (out.status_code, numbers(out)) == (200, [])


def test_the_list_costs_the_same_queries_for_1_or_50_orders(api_client_with, clock):
    lantern, mug = lantern_and_mug()
    for n in range(6):
        order = place([(lantern, 1), (mug, n + 1)], email=f"c{n}@example.com").order
        if n % 2:
            order_ship(order_id=order.pk)
    client = api_client_with("orders")

    one, page_of_one = queries_of(client, "/api/v1/orders/?page_size=1")
    fifty, page_of_fifty = queries_of(client, "/api/v1/orders/?page_size=50")

    assert (len(page_of_one["results"]), len(page_of_fifty["results"])) == (1, 6)
    # The key (1), the orders with their amounts and payment (1), their lines (1), their events (1).
    assert (one, fifty) == (4, 4)
    detail, _ = queries_of(client, f"/api/v1/orders/{order.number}/")
    assert detail == 4


# --- the backorder queue ------------------------------------------------------------------------


def test_the_queue_is_served_priority_first_as_the_staff_page_shows_it(api_client_with, admin_client, clock):
    _, mug = lantern_and_mug()
    first = place([(mug, 2)], email="first@example.com").order
    clock.move_to("2026-03-02T10:00:00Z")
    second = place([(mug, 1)], email="second@example.com").order
    clock.move_to("2026-03-02T11:00:00Z")
    third = place([(mug, 3)], email="third@example.com").order
    order_set_priority(order_id=third.pk, is_priority=True)

    response = api_client_with("orders").get(f"/api/v1/variants/{mug.pk}/backorder-queue/")

    assert response.status_code == 200
    body = response.json()
    assert {k: v for k, v in body.items() if k != "results"} == {
        "variant_id": mug.pk,
        "units_waiting": 6,
        "free_stock": 0,
        "count": 3,
        "next": None,
        "previous": None,
    }
    assert [
        (e["position"], e["order_number"], e["waiting"], e["units_ahead"], e["is_priority"], e["placed_at"])
        for e in body["results"]
    ] == [
        (1, third.number, 3, 0, True, "2026-03-02T11:00:00Z"),
        (2, first.number, 2, 3, False, "2026-03-02T09:00:00Z"),
        (3, second.number, 1, 5, False, "2026-03-02T10:00:00Z"),
    ]
    assert body["results"][0]["line_id"] == third.lines.get().pk
    assert {(e["covered_by"], e["purchase_order_reference"]) for e in body["results"]} == {("lead_time", "")}
    # The staff queue page (inventory/console/queue.py) gives the same answer, row for row.
    page = admin_client.get(reverse("admin:inventory_stockitem_queue_variant", args=[mug.pk]))
    assert [
        (
            e["order_number"],
            e["line_id"],
            e["units_ahead"],
            e["projected_earliest_date"],
            e["projected_date"],
            e["expected_date"],
        )
        for e in body["results"]
    ] == [
        (
            row["entry"].order_number,
            row["entry"].line_id,
            row["entry"].units_ahead,
            str(row["entry"].projected_range.earliest),
            str(row["entry"].projected_date),
            str(row["entry"].expected_date),
        )
        for row in page.context["rows"]
    ]
    # Later in the queue, later or the same date: the lead-time estimate.
    assert [e["projected_date"] for e in body["results"]] == ["2026-03-30", "2026-03-30", "2026-03-30"]


def test_the_queue_pages_by_position(api_client_with, clock):
    _, mug = lantern_and_mug()
    orders = []
    for n in range(3):
        clock.move_to(f"2026-03-02T1{n}:00:00Z")
        orders.append(place([(mug, 1)], email=f"c{n}@example.com").order)
    client = api_client_with("orders")
    url = f"/api/v1/variants/{mug.pk}/backorder-queue/"

    page_two = client.get(f"{url}?page=2&page_size=2").json()
    page_one = client.get(f"{url}?page_size=2").json()

    assert [(e["position"], e["order_number"], e["units_ahead"]) for e in page_two["results"]] == [
        (3, orders[2].number, 2)
    ]
    assert (page_two["count"], page_two["next"]) == (3, None)
    assert page_two["previous"] == f"http://testserver{url}?page_size=2"
    assert [e["order_number"] for e in page_one["results"]] == [orders[0].number, orders[1].number]
    assert page_one["next"] == f"http://testserver{url}?page=2&page_size=2"


@pytest.mark.parametrize("query", ["page=0", "page_size=201", "page=one", "position=3"])
def test_a_bad_queue_parameter_is_a_400(api_client_with, query):
    variant = VariantFactory()

    response = api_client_with("orders").get(f"/api/v1/variants/{variant.pk}/backorder-queue/?{query}")

    assert (response.status_code, response["Content-Type"]) == (400, "application/problem+json")
    assert list(response.json()["errors"]) == [query.split("=")[0]]


@pytest.mark.parametrize("variant_id", [987654, 2**63, 10**30])
def test_the_queue_of_an_unknown_variant_is_a_404(api_client_with, variant_id):
    response = api_client_with("orders").get(f"/api/v1/variants/{variant_id}/backorder-queue/")

    assert (response.status_code, response.json()["detail"]) == (404, "No such variant.")


def test_the_queue_costs_the_same_queries_for_1_or_50_lines(api_client_with):
    variant = VariantFactory()
    allow_backorders(variant)
    placed = OrderFactory().placed_at
    for n in range(55):
        OrderLineFactory(variant=variant, quantity=1 + n % 3, order__placed_at=placed + timedelta(minutes=n))
    client = api_client_with("orders")
    url = f"/api/v1/variants/{variant.pk}/backorder-queue/"

    one, page_of_one = queries_of(client, f"{url}?page_size=1")
    fifty, page_of_fifty = queries_of(client, f"{url}?page_size=50")

    assert (len(page_of_one["results"]), len(page_of_fifty["results"]), page_of_fifty["count"]) == (1, 50, 55)
    assert page_of_fifty["units_waiting"] == sum(
        OrderLine.objects.values_list("quantity_backordered", flat=True)
    )
    # The key (1); availability: the shop's closures, the stock and waiting units, the purchase orders,
    # in one statement (1); the waiting lines with their running sum (1), their count (1).
    assert (one, fifty) == (4, 4)
