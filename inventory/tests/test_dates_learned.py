"""What the projection counts on from a supplier's record (docs/dates.md): a moved date is trusted as
far as the supplier's moved dates came true, a short supplier is counted on for what it usually
brings, a lead-time date carries the variant's supplier's lateness, and the variant's supplier is the
replenishment report's."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from inventory.console.reports import replenishment_rows
from inventory.models import PurchaseOrderStatus
from inventory.selectors import availability_for_variant, availability_for_variants
from inventory.selectors.suppliers import SupplierHabits, purchase_order_incoming, supplier_habits
from inventory.services import (
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_set_expected_date,
)
from inventory.tests.factories import PurchaseOrderLineFactory, SupplierFactory, WarehouseFactory
from orders.tests.helpers import allow_backorders
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

START = date(2026, 3, 2)  # a Monday


def at(day: date):
    return time_machine.travel(datetime.combine(day, time(12, 0), tzinfo=UTC), tick=False)


def habits(**fields) -> SupplierHabits:
    base = dict(
        supplier_id=1,
        sample=10,
        on_time_rate=0.5,
        late_p50_days=3,
        late_p90_days=9,
        fill_rate=1.0,
        learned=True,
    )
    return SupplierHabits(**{**base, **fields})


def incoming(h: SupplierHabits, *, expected, at_order, ordered=10, received=0):
    return purchase_order_incoming(
        habits=h,
        purchase_order_id=1,
        expected=expected,
        promised_at_order=at_order,
        ordered=ordered,
        received=received,
    )


def test_a_date_never_moved_counts_on_the_suppliers_lateness_since_its_orders(settings):
    h = habits(late_samples=(0, 1, 3, 3, 9), late_after_change=(0, 0, 0, 0, 1))

    inc = incoming(h, expected=date(2026, 4, 1), at_order=date(2026, 4, 1))

    assert inc.late_samples == (0, 1, 3, 3, 9)
    assert (inc.late_days("earliest"), inc.late_days("confident")) == (3, 9)


def test_a_moved_date_counts_on_how_the_suppliers_moved_dates_came_true(settings):
    settings.SUPPLIER_DEFAULT_LATE_P50_DAYS, settings.SUPPLIER_DEFAULT_LATE_P90_DAYS = 2, 7
    h = habits(late_samples=(0, 1, 3, 3, 9), late_after_change=(0, 0, 0, 0, 1))

    inc = incoming(h, expected=date(2026, 4, 8), at_order=date(2026, 4, 1))
    assert (inc.late_days("earliest"), inc.late_days("confident")) == (0, 1)

    # Too few moved dates on record yet: the shop's defaults
    inc = incoming(habits(late_samples=(0, 1, 3, 3, 9)), expected=date(2026, 4, 8), at_order=date(2026, 4, 1))
    assert (inc.late_days("earliest"), inc.late_days("confident")) == (2, 7)


def test_a_short_supplier_is_counted_on_for_its_usual_share_less_what_came():
    h = habits(fill_p50=0.8, fill_p10=0.62)

    inc = incoming(h, expected=date(2026, 4, 1), at_order=date(2026, 4, 1), ordered=10)
    assert (inc.counted("earliest"), inc.counted("confident"), inc.counted("stated")) == (8, 6, 10)

    inc = incoming(h, expected=date(2026, 4, 1), at_order=date(2026, 4, 1), ordered=10, received=7)
    assert (inc.quantity, inc.counted("earliest"), inc.counted("confident")) == (3, 1, 0)

    inc = incoming(habits(), expected=date(2026, 4, 1), at_order=date(2026, 4, 1), ordered=10)
    assert (inc.counted("earliest"), inc.counted("confident")) == (10, 10)  # a full deliverer: every unit


def ordered(supplier, warehouse, n: int, *, fill: float | None = 1.0, late: int = 0):
    """Order n, placed START + 7n days for 14 days later; `fill` of 10 units received `late` days after
    it (then closed short), or nothing received (None)."""
    placed = START + timedelta(days=7 * n)
    with at(placed):
        po = purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=warehouse.pk,
            reference=f"PO-{supplier.pk}-{n}",
            lines={VariantFactory().pk: 10},
            expected_date=placed + timedelta(days=14),
            status=PurchaseOrderStatus.ORDERED,
        )
    if fill is not None:
        line = po.lines.get()
        with at(placed + timedelta(days=14 + late)):
            purchase_order_receive(purchase_order_id=po.pk, quantities={line.pk: round(10 * fill)})
            if fill < 1:
                purchase_order_cancel(purchase_order_id=po.pk)
    return po


def test_the_usual_share_is_learned_from_closed_orders_only():
    supplier, warehouse = SupplierFactory(), WarehouseFactory()
    for n, fill in enumerate([0.6, 0.7, 0.8, 0.9, 1.0]):
        ordered(supplier, warehouse, n, fill=fill)
    ordered(supplier, warehouse, 5, fill=None)  # open, past its date on the day asked: late, not short

    h = supplier_habits([supplier.pk], today=START + timedelta(days=60))[supplier.pk]

    assert (h.fill_p50, h.fill_p10) == (0.8, 0.6)
    assert h.fill_rate == pytest.approx(40 / 60)  # the staff figure counts the open one as nothing yet


def test_a_lead_time_date_carries_the_variants_suppliers_lateness(settings):
    settings.SUPPLIER_DEFAULT_LATE_P50_DAYS, settings.SUPPLIER_DEFAULT_LATE_P90_DAYS = 2, 7
    warehouse = WarehouseFactory()
    punctual, late = SupplierFactory(), SupplierFactory()
    for n in range(5):
        ordered(punctual, warehouse, n)
        ordered(late, warehouse, n, late=7)
    on_time, week_late, unknown = VariantFactory(), VariantFactory(), VariantFactory()
    for variant, supplier in ((on_time, punctual), (week_late, late)):
        allow_backorders(variant, lead_time_days=10)
        PurchaseOrderLineFactory(
            variant=variant, purchase_order__supplier=supplier, purchase_order__status="received"
        )
    allow_backorders(unknown, lead_time_days=10)

    today = date(2026, 6, 1)  # a Monday
    with at(today):
        answers = availability_for_variants(variant_ids=[on_time.pk, week_late.pk, unknown.pk])

    def span(variant):
        r = answers[variant.pk].expected_range
        return r.earliest, r.confident

    assert span(on_time) == (date(2026, 6, 11), date(2026, 6, 11))  # today + 10 days, on time
    assert span(week_late) == (date(2026, 6, 18), date(2026, 6, 18))  # + 7 days late, always
    assert span(unknown) == (date(2026, 6, 15), date(2026, 6, 18))  # never ordered: the shop's 2 and 7
    assert answers[unknown.pk].supplier_id is None


def test_a_variants_supplier_is_the_replenishment_reports():
    """The availability SQL's supplier column and the replenishment report's ORM subquery are one rule
    (the variant's most recent purchase order that is not cancelled; drafts count)."""
    warehouse = WarehouseFactory()
    a, b, c = SupplierFactory(), SupplierFactory(), SupplierFactory()
    moved, cancelled_last, drafted, never = (VariantFactory() for _ in range(4))
    with at(START):
        PurchaseOrderLineFactory(
            variant=moved, purchase_order__supplier=a, purchase_order__warehouse=warehouse
        )
        PurchaseOrderLineFactory(variant=cancelled_last, purchase_order__supplier=a)
    with at(START + timedelta(days=1)):
        PurchaseOrderLineFactory(
            variant=moved, purchase_order__supplier=b, purchase_order__warehouse=warehouse
        )
        last = PurchaseOrderLineFactory(variant=cancelled_last, purchase_order__supplier=b)
        purchase_order_cancel(purchase_order_id=last.purchase_order_id)
        PurchaseOrderLineFactory(variant=drafted, purchase_order__supplier=c, purchase_order__status="draft")
    variants = [moved, cancelled_last, drafted, never]

    answers = availability_for_variants(variant_ids=[v.pk for v in variants])
    report = {row.variant_id: row.supplier_id for row in replenishment_rows(now=timezone.now())}

    assert [answers[v.pk].supplier_id for v in variants] == [b.pk, a.pk, c.pk, None]
    assert [report[v.pk] for v in variants] == [b.pk, a.pk, c.pk, None]


def test_a_suppliers_new_date_past_its_usual_lateness_is_trusted_as_its_moved_dates_were(settings):
    """End to end: a supplier whose moved dates always come true moves a purchase order a week on; the
    waiting unit's range is the new date itself, not the new date padded again by the old lateness."""
    settings.SUPPLIER_DEFAULT_LATE_P50_DAYS, settings.SUPPLIER_DEFAULT_LATE_P90_DAYS = 2, 7
    supplier, warehouse = SupplierFactory(), WarehouseFactory()
    for n in range(5):  # each moved a week on, and then on that day
        po = ordered(supplier, warehouse, n, fill=None)
        with at(START + timedelta(days=7 * n + 10)):
            purchase_order_set_expected_date(
                purchase_order_id=po.pk, expected_date=po.expected_date + timedelta(days=7)
            )
        with at(START + timedelta(days=7 * n + 21)):
            purchase_order_receive(purchase_order_id=po.pk)
    tent = VariantFactory()
    allow_backorders(tent, lead_time_days=30)
    with at(date(2026, 6, 1)):
        po = purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=warehouse.pk,
            reference="PO-NEW",
            lines={tent.pk: 5},
            expected_date=date(2026, 6, 10),
            status=PurchaseOrderStatus.ORDERED,
        )
        before = availability_for_variant(variant_id=tent.pk).expected_range
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=date(2026, 6, 17))
        after = availability_for_variant(variant_id=tent.pk).expected_range

    # Always 7 days late against its first dates: 10 June + 7 = Wednesday 17 June at both ends
    assert (before.earliest, before.confident) == (date(2026, 6, 17), date(2026, 6, 17))
    # Moved to the 17th, and its moved dates came true: the 17th, not the 24th
    assert (after.earliest, after.confident) == (date(2026, 6, 17), date(2026, 6, 17))
