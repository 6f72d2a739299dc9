"""The purchasing POSTs create, mark ordered and move the date (receive and cancel:
test_purchasing_receive.py). Each does what the admin's button does (same service, same effects), a
refusal is a 409 that wrote nothing, bad input a 400, and a retry with the same Idempotency-Key changes
nothing twice."""

from datetime import date

import pytest

from api.scopes import PURCHASING
from api.tests.conftest import idempotency_headers
from inventory.models import (
    PurchaseOrder,
    PurchaseOrderDateChange,
    PurchaseOrderStatus,
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
    # The key's acting account is recorded as the one who ordered it, as a staff member would be
    assert (po.status, po.promised_date_at_order, po.ordered_by_id) == (
        "ordered",
        date(2026, 3, 10),
        api.api_key.acting_user_id,
    )
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
        ("2026-03-10", "2026-03-24", "Port strike", "staff", api.api_key.acting_user.email)
    ]
    acting = api.api_key.acting_user.email
    assert acting.startswith("api-test-integration-") and acting.endswith(
        f"-{api.api_key.prefix}@api.invalid"
    )
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
