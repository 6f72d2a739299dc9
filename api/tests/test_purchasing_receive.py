"""Receive and cancel through the API, and who may write: what the admin's Receive page and Cancel button
do (same service, same effects), a refusal a 409 that received nothing, bad input a 400, a retried
receipt received once."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import IdempotentRequest
from api.scopes import PURCHASING, STOCK_WRITE
from api.tests.conftest import idempotency_headers
from inventory.models import PurchaseOrder, PurchaseOrderDateChange, StockItem, StockMovement
from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory
from shop.models import SubmissionKey

pytestmark = pytest.mark.django_db

LIST = "/api/v1/purchase-orders/"


@pytest.fixture
def api(api_client_with):
    return api_client_with(PURCHASING)


def post(client, path: str, body: dict | None = None, key: str | None = None):
    return client.post(path, body if body is not None else {}, format="json", **idempotency_headers(key))


def action(po, name: str) -> str:
    return f"{LIST}{po.pk}/{name}/"


def ordered_po(*quantities: int, **fields):
    po = PurchaseOrderFactory(expected_date=date(2026, 3, 10), **fields)
    for quantity in quantities:
        PurchaseOrderLineFactory(purchase_order=po, quantity_ordered=quantity)
    return po


def counts() -> tuple[int, int, int]:
    """Purchase orders, date changes, ledger rows: what a refused request must leave as it was."""
    return (
        PurchaseOrder.objects.count(),
        PurchaseOrderDateChange.objects.count(),
        StockMovement.objects.count(),
    )


# --- receive ---------------------------------------------------------------------------------------


def on_hand(po) -> list[int]:
    return [
        StockItem.objects.filter(variant_id=line.variant_id, warehouse_id=po.warehouse_id)
        .values_list("on_hand", flat=True)
        .first()
        or 0
        for line in po.lines.order_by("pk")
    ]


def test_receive_part_by_line_or_variant_then_all(api):
    po = ordered_po(10, 4)
    tent_line, stove_line = po.lines.order_by("pk")

    part = post(
        api,
        action(po, "receive"),
        {"lines": [{"line": tent_line.pk, "quantity": 3}, {"variant": stove_line.variant_id, "quantity": 4}]},
    )

    assert part.status_code == 200, part.content
    assert part.json()["status"] == "partially_received"
    assert [(line["quantity_received"], line["quantity_outstanding"]) for line in part.json()["lines"]] == [
        (3, 7),
        (4, 0),
    ]
    assert on_hand(po) == [3, 4]

    rest = api.post(action(po, "receive"), **idempotency_headers())  # no body: everything outstanding

    assert rest.status_code == 200
    assert rest.json()["status"] == "received"
    assert on_hand(po) == [10, 4]
    assert list(
        StockMovement.objects.order_by("pk").values_list("on_hand_delta", "reason", "po_line_id")
    ) == [
        (3, "received", tent_line.pk),
        (4, "received", stove_line.pk),
        (7, "received", tent_line.pk),
    ]


def test_a_retried_receive_receives_once(api):
    po = ordered_po(10)

    first = post(
        api,
        action(po, "receive"),
        {"lines": [{"variant": po.lines.get().variant_id, "quantity": 6}]},
        key="r1",
    )
    again = post(
        api,
        action(po, "receive"),
        {"lines": [{"variant": po.lines.get().variant_id, "quantity": 6}]},
        key="r1",
    )

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert StockMovement.objects.count() == 1
    assert on_hand(po) == [6]


def test_a_retry_after_its_answer_was_pruned_still_receives_once(api):
    # The first request's change committed long ago and its kept answer was pruned since
    # (API_IDEMPOTENCY_KEEP_DAYS): the retry meets the claimed submission key and receives nothing
    po = ordered_po(10)
    assert post(api, action(po, "receive"), {}, key="r2").status_code == 200
    IdempotentRequest.objects.filter(key="r2").delete()
    SubmissionKey.objects.update(created_at=timezone.now() - timedelta(days=3))

    retry = post(api, action(po, "receive"), {}, key="r2")

    assert retry.status_code == 409
    assert retry.json()["code"] == "idempotency_key_expired"
    assert StockMovement.objects.count() == 1
    assert on_hand(po) == [10]


@pytest.mark.parametrize(
    ("status", "quantity", "message"),
    [
        (
            "ordered",
            11,
            "{sku}: 11 received but only 10 outstanding. Over-receipt is not allowed; record extra units as a stock adjustment.",
        ),
        ("draft", 1, "{reference} is still a draft: mark it as ordered before receiving it."),
        ("cancelled", 1, "{reference} is cancelled: nothing can be received on it."),
    ],
)
def test_a_refused_receipt_is_a_409_with_the_services_message_and_receives_nothing(
    api, status, quantity, message
):
    po = ordered_po(10, status=status)
    line = po.lines.select_related("variant").get()

    response = post(api, action(po, "receive"), {"lines": [{"line": line.pk, "quantity": quantity}]})

    assert response.status_code == 409
    assert response.json()["detail"] == message.format(sku=line.variant.sku, reference=po.reference)
    line.refresh_from_db()
    assert line.quantity_received == 0
    assert counts() == (1, 0, 0)
    assert StockItem.objects.filter(on_hand__gt=0).count() == 0


def test_a_line_or_variant_of_another_order_is_refused(api):
    po, other = ordered_po(10), ordered_po(10)
    other_line = other.lines.get()

    by_line = post(api, action(po, "receive"), {"lines": [{"line": other_line.pk, "quantity": 1}]})
    by_variant = post(
        api, action(po, "receive"), {"lines": [{"variant": other_line.variant_id, "quantity": 1}]}
    )

    assert (by_line.status_code, by_variant.status_code) == (409, 409)
    assert by_line.json()["detail"] == f"Line {other_line.pk} is not part of {po.reference}."
    assert by_variant.json()["detail"] == f"Variant {other_line.variant_id} is not on this purchase order."
    assert StockMovement.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"all": True},
        {"lines": None},
        {"lines": "all"},
        {"lines": []},
        {"lines": [{"quantity": 1}]},
        {"lines": [{"line": 1, "variant": 1, "quantity": 1}]},
        {"lines": [{"line": 1, "quantity": -1}]},
        {"lines": [{"line": 1, "quantity": 0}]},
        {"lines": [{"line": 1, "quantity": 2**31}]},
        {"lines": [{"line": 10**30, "quantity": 1}]},
        {"lines": [{"line": 1, "qty": 1}]},
        {"lines": {"line": 1, "quantity": 1}},
    ],
)
def test_bad_input_to_receive_is_a_400(api, body):
    po = ordered_po(10)

    response = post(api, action(po, "receive"), body)

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert StockMovement.objects.count() == 0


@pytest.mark.parametrize("by", ["line", "variant"])
def test_one_line_named_twice_is_refused(api, by):
    po = ordered_po(10)
    line = po.lines.get()
    second = {"line": line.pk} if by == "line" else {"variant": line.variant_id}

    response = post(
        api, action(po, "receive"), {"lines": [{"line": line.pk, "quantity": 1}, {**second, "quantity": 2}]}
    )

    assert response.status_code == 409
    assert response.json()["detail"] == f"Line {line.pk} is named twice; name it once."
    assert StockMovement.objects.count() == 0


# --- cancel ----------------------------------------------------------------------------------------


def test_cancel_keeps_what_was_received_and_refuses_a_second_time(api):
    po = ordered_po(10)
    post(api, action(po, "receive"), {"lines": [{"line": po.lines.get().pk, "quantity": 4}]})

    cancelled = post(api, action(po, "cancel"), key="c1")
    replayed = post(api, action(po, "cancel"), key="c1")
    again = post(api, action(po, "cancel"))

    assert (cancelled.status_code, replayed.status_code, again.status_code) == (200, 200, 409)
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelled_at"] is not None
    assert again.json()["detail"] == f"{po.reference} is already cancelled."
    assert on_hand(po) == [4]


# --- who may write ---------------------------------------------------------------------------------


def test_a_key_without_the_purchasing_scope_cannot_write(api_client_with):
    po = ordered_po(10)
    stock_only = api_client_with(STOCK_WRITE)

    response = post(stock_only, action(po, "receive"), {})

    assert response.status_code == 403
    assert StockMovement.objects.count() == 0


@pytest.mark.parametrize(("group", "allowed"), [("Warehouse", True), ("Customer service", False)])
def test_staff_drive_purchase_orders_as_their_role_does_in_the_admin(django_user_model, group, allowed):
    # docs/staff.md "Roles": the warehouse receives purchase orders; customer service only reads them
    po = ordered_po(10)
    user = django_user_model.objects.create_user("sam@example.com", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    staff = APIClient(enforce_csrf_checks=False)
    staff.force_login(user)

    response = post(staff, action(po, "receive"), {})

    assert response.status_code == (200 if allowed else 403)
    assert list(StockMovement.objects.values_list("user_id", flat=True)) == ([user.pk] if allowed else [])
