"""POST /api/v1/stock/adjustments/ and /api/v1/stock/counts/: the admin's "Adjust stock" and "Record a stock
count", through inventory.services, once per Idempotency-Key, refused with the service's message."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from api.tests.conftest import idempotency_headers
from inventory.models import StockItem, StockMovement
from inventory.tests.factories import WarehouseFactory
from shop.models import SubmissionKey
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock(settings, time_machine):
    settings.TIME_ZONE = "UTC"
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def writer(api_client_with):
    return api_client_with("stock:write")


@pytest.fixture
def main():
    return WarehouseFactory(code="MAIN", name="Main")


@pytest.fixture
def kettle():
    return VariantFactory(sku="KET-1")


def level(variant, warehouse) -> tuple[int, int]:
    item = StockItem.objects.get(variant=variant, warehouse=warehouse)
    return item.on_hand, item.allocated


def adjust(client, key=None, **body):
    return client.post(reverse("api:stock-adjustment"), body, format="json", **idempotency_headers(key))


def count(client, key=None, **body):
    return client.post(reverse("api:stock-count"), body, format="json", **idempotency_headers(key))


def staff_in(group: str) -> APIClient:
    user = User.objects.create_user(
        group.lower().replace(" ", "-") + "@example.com", password="x", is_staff=True
    )
    user.groups.set([Group.objects.get(name=group)])
    client = APIClient()
    client.force_login(user)
    return client


# --- Adjustments -------------------------------------------------------------------------------


def test_an_adjustment_adds_units_writes_one_ledger_row_and_answers_both(writer, kettle, main):
    response = adjust(
        writer, variant=kettle.pk, warehouse=main.pk, quantity_change=5, note="Found in aisle 3"
    )

    assert response.status_code == 201, response.content
    movement = StockMovement.objects.get()
    assert response.json() == {
        "stock": {
            "id": movement.stock_item_id,
            "variant": {"id": kettle.pk, "sku": "KET-1"},
            "warehouse": {"id": main.pk, "code": "MAIN"},
            "on_hand": 5,
            "allocated": 0,
            "available": 5,
            "updated_at": "2026-11-21T12:00:00Z",
        },
        "ledger_entry": {
            "id": movement.pk,
            "created_at": "2026-11-21T12:00:00Z",
            "stock_item": movement.stock_item_id,
            "variant": {"id": kettle.pk, "sku": "KET-1"},
            "warehouse": {"id": main.pk, "code": "MAIN"},
            "reason": "adjusted",
            "reason_label": "Adjusted by staff",
            "on_hand_change": 5,
            "allocated_change": 0,
            "purchase_order": None,
            "order": None,
            "user": writer.api_key.acting_user.email,  # the key's acting account: "who did it"
            "note": "Found in aisle 3",
        },
    }
    assert level(kettle, main) == (5, 0)


def test_a_retried_adjustment_answers_the_same_and_changes_nothing_more(writer, kettle, main):
    first = adjust(
        writer, key="adj-1", variant=kettle.pk, warehouse=main.pk, quantity_change=5, reason="returned"
    )

    again = adjust(
        writer, key="adj-1", variant=kettle.pk, warehouse=main.pk, quantity_change=5, reason="returned"
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert StockMovement.objects.count() == 1
    assert SubmissionKey.objects.count() == 1
    assert level(kettle, main) == (5, 0)


def test_removing_units_set_aside_for_orders_is_a_409_with_the_services_message(writer, kettle, main):
    StockItem.objects.create(variant=kettle, warehouse=main, on_hand=4, allocated=3)

    response = adjust(writer, variant=kettle.pk, warehouse=main.pk, quantity_change=-2)

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == (
        "Cannot remove 2 of KET-1 at MAIN: 4 on hand, 3 set aside for orders, so at most 1 can be removed."
    )
    assert StockMovement.objects.count() == 0
    assert SubmissionKey.objects.count() == 0
    assert level(kettle, main) == (4, 3)


def test_removing_free_units_is_allowed(writer, kettle, main):
    StockItem.objects.create(variant=kettle, warehouse=main, on_hand=4, allocated=3)

    response = adjust(writer, variant=kettle.pk, warehouse=main.pk, quantity_change=-1, note="Damaged")

    assert response.status_code == 201
    assert response.json()["stock"]["available"] == 0
    assert response.json()["ledger_entry"]["on_hand_change"] == -1
    assert level(kettle, main) == (3, 3)


# --- Counts -----------------------------------------------------------------------------------------


def test_a_count_sets_on_hand_and_writes_one_counted_row(writer, kettle, main):
    StockItem.objects.create(variant=kettle, warehouse=main, on_hand=10, allocated=4)

    response = count(writer, variant=kettle.pk, warehouse=main.pk, counted=7, note="Shelf count")

    assert response.status_code == 201
    body = response.json()
    assert (body["stock"]["on_hand"], body["stock"]["allocated"], body["stock"]["available"]) == (7, 4, 3)
    movement = StockMovement.objects.get()
    assert body["ledger_entry"]["id"] == movement.pk
    assert (movement.reason, movement.on_hand_delta, movement.note) == ("counted", -3, "Shelf count")
    assert level(kettle, main) == (7, 4)


def test_a_count_that_matches_writes_nothing_and_says_so(writer, kettle, main):
    StockItem.objects.create(variant=kettle, warehouse=main, on_hand=10)

    response = count(writer, variant=kettle.pk, warehouse=main.pk, counted=10)

    assert response.status_code == 200
    assert response.json()["ledger_entry"] is None
    assert response.json()["stock"]["on_hand"] == 10
    assert StockMovement.objects.count() == 0


def test_a_count_below_the_units_set_aside_is_a_409_and_writes_nothing(writer, kettle, main):
    StockItem.objects.create(variant=kettle, warehouse=main, on_hand=10, allocated=4)

    response = count(writer, key="count-1", variant=kettle.pk, warehouse=main.pk, counted=3)

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "KET-1 at MAIN: 4 units are set aside for orders, so the count cannot be 3. Release those allocations first."
    )
    assert StockMovement.objects.count() == 0
    assert SubmissionKey.objects.count() == 0
    assert level(kettle, main) == (10, 4)
    # a refusal is not kept: the same key may be sent again once the count is right
    assert count(writer, key="count-1", variant=kettle.pk, warehouse=main.pk, counted=3).status_code == 409


def test_a_retried_count_answers_the_same_and_writes_nothing_more(writer, kettle, main):
    StockItem.objects.create(variant=kettle, warehouse=main, on_hand=10)
    first = count(writer, key="count-2", variant=kettle.pk, warehouse=main.pk, counted=12)

    again = count(writer, key="count-2", variant=kettle.pk, warehouse=main.pk, counted=12)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert StockMovement.objects.count() == 1
    assert level(kettle, main) == (12, 0)


# --- Bad requests --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity_change": 0}, "quantity_change"),
        ({"quantity_change": "two"}, "quantity_change"),
        ({"quantity_change": 1.5}, "quantity_change"),
        ({"quantity_change": 2**31}, "quantity_change"),
        ({"quantity_change": True}, "quantity_change"),
        ({"reason": "received"}, "reason"),  # not a reason staff may choose on "Adjust stock"
        ({"reason": "counted"}, "reason"),
        ({"note": "x" * 256}, "note"),
        ({"note": "bell\x07"}, "note"),
        ({"variant": 0}, "variant"),
        ({"warehouse": "MAIN"}, "warehouse"),
        ({"quantity": 2}, "quantity"),  # an unknown field is refused, not ignored
    ],
)
def test_bad_adjustments_are_400_problems_and_change_nothing(writer, kettle, main, changes, field):
    body = {"variant": kettle.pk, "warehouse": main.pk, "quantity_change": 2, **changes}

    response = adjust(writer, **body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [field]
    assert StockMovement.objects.count() == 0
    assert StockItem.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"counted": -1}, "counted"),
        ({"counted": 2**31}, "counted"),
        ({"counted": None}, "counted"),
        ({"reason": "counted"}, "reason"),  # a count's reason is always "counted"
        ({"quantity_change": 1}, "quantity_change"),
    ],
)
def test_bad_counts_are_400_problems_and_change_nothing(writer, kettle, main, changes, field):
    body = {"variant": kettle.pk, "warehouse": main.pk, "counted": 2, **changes}

    response = count(writer, **body)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert StockMovement.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"variant": 999_999}, "That variant does not exist."),
        ({"warehouse": 999_999}, "That warehouse does not exist."),
    ],
)
def test_an_unknown_variant_or_warehouse_is_the_services_refusal(writer, kettle, main, changes, message):
    response = adjust(writer, **{"variant": kettle.pk, "warehouse": main.pk, "quantity_change": 2, **changes})

    assert response.status_code == 409
    assert response.json()["detail"] == message
    assert StockMovement.objects.count() == 0
    assert SubmissionKey.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_on_hand_beyond_its_column_is_a_409_not_a_server_error(writer, kettle, main):
    StockItem.objects.create(variant=kettle, warehouse=main, on_hand=2**31 - 10)

    response = adjust(writer, variant=kettle.pk, warehouse=main.pk, quantity_change=100)

    if connection.vendor == "postgresql":  # SQLite's integers are wider: there it is simply added
        assert response.status_code == 409
        assert (
            response.json()["detail"]
            == "On hand would exceed 2,147,483,647 units, the most a stock level can hold."
        )
        assert StockMovement.objects.count() == 0
        assert level(kettle, main) == (2**31 - 10, 0)
    else:
        assert response.status_code == 201


def test_a_note_is_one_line(writer, kettle, main):
    response = adjust(writer, variant=kettle.pk, warehouse=main.pk, quantity_change=1, note="  two\r\nlines ")

    assert response.status_code == 201
    assert StockMovement.objects.get().note == "two lines"


@pytest.mark.parametrize("note", ["", "   "])
def test_an_empty_note_is_no_note(writer, kettle, main, note):
    response = adjust(writer, variant=kettle.pk, warehouse=main.pk, quantity_change=1, note=note)

    assert response.status_code == 201
    assert StockMovement.objects.get().note == ""


def test_a_body_that_is_not_an_object_is_a_400(writer):
    response = writer.post(reverse("api:stock-adjustment"), [1, 2], format="json", **idempotency_headers())

    assert response.status_code == 400
    assert StockMovement.objects.count() == 0


def test_an_adjustment_without_an_idempotency_key_is_refused(writer, kettle, main):
    response = writer.post(
        reverse("api:stock-adjustment"),
        {"variant": kettle.pk, "warehouse": main.pk, "quantity_change": 1},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"
    assert StockMovement.objects.count() == 0


# --- Who may write -------------------------------------------------------------------------------


def test_a_key_that_may_only_read_is_refused(api_client_with, kettle, main):
    response = adjust(
        api_client_with("catalog:read"), variant=kettle.pk, warehouse=main.pk, quantity_change=1
    )

    assert response.status_code == 403
    assert (
        response.json()["detail"] == "This key or account may not do this: it lacks the “stock:write” scope."
    )
    assert StockMovement.objects.count() == 0


def test_warehouse_staff_adjust_and_count_as_in_the_admin_under_their_name(kettle, main):
    client = staff_in("Warehouse")

    adjusted = adjust(client, variant=kettle.pk, warehouse=main.pk, quantity_change=6)
    counted = count(client, variant=kettle.pk, warehouse=main.pk, counted=5)

    assert (adjusted.status_code, counted.status_code) == (201, 201)
    assert adjusted.json()["ledger_entry"]["user"] == "warehouse@example.com"
    assert counted.json()["ledger_entry"]["user"] == "warehouse@example.com"
    assert list(
        StockMovement.objects.order_by("pk").values_list("reason", "on_hand_delta", "user__email")
    ) == [
        ("adjusted", 6, "warehouse@example.com"),
        ("counted", -1, "warehouse@example.com"),
    ]


def test_customer_service_may_read_stock_but_not_change_it(kettle, main):
    client = staff_in("Customer service")

    assert client.get(reverse("api:stock-list")).status_code == 200
    adjusted = adjust(client, variant=kettle.pk, warehouse=main.pk, quantity_change=6)
    counted = count(client, variant=kettle.pk, warehouse=main.pk, counted=5)

    assert (adjusted.status_code, counted.status_code) == (403, 403)
    assert adjusted["Content-Type"] == "application/problem+json"
    assert StockMovement.objects.count() == 0
    assert StockItem.objects.count() == 0
