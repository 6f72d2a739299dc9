"""Supplier habits (inventory/selectors/suppliers.py): on-time rate, lateness percentiles and fill rate
learned from purchase orders made, moved and received through the real services at fixed times.

Suppliers with known habits: punctual, always a week late, erratic, short deliveries, and a new one.
Every order is placed on a Monday at noon UTC with a promise 14 days later, unless said otherwise.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.apps import apps as global_apps
from django.db import connection

from inventory.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from inventory.selectors.suppliers import SupplierHabits, nearest_rank, supplier_habits
from inventory.services import (
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_mark_ordered,
    purchase_order_receive,
    purchase_order_set_expected_date,
)
from inventory.tests.factories import SupplierFactory, WarehouseFactory
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

START = date(2026, 3, 2)  # a Monday
TODAY = date(2026, 12, 1)


def at(day: date):
    return time_machine.travel(datetime.combine(day, time(12, 0), tzinfo=UTC), tick=False)


@pytest.fixture
def warehouse():
    return WarehouseFactory()


def order(
    supplier,
    warehouse,
    n: int,
    *,
    late: int | list[int] = 0,
    parts: list[int] | None = None,
    quantity: int = 10,
    close_short: bool = False,
) -> PurchaseOrder:
    """Order n: ordered START + 7n days, promised 14 days later; `parts` received `late` days after
    the promise (one lateness per part, or one for all); `close_short` cancels what is left."""
    ordered_on = START + timedelta(days=7 * n)
    promised = ordered_on + timedelta(days=14)
    with at(ordered_on):
        po = purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=warehouse.pk,
            reference=f"PO-{supplier.pk}-{n}",
            lines={VariantFactory().pk: quantity},
            expected_date=promised,
            status=PurchaseOrderStatus.ORDERED,
        )
    line = po.lines.get()
    parts = parts if parts is not None else [quantity]
    lates = late if isinstance(late, list) else [late] * len(parts)
    for qty, days in zip(parts, lates, strict=True):
        with at(promised + timedelta(days=days)):
            purchase_order_receive(purchase_order_id=po.pk, quantities={line.pk: qty})
    if close_short:
        with at(promised + timedelta(days=lates[-1] if lates else 0)):
            purchase_order_cancel(purchase_order_id=po.pk)
    return po


def habits_of(supplier) -> SupplierHabits:
    return supplier_habits([supplier.pk], today=TODAY)[supplier.pk]


def test_a_punctual_supplier_is_always_on_time():
    supplier, warehouse = SupplierFactory(), WarehouseFactory()
    for n, days in enumerate([0, 0, -2, 0, -1]):  # early counts as on time, 0 days late
        order(supplier, warehouse, n, late=days)

    assert habits_of(supplier) == SupplierHabits(
        supplier_id=supplier.pk,
        sample=5,
        on_time_rate=1.0,
        late_p50_days=0,
        late_p90_days=0,
        fill_rate=1.0,
        learned=True,
        late_samples=(0, 0, 0, 0, 0),
    )


def test_a_supplier_always_a_week_late_stays_late_against_its_first_promise_when_it_moves_the_date():
    supplier, warehouse = SupplierFactory(), WarehouseFactory()
    for n in range(6):
        po = order(supplier, warehouse, n, parts=[])
        promised = po.promised_date_at_order
        with at(promised - timedelta(days=3)):  # the supplier announces the slip before the date
            purchase_order_set_expected_date(
                purchase_order_id=po.pk, expected_date=promised + timedelta(days=7)
            )
        with at(promised + timedelta(days=7)):
            purchase_order_receive(purchase_order_id=po.pk)

    assert habits_of(supplier) == SupplierHabits(
        supplier_id=supplier.pk,
        sample=6,
        on_time_rate=0.0,
        late_p50_days=7,
        late_p90_days=7,
        fill_rate=1.0,
        learned=True,
        late_samples=(7,) * 6,
        late_after_change=(0,) * 6,  # each came on the date it moved to
    )
    assert set(PurchaseOrder.objects.values_list("promised_date_at_order", flat=True)) == {
        START + timedelta(days=7 * n + 14) for n in range(6)
    }


def test_an_erratic_supplier_gets_nearest_rank_percentiles():
    supplier, warehouse = SupplierFactory(), WarehouseFactory()
    lateness = [0, 1, 3, 10, 20, 0, 2, 5, 14, 30]  # sorted: 0 0 1 2 3 5 10 14 20 30
    for n, days in enumerate(lateness):
        order(supplier, warehouse, n, late=days)

    habits = habits_of(supplier)

    # p50: rank ceil(0.5 × 10) = 5 → 3 days; p90: rank ceil(0.9 × 10) = 9 → 20 days.
    assert (habits.late_p50_days, habits.late_p90_days) == (3, 20)
    assert habits.on_time_rate == 0.2
    assert habits.sample == 10
    assert habits.learned is True


def test_an_order_received_in_parts_is_as_late_as_its_last_part():
    supplier, warehouse = SupplierFactory(), WarehouseFactory()
    for n in range(5):
        order(supplier, warehouse, n, parts=[6, 4], late=[0, 4])

    habits = habits_of(supplier)

    assert (habits.on_time_rate, habits.late_p50_days, habits.late_p90_days) == (0.0, 4, 4)
    assert habits.fill_rate == 1.0


def test_short_deliveries_show_in_the_fill_rate_and_cancelled_before_arrival_does_not():
    supplier, warehouse = SupplierFactory(), WarehouseFactory()
    for n in range(5):  # 8 of 10 arrive on time, the rest is cancelled: closed short
        order(supplier, warehouse, n, parts=[8], close_short=True)
    open_short = order(supplier, warehouse, 5, parts=[5])  # 5 of 10, still open, past due by TODAY
    order(
        supplier, warehouse, 6, parts=[], close_short=True
    )  # cancelled before anything came: the shop's call
    not_due = order(supplier, warehouse, 7, parts=[])
    with at(START):
        purchase_order_set_expected_date(
            purchase_order_id=not_due.pk, expected_date=TODAY + timedelta(days=3)
        )

    habits = habits_of(supplier)

    assert open_short.lines.get().quantity_received == 5
    # (5 × 8 + 5) / (5 × 10 + 10): the open order past due counts what has come so far.
    assert habits.fill_rate == 45 / 60
    assert habits.sample == 6  # orders with a receipt
    assert (habits.on_time_rate, habits.late_p50_days, habits.late_p90_days) == (1.0, 0, 0)


def test_an_open_order_with_nothing_received_lowers_the_fill_rate_once_it_is_past_due():
    supplier, warehouse = SupplierFactory(), WarehouseFactory()
    order(supplier, warehouse, 0)
    po = order(supplier, warehouse, 1, parts=[])
    due = po.expected_date

    assert supplier_habits([supplier.pk], today=due)[supplier.pk].fill_rate == 1.0  # due today: not yet
    assert supplier_habits([supplier.pk], today=due + timedelta(days=1))[supplier.pk].fill_rate == 0.5


def test_a_new_supplier_uses_the_shop_default_and_says_it_is_learning(settings):
    settings.SUPPLIER_DEFAULT_LATE_P50_DAYS, settings.SUPPLIER_DEFAULT_LATE_P90_DAYS = 2, 7
    new, learning, warehouse = SupplierFactory(), SupplierFactory(), WarehouseFactory()
    for n, days in enumerate([10, 12, 0]):
        order(learning, warehouse, n, late=days)

    habits = supplier_habits([new.pk, learning.pk], today=TODAY)

    assert habits[new.pk] == SupplierHabits(
        supplier_id=new.pk,
        sample=0,
        on_time_rate=None,
        late_p50_days=2,
        late_p90_days=7,
        fill_rate=None,
        learned=False,
    )
    assert habits[learning.pk] == SupplierHabits(
        supplier_id=learning.pk,
        sample=3,
        on_time_rate=1 / 3,
        late_p50_days=2,
        late_p90_days=7,
        fill_rate=1.0,
        learned=False,
    )


def test_the_minimum_sample_and_the_default_come_from_settings(settings):
    settings.SUPPLIER_MIN_SAMPLE = 3
    settings.SUPPLIER_DEFAULT_LATE_P50_DAYS, settings.SUPPLIER_DEFAULT_LATE_P90_DAYS = 5, 1
    supplier, new, warehouse = SupplierFactory(), SupplierFactory(), WarehouseFactory()
    for n, days in enumerate([10, 12, 0]):
        order(supplier, warehouse, n, late=days)

    habits = supplier_habits([supplier.pk, new.pk], today=TODAY)

    assert (
        habits[supplier.pk].learned,
        habits[supplier.pk].late_p50_days,
        habits[supplier.pk].late_p90_days,
    ) == (
        True,
        10,
        12,
    )
    assert (habits[new.pk].late_p50_days, habits[new.pk].late_p90_days) == (5, 5)  # p90 never below p50


def test_every_asked_id_gets_an_entry_in_one_query_however_many_suppliers(django_assert_num_queries):
    warehouse = WarehouseFactory()
    one = SupplierFactory()
    order(one, warehouse, 0)
    with django_assert_num_queries(1):
        assert list(supplier_habits([one.pk], today=TODAY)) == [one.pk]

    many = [SupplierFactory() for _ in range(4)]
    for i, supplier in enumerate(many):
        for n in range(i + 1):
            order(supplier, warehouse, n, late=n, parts=[5, 5])
    asked = [one.pk, *(s.pk for s in many), 999_999]
    with django_assert_num_queries(1):
        habits = supplier_habits(asked, today=TODAY)

    assert sorted(habits) == sorted(asked)
    assert habits[999_999].sample == 0
    assert [habits[s.pk].sample for s in many] == [1, 2, 3, 4]
    with django_assert_num_queries(0):
        assert supplier_habits([]) == {}


def test_drafts_promise_nothing_and_marking_ordered_records_the_promise():
    supplier, warehouse = SupplierFactory(), WarehouseFactory()
    with at(START):
        po = purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=warehouse.pk,
            reference="PO-D",
            lines={VariantFactory().pk: 4},
            expected_date=START + timedelta(days=10),
        )
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=START + timedelta(days=12))
    assert PurchaseOrder.objects.get(pk=po.pk).promised_date_at_order is None
    with at(START + timedelta(days=1)):
        purchase_order_mark_ordered(purchase_order_id=po.pk)
    with at(START + timedelta(days=2)):
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=START + timedelta(days=20))
    assert PurchaseOrder.objects.get(pk=po.pk).promised_date_at_order == START + timedelta(days=12)


def test_an_order_placed_without_a_date_is_measured_against_the_first_date_given():
    supplier, warehouse = SupplierFactory(), WarehouseFactory()
    with at(START):
        po = purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=warehouse.pk,
            reference="PO-N",
            lines={VariantFactory().pk: 4},
            status=PurchaseOrderStatus.ORDERED,
        )
    with at(START + timedelta(days=2)):
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=START + timedelta(days=9))
    with at(START + timedelta(days=4)):
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=START + timedelta(days=15))
    with at(START + timedelta(days=12)):
        purchase_order_receive(purchase_order_id=po.pk)

    po.refresh_from_db()
    assert po.promised_date_at_order == START + timedelta(days=9)
    habits = habits_of(supplier)
    assert (habits.sample, habits.on_time_rate) == (1, 0.0)


def test_the_migration_recovers_the_promise_from_the_date_history():
    """inventory/0013 fills `promised_date_at_order` of existing orders from their date history."""
    migration = __import__(
        "inventory.migrations.0013_purchase_order_promised_date_at_order", fromlist=["fill"]
    )
    supplier, warehouse = SupplierFactory(), WarehouseFactory()
    moved = order(supplier, warehouse, 0, parts=[])
    with at(START + timedelta(days=3)):
        purchase_order_set_expected_date(purchase_order_id=moved.pk, expected_date=START + timedelta(days=30))
    with at(START + timedelta(days=4)):
        purchase_order_set_expected_date(purchase_order_id=moved.pk, expected_date=START + timedelta(days=40))
    with at(START + timedelta(days=7)):
        dateless = purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=warehouse.pk,
            reference="PO-N",
            lines={VariantFactory().pk: 4},
            status=PurchaseOrderStatus.ORDERED,
        )
    with at(START + timedelta(days=12)):
        purchase_order_set_expected_date(
            purchase_order_id=dateless.pk, expected_date=START + timedelta(days=50)
        )
    draft = PurchaseOrder.objects.create(
        supplier=supplier, warehouse=warehouse, reference="PO-DRAFT", expected_date=START
    )
    PurchaseOrderLine.objects.create(purchase_order=draft, variant=VariantFactory(), quantity_ordered=1)
    PurchaseOrder.objects.update(promised_date_at_order=None)

    class Editor:
        connection = connection

    migration.fill(global_apps, Editor())

    promised = dict(PurchaseOrder.objects.values_list("reference", "promised_date_at_order"))
    assert promised == {
        moved.reference: START + timedelta(days=14),  # before the first change after ordering
        dateless.reference: START + timedelta(days=50),  # no date at ordering: the first one given
        "PO-DRAFT": None,
    }


def test_nearest_rank():
    assert [nearest_rank([5], p) for p in (50, 90)] == [5, 5]
    assert [nearest_rank([4, 1, 3, 2], p) for p in (25, 50, 75, 90, 100)] == [1, 2, 3, 4, 4]
