"""The purchasing POSTs: create, mark ordered, move the date, receive, cancel. Each does what the admin's
button does (same service, same effects), a refusal is a 409 that wrote nothing, bad input a 400, and
a retry with the same Idempotency-Key changes nothing twice."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import IdempotentRequest
from api.scopes import PURCHASING, STOCK_WRITE
from api.tests.conftest import idempotency_headers
from inventory.models import (
    PurchaseOrder,
    PurchaseOrderDateChange,
    PurchaseOrderStatus,
    StockItem,
    StockMovement,
)
from inventory.tests.factories import (
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    SupplierFactory,
    WarehouseFactory,
)
from notifications.models import Notification, NotificationKind
from shop.models import SubmissionKey
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/purchase-orders/"


@pytest.fixture
def api(api_client_with):
    return api_client_with(PURCHASING)


def post(client, path: str, body: dict | None = None, key: str | None = None):
    return client.post(path, body if body is not None else {}, format="json", **idempotency_headers(key))


def action(po, name: str) -> str:
    return f"{LIST}{po.pk}/{name}/"


def ordered_po(*quantities: int, expected=date(2026, 3, 10), **fields):
    po = PurchaseOrderFactory(expected_date=expected, **fields)
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


# --- create ----------------------------------------------------------------------------------------


def test_create_makes_a_draft_with_its_lines_as_the_admin_does(api):
    supplier, warehouse = SupplierFactory(), WarehouseFactory()
    tent, stove = VariantFactory(sku="TENT-1"), VariantFactory(sku="STOVE-1")

    response = post(
        api,
        LIST,
        {
            "supplier": supplier.pk,
            "warehouse": warehouse.pk,
            "reference": "  ERP-1001 ",
            "expected_date": "2026-03-20",
            "notes": "From the ERP",
            "lines": [{"variant": tent.pk, "quantity": 10}, {"variant": stove.pk, "quantity": 4}],
        },
    )

    assert response.status_code == 201, response.content
    po = PurchaseOrder.objects.get()
    body = response.json()
    assert response["Location"] == f"{LIST}{po.pk}/"
    assert (body["id"], body["reference"], body["status"], body["expected_date"]) == (
        po.pk,
        "ERP-1001",
        "draft",
        "2026-03-20",
    )
    assert (po.reference, po.status, po.supplier_id, po.warehouse_id, po.notes, po.ordered_at) == (
        "ERP-1001",
        PurchaseOrderStatus.DRAFT,
        supplier.pk,
        warehouse.pk,
        "From the ERP",
        None,
    )
    assert [
        (line["sku"], line["quantity_ordered"], line["quantity_outstanding"]) for line in body["lines"]
    ] == [
        ("TENT-1", 10, 10),
        ("STOVE-1", 4, 4),
    ]
    assert body["date_history"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"supplier": "x"}, "supplier"),
        ({"warehouse": None}, "warehouse"),
        ({"reference": ""}, "reference"),
        ({"reference": "x" * 41}, "reference"),
        ({"reference": "PO\x07"}, "reference"),
        ({"expected_date": "2026-02-30"}, "expected_date"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "TENT-1", "quantity": 1}]}, "lines"),
        ({"lines": [{"quantity": 1}]}, "lines"),
        ({"lines": "TENT-1"}, "lines"),
        ({"lines": [{"variant": "TENT", "quantity": 1}]}, "lines"),
        ({"lines": [{"variant": 1, "quantity": 0}]}, "lines"),
        ({"lines": [{"variant": 1, "quantity": 2**31}]}, "lines"),
        ({"lines": [{"variant": 1, "quantity": 1.5}]}, "lines"),
        ({"lines": [{"variant": 1, "quantity": 1, "unit_cost": "2.00"}]}, "lines"),
        ({"lines": [{"variant": 1, "quantity": 1}, {"variant": "TENT"}]}, "lines"),
        ({"lines": [{"variant": 1, "quantity": 1}] * 501}, "lines"),
        ({"reference": "   "}, "reference"),
        ({"reference": 5}, "reference"),
        ({"notes": "a\x00b"}, "notes"),
        ({"status": "ordered"}, "status"),
        ({"quantiy": 3}, "quantiy"),
    ],
)
def test_bad_input_to_create_is_a_400_naming_the_field_and_writes_nothing(api, change, field):
    tent = VariantFactory(sku="TENT-1")
    body = {
        "supplier": SupplierFactory().pk,
        "warehouse": WarehouseFactory().pk,
        "reference": "ERP-1",
        "lines": [{"variant": tent.pk, "quantity": 2}],
        **change,
    }

    response = post(api, LIST, body)

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]
    assert counts() == (0, 0, 0)


def test_one_variant_on_two_lines_is_refused(api):
    tent = VariantFactory(sku="TENT-1")
    body = {
        "supplier": SupplierFactory().pk,
        "warehouse": WarehouseFactory().pk,
        "reference": "ERP-1",
        "lines": [{"variant": tent.pk, "quantity": 2}, {"variant": tent.pk, "quantity": 1}],
    }

    response = post(api, LIST, body)

    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Variant {tent.pk} is on two lines; a purchase order has one line per variant."
    )
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"supplier": 999999}, "There is no supplier 999999."),
        ({"warehouse": 999999}, "There is no warehouse 999999."),
        (
            {"lines": [{"variant": 999998, "quantity": 1}, {"variant": 999999, "quantity": 1}]},
            "There is no variant 999998, 999999.",
        ),
    ],
)
def test_a_supplier_warehouse_or_variant_that_does_not_exist_is_a_409_and_writes_nothing(api, change, detail):
    body = {
        "supplier": SupplierFactory().pk,
        "warehouse": WarehouseFactory().pk,
        "reference": "ERP-1",
        "lines": [{"variant": VariantFactory().pk, "quantity": 2}],
        **change,
    }

    response = post(api, LIST, body)

    assert response.status_code == 409
    assert response.json()["detail"] == detail
    assert counts() == (0, 0, 0)


def test_a_reference_already_used_is_a_409_with_the_services_message(api):
    existing = ordered_po(5, reference="ERP-1")
    body = {
        "supplier": existing.supplier_id,
        "warehouse": existing.warehouse_id,
        "reference": "ERP-1",
        "lines": [{"variant": VariantFactory().pk, "quantity": 2}],
    }

    response = post(api, LIST, body)

    assert response.status_code == 409
    assert response.json()["detail"] == "A purchase order with reference ERP-1 already exists."
    assert counts() == (1, 0, 0)


def test_a_retried_create_creates_one_order_and_answers_the_same(api):
    body = {
        "supplier": SupplierFactory().pk,
        "warehouse": WarehouseFactory().pk,
        "reference": "ERP-7",
        "lines": [{"variant": VariantFactory().pk, "quantity": 2}],
    }

    first = post(api, LIST, body, key="create-7")
    again = post(api, LIST, body, key="create-7")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert PurchaseOrder.objects.count() == 1


# --- mark ordered ----------------------------------------------------------------------------------


def test_mark_ordered_sends_the_draft_to_the_supplier_by_email_once(api):
    po = ordered_po(
        5, status=PurchaseOrderStatus.DRAFT, supplier=SupplierFactory(contact_email="sales@alpine.example")
    )

    first = post(api, action(po, "mark-ordered"), key="order-it")
    again = post(api, action(po, "mark-ordered"), key="order-it")

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["status"] == again.json()["status"] == "ordered"
    po.refresh_from_db()
    assert (po.status, po.promised_date_at_order, po.ordered_by_id) == ("ordered", date(2026, 3, 10), None)
    assert list(Notification.objects.values_list("kind", "recipient")) == [
        (NotificationKind.SUPPLIER_PO, "sales@alpine.example")
    ]
    # A second "mark ordered" with a new key is refused by the service: it is no longer a draft
    refused = post(api, action(po, "mark-ordered"))
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"{po.reference} is ordered, not a draft."
    assert Notification.objects.count() == 1


@pytest.mark.parametrize("name", ["mark-ordered", "cancel"])
def test_an_action_that_takes_no_fields_refuses_one(api, name):
    po = ordered_po(5, status=PurchaseOrderStatus.DRAFT)

    response = post(api, action(po, name), {"force": True})

    assert response.status_code == 400
    assert response.json()["errors"] == {"force": ["Unknown field."]}
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.DRAFT


@pytest.mark.parametrize("name", ["mark-ordered", "cancel", "expected-date", "receive"])
def test_an_action_on_an_order_that_does_not_exist_is_a_404(api, name):
    response = post(api, f"{LIST}999999/{name}/", {})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


# --- the expected date -----------------------------------------------------------------------------


def test_moving_the_date_keeps_it_in_the_history_with_the_reason(api):
    po = ordered_po(5)

    response = post(
        api, action(po, "expected-date"), {"expected_date": "2026-03-24", "reason": "Port\nstrike"}
    )

    assert response.status_code == 200
    history = response.json()["date_history"]
    assert [(h["old_date"], h["new_date"], h["reason"], h["source"], h["changed_by"]) for h in history] == [
        ("2026-03-10", "2026-03-24", "Port strike", "staff", None)
    ]
    po.refresh_from_db()
    assert po.expected_date == date(2026, 3, 24)
    # The same date again changes nothing (as saving the admin's page unchanged)
    assert post(api, action(po, "expected-date"), {"expected_date": "2026-03-24"}).status_code == 200
    assert PurchaseOrderDateChange.objects.count() == 1


def test_a_retried_date_move_is_applied_once(api):
    po = ordered_po(5)
    body = {"expected_date": None, "reason": "Supplier unsure"}

    first = post(api, action(po, "expected-date"), body, key="move-1")
    again = post(api, action(po, "expected-date"), body, key="move-1")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert PurchaseOrderDateChange.objects.count() == 1
    assert SubmissionKey.objects.filter(action="purchase_order_set_expected_date").count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"expected_date": "next week"},
        {"expected_date": "2026-03-24", "reason": "x" * 256},
        {"expected_date": "2026-03-24", "reason": 5},
        {"expected_date": "2026-03-24", "why": "late"},
    ],
)
def test_a_bad_date_move_is_a_400(api, body):
    po = ordered_po(5)

    response = post(api, action(po, "expected-date"), body)

    assert response.status_code == 400, response.content
    assert counts() == (1, 0, 0)


def test_moving_the_date_of_a_received_order_is_a_409_and_changes_nothing(api):
    po = ordered_po(5, status=PurchaseOrderStatus.RECEIVED)

    response = post(api, action(po, "expected-date"), {"expected_date": "2026-04-01", "reason": "late"})

    assert response.status_code == 409
    assert response.json()["detail"] == f"{po.reference} is received; its date no longer matters."
    po.refresh_from_db()
    assert po.expected_date == date(2026, 3, 10)
    assert counts() == (1, 0, 0)
    assert SubmissionKey.objects.count() == 0  # rolled back with the refused change: a fixed retry may go


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
    user = django_user_model.objects.create_user("sam", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    staff = APIClient(enforce_csrf_checks=False)
    staff.force_login(user)

    response = post(staff, action(po, "receive"), {})

    assert response.status_code == (200 if allowed else 403)
    assert list(StockMovement.objects.values_list("user_id", flat=True)) == ([user.pk] if allowed else [])
