"""Low-stock alerts: one email per crossing to or below the threshold, reset when stock rises above it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from inventory.services import stock_adjust
from inventory.tests.factories import BackorderPolicyFactory, WarehouseFactory
from notifications.models import LowStockState, Notification
from notifications.services import low_stock_check, low_stock_sweep
from notifications.services.alerts import LOW_STOCK_SWEEP_EVERY, LOW_STOCK_SWEEP_WINDOW
from notifications.tasks import check_low_stock, sweep_low_stock
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def staff(settings):
    settings.STAFF_ALERT_EMAILS = ["stock@shop.example"]
    settings.INVENTORY_LOW_STOCK_THRESHOLD = 5


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def variant(warehouse):
    variant = VariantFactory(sku="MUG-01")
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=20)
    return variant


def change_and_check(variant, warehouse, change, capture):
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=change)
    with capture(execute=True):
        return check_low_stock.apply(kwargs={"variant_ids": [variant.pk]}).get()


def test_crossing_down_staying_low_rising_and_falling_again(
    variant, warehouse, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    assert change_and_check(variant, warehouse, -1, capture) == []  # 19 left: above the threshold
    assert len(mail.outbox) == 0

    # Falls to the threshold: one email.
    assert change_and_check(variant, warehouse, -14, capture) == [variant.pk]  # 5 left
    assert [m.subject for m in mail.outbox] == ["Low stock: MUG-01 has 5 left"]
    assert mail.outbox[0].to == ["stock@shop.example"]

    # Stays low: nothing more.
    assert change_and_check(variant, warehouse, -2, capture) == []  # 3 left
    assert change_and_check(variant, warehouse, -3, capture) == []  # 0 left
    assert len(mail.outbox) == 1

    # Rises above, then falls again: a second email.
    assert change_and_check(variant, warehouse, 10, capture) == []  # 10 left
    assert LowStockState.objects.get(variant=variant).is_low is False
    assert change_and_check(variant, warehouse, -6, capture) == [variant.pk]  # 4 left
    assert [m.subject for m in mail.outbox] == [
        "Low stock: MUG-01 has 5 left",
        "Low stock: MUG-01 has 4 left",
    ]
    assert sorted(Notification.objects.values_list("dedupe_key", flat=True)) == [
        f"low-stock:{variant.pk}:1:stock@shop.example",
        f"low-stock:{variant.pk}:2:stock@shop.example",
    ]
    state = LowStockState.objects.get(variant=variant)
    assert (state.is_low, state.crossings) == (True, 2)


def test_the_variant_policy_threshold_wins_over_the_default(variant, warehouse):
    BackorderPolicyFactory(variant=variant, mode="deny", low_stock_threshold=12)
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-8)  # 12 left

    assert low_stock_check(variant_ids=[variant.pk]) == [variant.pk]
    assert Notification.objects.get().context == {"variant_id": variant.pk, "threshold": 12}


def test_every_staff_address_gets_one_email_per_crossing(variant, warehouse, settings):
    settings.STAFF_ALERT_EMAILS = ["stock@shop.example", "Boss@Shop.example"]
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-18)

    low_stock_check(variant_ids=[variant.pk, variant.pk])
    low_stock_check(variant_ids=[variant.pk])

    assert sorted(Notification.objects.values_list("recipient", flat=True)) == [
        "Boss@Shop.example",
        "stock@shop.example",
    ]


def test_discontinued_variants_never_alert(variant, warehouse):
    BackorderPolicyFactory(variant=variant, mode="deny", discontinued=True)
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-19)

    assert low_stock_check(variant_ids=[variant.pk]) == []
    assert Notification.objects.count() == 0


def test_the_state_flips_without_staff_addresses(variant, warehouse, settings):
    settings.STAFF_ALERT_EMAILS = []
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-19)

    assert low_stock_check(variant_ids=[variant.pk]) == [variant.pk]
    assert Notification.objects.count() == 0
    assert LowStockState.objects.get().is_low is True


def test_queries_do_not_grow_with_the_variants_that_cross(warehouse, settings):
    settings.STAFF_ALERT_EMAILS = ["stock@shop.example", "buyer@shop.example"]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def crossing(n):
        variants = [VariantFactory() for _ in range(n)]
        for v in variants:
            stock_adjust(variant_id=v.pk, warehouse_id=warehouse.pk, quantity_change=2)  # below 5: low
        with CaptureQueriesContext(connection) as ctx:
            crossed = low_stock_check(variant_ids=[v.pk for v in variants])
        assert len(crossed) == n
        return len(ctx.captured_queries)

    assert crossing(2) == crossing(12)
    assert Notification.objects.filter(kind="low_stock_alert").count() == 2 * (2 + 12)


def test_the_sweep_alerts_a_crossing_whose_check_was_lost_once_and_only_for_recent_movements(
    warehouse, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """A worker died holding the check_low_stock message (or the broker lost it): the beat sweep checks
    every variant whose stock moved in the last 15 minutes; a crossing is alerted once however often
    it runs, and a variant whose stock last moved earlier is not read at all."""
    mug, jug, old = VariantFactory(sku="MUG-01"), VariantFactory(sku="JUG-01"), VariantFactory(sku="OLD-01")
    with time_machine.travel(T0 - timedelta(minutes=20), tick=False):
        stock_adjust(variant_id=old.pk, warehouse_id=warehouse.pk, quantity_change=2)  # low, 20 min ago
    with time_machine.travel(T0 - timedelta(minutes=5), tick=False):
        for variant in (mug, jug):
            stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=20)
        stock_adjust(variant_id=mug.pk, warehouse_id=warehouse.pk, quantity_change=-16)  # 4 left: low
        stock_adjust(variant_id=jug.pk, warehouse_id=warehouse.pk, quantity_change=-1)  # 19 left
    # (no check_low_stock ran: its messages were lost)

    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert sweep_low_stock.apply().get() == [mug.pk]
        assert sweep_low_stock.apply().get() == []  # the next run: nothing new
    assert [m.subject for m in mail.outbox] == ["Low stock: MUG-01 has 4 left"]
    assert list(Notification.objects.values_list("dedupe_key", flat=True)) == [
        f"low-stock:{mug.pk}:1:stock@shop.example"
    ]
    assert not LowStockState.objects.filter(variant=old).exists()  # moved before the window: not read
    # Past the window, nothing moved lately: one query (the movements), whatever the catalog.
    later = T0 + LOW_STOCK_SWEEP_WINDOW + timedelta(minutes=1)
    with time_machine.travel(later, tick=False), django_assert_num_queries(1):
        assert low_stock_sweep() == []


def test_the_sweep_runs_more_often_than_its_window_is_long(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-low-stock"]
    assert entry["task"] == "notifications.tasks.sweep_low_stock"
    assert entry["schedule"] == LOW_STOCK_SWEEP_EVERY.total_seconds() < LOW_STOCK_SWEEP_WINDOW.total_seconds()
