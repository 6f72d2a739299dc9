from datetime import date

import pytest
from django.db import IntegrityError, transaction

from inventory.models import (
    MovementReason,
    PurchaseOrderDateChange,
    PurchaseOrderStatus,
    StockItem,
    StockMovement,
)
from inventory.services import (
    InsufficientStock,
    PurchaseOrderError,
    StockError,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_mark_ordered,
    purchase_order_receive,
    purchase_order_set_expected_date,
    stock_adjust,
    stock_count,
)
from inventory.tests.factories import (
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    SupplierFactory,
    WarehouseFactory,
)
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def spy_stock_arrived(monkeypatch):
    calls = []
    monkeypatch.setattr("inventory.tasks.stock_arrived.delay_on_commit", lambda **kw: calls.append(kw))
    return calls


def levels(variant, warehouse):
    item = StockItem.objects.get(variant=variant, warehouse=warehouse)
    return item.on_hand, item.allocated


def test_adjust_up_writes_ledger_and_announces_stock(spy_stock_arrived):
    variant, warehouse = VariantFactory(), WarehouseFactory()

    movement = stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=7, note="found")

    assert levels(variant, warehouse) == (7, 0)
    assert (movement.on_hand_delta, movement.allocated_delta, movement.reason) == (7, 0, "adjusted")
    assert spy_stock_arrived == [{"variant_ids": [variant.pk]}]


def test_adjust_down_refused_below_allocated_changes_nothing(spy_stock_arrived):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=5)
    StockItem.objects.filter(variant=variant).update(allocated=3)  # as if 3 were promised to orders

    with pytest.raises(InsufficientStock, match="at most 2 can be removed"):
        stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-3)

    assert levels(variant, warehouse) == (5, 3)
    assert StockMovement.objects.count() == 1


def test_adjust_down_within_free_stock():
    variant, warehouse = VariantFactory(), WarehouseFactory()
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=5)

    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-5)

    assert levels(variant, warehouse) == (0, 0)
    assert sorted(StockMovement.objects.values_list("on_hand_delta", flat=True)) == [-5, 5]


@pytest.mark.parametrize("change", [0, 1.5, "3"])
def test_adjust_rejects_zero_and_non_integers(change):
    variant, warehouse = VariantFactory(), WarehouseFactory()

    with pytest.raises(StockError):
        stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=change)

    assert StockMovement.objects.count() == 0


def test_adjust_rejects_unknown_variant():
    with pytest.raises(StockError, match="variant does not exist"):
        stock_adjust(variant_id=999999, warehouse_id=WarehouseFactory().pk, quantity_change=1)


def test_count_sets_on_hand_and_records_difference(spy_stock_arrived):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=10)

    movement = stock_count(variant_id=variant.pk, warehouse_id=warehouse.pk, counted=4)

    assert levels(variant, warehouse) == (4, 0)
    assert (movement.on_hand_delta, movement.reason) == (-6, MovementReason.COUNTED)
    assert stock_count(variant_id=variant.pk, warehouse_id=warehouse.pk, counted=4) is None


def test_count_below_allocated_is_refused():
    variant, warehouse = VariantFactory(), WarehouseFactory()
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=10)
    StockItem.objects.filter(variant=variant).update(allocated=6)

    with pytest.raises(InsufficientStock, match="6 units are set aside"):
        stock_count(variant_id=variant.pk, warehouse_id=warehouse.pk, counted=5)

    assert levels(variant, warehouse) == (10, 6)


def test_database_refuses_allocated_above_on_hand():
    variant, warehouse = VariantFactory(), WarehouseFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        StockItem.objects.create(variant=variant, warehouse=warehouse, on_hand=1, allocated=2)


def test_ledger_rows_cannot_be_changed():
    variant, warehouse = VariantFactory(), WarehouseFactory()
    movement = stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=1)

    with pytest.raises(TypeError):
        movement.save()
    with pytest.raises(TypeError):
        movement.delete()
    with pytest.raises(TypeError):
        StockMovement.objects.update(note="x")
    with pytest.raises(TypeError):
        StockMovement.objects.all().delete()


# --- purchase orders ---------------------------------------------------------------


@pytest.fixture
def po():
    po = PurchaseOrderFactory(status=PurchaseOrderStatus.ORDERED)
    PurchaseOrderLineFactory(purchase_order=po, quantity_ordered=10)
    PurchaseOrderLineFactory(purchase_order=po, quantity_ordered=4)
    return po


def test_receive_in_full(po, spy_stock_arrived):
    lines = list(po.lines.order_by("pk"))

    receipt = purchase_order_receive(purchase_order_id=po.pk)

    po.refresh_from_db()
    assert (po.status, receipt.units_received) == ("received", 14)
    assert levels(lines[0].variant, po.warehouse) == (10, 0)
    assert levels(lines[1].variant, po.warehouse) == (4, 0)
    assert sorted(StockMovement.objects.values_list("po_line_id", "on_hand_delta", "reason")) == [
        (lines[0].pk, 10, "received"),
        (lines[1].pk, 4, "received"),
    ]
    assert spy_stock_arrived == [{"variant_ids": sorted([lines[0].variant_id, lines[1].variant_id])}]


def test_receive_in_part_then_the_rest(po):
    first, second = po.lines.order_by("pk")

    purchase_order_receive(purchase_order_id=po.pk, quantities={first.pk: 6})
    po.refresh_from_db()
    assert po.status == "partially_received"

    purchase_order_receive(purchase_order_id=po.pk, quantities={first.pk: 4, second.pk: 4})
    po.refresh_from_db()
    first.refresh_from_db()
    assert (po.status, first.quantity_received) == ("received", 10)
    assert levels(first.variant, po.warehouse) == (10, 0)


@pytest.mark.parametrize(
    ("quantities", "message"),
    [
        ({"first": 0}, "positive whole number"),
        ({"first": -2}, "positive whole number"),
        ({"first": 11}, "only 10 outstanding"),
        ({"other": 1}, "is not part of"),
    ],
)
def test_receive_refuses_bad_quantities_and_writes_nothing(po, quantities, message):
    first = po.lines.order_by("pk").first()
    other = PurchaseOrderLineFactory()
    ids = {"first": first.pk, "other": other.pk}

    with pytest.raises(PurchaseOrderError, match=message):
        purchase_order_receive(purchase_order_id=po.pk, quantities={ids[k]: q for k, q in quantities.items()})

    first.refresh_from_db()
    po.refresh_from_db()
    assert (first.quantity_received, po.status) == (0, "ordered")
    assert StockMovement.objects.count() == 0
    assert StockItem.objects.filter(on_hand__gt=0).count() == 0


@pytest.mark.parametrize(
    ("status", "message"),
    [("cancelled", "is cancelled"), ("received", "already been received"), ("draft", "still a draft")],
)
def test_receive_refused_on_closed_or_draft_po(po, status, message):
    po.status = status
    po.save()

    with pytest.raises(PurchaseOrderError, match=message):
        purchase_order_receive(purchase_order_id=po.pk)

    assert StockMovement.objects.count() == 0


def test_create_mark_ordered_and_cancel(django_user_model):
    variant, supplier, warehouse = VariantFactory(), SupplierFactory(), WarehouseFactory()
    buyer, manager = (
        django_user_model.objects.create(email="buyer@example.com"),
        django_user_model.objects.create(email="manager@example.com"),
    )

    po = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=warehouse.pk, reference="PO-NEW", lines={variant.pk: 12}
    )
    assert (po.ordered_at, po.ordered_by, po.cancelled_at, po.cancelled_by) == (None, None, None, None)
    purchase_order_mark_ordered(purchase_order_id=po.pk, user_id=buyer.pk)
    purchase_order_cancel(purchase_order_id=po.pk, user_id=manager.pk)

    po.refresh_from_db()
    assert (po.status, po.lines.get().quantity_ordered) == ("cancelled", 12)
    assert (po.ordered_by, po.cancelled_by) == (buyer, manager)
    assert po.created_at <= po.ordered_at <= po.cancelled_at
    with pytest.raises(PurchaseOrderError, match="already cancelled"):
        purchase_order_cancel(purchase_order_id=po.pk)


def test_duplicate_reference_is_a_clear_error():
    variant, supplier, warehouse = VariantFactory(), SupplierFactory(), WarehouseFactory()
    kwargs = {
        "supplier_id": supplier.pk,
        "warehouse_id": warehouse.pk,
        "reference": "PO-1",
        "lines": {variant.pk: 1},
    }
    purchase_order_create(**kwargs)

    with pytest.raises(PurchaseOrderError, match="already exists"):
        purchase_order_create(**kwargs)


def test_expected_date_changes_are_kept_as_history(po, django_user_model):
    staff = django_user_model.objects.create_user("staff@example.com")
    po.expected_date = date(2026, 12, 1)
    po.save()

    purchase_order_set_expected_date(
        purchase_order_id=po.pk, expected_date=date(2026, 12, 9), user_id=staff.pk
    )
    unchanged = purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=date(2026, 12, 9))

    po.refresh_from_db()
    assert unchanged is None
    assert po.expected_date == date(2026, 12, 9)
    assert list(PurchaseOrderDateChange.objects.values_list("old_date", "new_date", "changed_by")) == [
        (date(2026, 12, 1), date(2026, 12, 9), staff.pk)
    ]


@pytest.mark.parametrize("how", ["created ordered", "draft marked ordered"])
def test_new_supply_brings_the_dates_of_waiting_lines_forward(
    how, django_user_model, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from orders.tests.helpers import allow_backorders, place

    variant = VariantFactory()
    allow_backorders(variant, lead_time_days=60)
    line = place([(variant, 2)]).order.lines.get()
    today = timezone.localdate()
    assert line.expected_date > today + timedelta(days=50)  # no supply yet: the lead time
    buyer = django_user_model.objects.create(email="buyer@example.com")
    soon = today + timedelta(days=5)
    kwargs = {
        "supplier_id": SupplierFactory().pk,
        "warehouse_id": WarehouseFactory().pk,
        "reference": "PO-SOON",
        "lines": {variant.pk: 10},
        "expected_date": soon,
        "user_id": buyer.pk,
    }

    with django_capture_on_commit_callbacks(execute=True):
        if how == "created ordered":
            po = purchase_order_create(**kwargs, status="ordered")
        else:
            draft = purchase_order_create(**kwargs)
            line.refresh_from_db()
            assert line.expected_date > today + timedelta(days=50)  # a draft promises nothing
            po = purchase_order_mark_ordered(purchase_order_id=draft.pk, user_id=buyer.pk)

    line.refresh_from_db()
    # The purchase order's date padded by its new supplier's lateness (the shop's default), on shipping
    # days (docs/dates.md): both ends stored
    from dataclasses import astuple

    from inventory.tests.promises import from_purchase_order

    assert (line.expected_earliest_date, line.expected_date) == astuple(from_purchase_order(soon))
    po.refresh_from_db()
    assert (po.status, po.ordered_by) == ("ordered", buyer)
    assert not line.delays.exists()  # an earlier date is not a delay
