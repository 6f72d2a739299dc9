"""Back-in-stock waves: oldest confirmations first, ratio x free units per wave, a wait between waves."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from inventory.services import stock_adjust
from inventory.tests.factories import BackorderPolicyFactory, WarehouseFactory
from notifications.models import Notification, RestockWave, SubscriptionStatus
from notifications.services import (
    back_in_stock_close_for_buyer,
    back_in_stock_process,
    back_in_stock_send_due_waves,
    subscription_unsubscribe,
)
from notifications.tasks import send_due_back_in_stock_waves
from notifications.tests.factories import SubscriptionFactory
from orders.tests.factories import OrderLineFactory
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

T0 = timezone.now() - timedelta(days=30)


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def variant():
    return VariantFactory(sku="KETTLE-RED")


def give_stock(variant, units, warehouse):
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=units)


def subscribers(variant, count, *, first_minute=0):
    """`count` confirmed subscriptions, oldest confirmation first, created newest first (so id order lies)."""
    subs = [
        SubscriptionFactory(variant=variant, confirmed_at=T0 + timedelta(minutes=first_minute + i))
        for i in reversed(range(count))
    ]
    return list(reversed(subs))


def notified_ids(variant, wave=None):
    rows = variant.stock_subscriptions.filter(status=SubscriptionStatus.NOTIFIED)
    if wave is not None:
        rows = rows.filter(wave=wave)
    return set(rows.values_list("pk", flat=True))


def test_first_wave_notifies_the_30_oldest_confirmed_for_10_free_units(
    variant, warehouse, django_capture_on_commit_callbacks
):
    subs = subscribers(variant, 100)
    unconfirmed = SubscriptionFactory.create_batch(5, variant=variant, status=SubscriptionStatus.UNCONFIRMED)
    give_stock(variant, 10, warehouse)

    with django_capture_on_commit_callbacks(execute=True):
        result = back_in_stock_process(variant_ids=[variant.pk])

    assert result == {variant.pk: 30}
    assert notified_ids(variant, wave=1) == {s.pk for s in subs[:30]}
    assert Notification.objects.filter(kind="back_in_stock").count() == 30
    assert set(Notification.objects.values_list("dedupe_key", flat=True)) == {
        f"back-in-stock:{s.pk}:1" for s in subs[:30]
    }
    assert variant.stock_subscriptions.filter(status=SubscriptionStatus.ACTIVE).count() == 70
    assert {s.status for s in type(subs[0]).objects.filter(pk__in=[u.pk for u in unconfirmed])} == {
        "unconfirmed"
    }
    assert sorted(m.to[0] for m in mail.outbox) == sorted(s.email for s in subs[:30])
    assert Notification.objects.filter(status="sent").count() == 30
    state = RestockWave.objects.get(variant=variant)
    assert (state.number, state.free_units, state.notified) == (1, 10, 30)
    assert state.next_wave_due_at == state.started_at + timedelta(minutes=60)


def test_next_wave_waits_then_notifies_the_next_30_oldest(variant, warehouse):
    subs = subscribers(variant, 100)
    give_stock(variant, 10, warehouse)
    back_in_stock_process(variant_ids=[variant.pk])

    # Before the wait is over, neither the beat nor more stock sends anything.
    with time_machine.travel(timezone.now() + timedelta(minutes=59)):
        assert back_in_stock_send_due_waves() == {}
    give_stock(variant, 5, warehouse)
    assert back_in_stock_process(variant_ids=[variant.pk]) == {}
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-5)

    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert send_due_back_in_stock_waves.apply().get() == {variant.pk: 30}

    assert notified_ids(variant, wave=1) == {s.pk for s in subs[:30]}
    assert notified_ids(variant, wave=2) == {s.pk for s in subs[30:60]}
    assert Notification.objects.filter(kind="back_in_stock").count() == 60
    assert RestockWave.objects.get(variant=variant).number == 2


def test_no_wave_once_the_stock_is_gone(variant, warehouse):
    subscribers(variant, 100)
    give_stock(variant, 10, warehouse)
    back_in_stock_process(variant_ids=[variant.pk])
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-10)  # sold out

    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert back_in_stock_send_due_waves() == {variant.pk: 0}
    with time_machine.travel(timezone.now() + timedelta(minutes=200)):
        assert back_in_stock_send_due_waves() == {}

    assert len(notified_ids(variant)) == 30
    assert RestockWave.objects.get(variant=variant).next_wave_due_at is None


def test_a_new_restock_after_selling_out_starts_a_new_wave(variant, warehouse):
    subs = subscribers(variant, 100)
    give_stock(variant, 10, warehouse)
    back_in_stock_process(variant_ids=[variant.pk])
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=-10)
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        back_in_stock_send_due_waves()  # ends the restock: nothing free

        give_stock(variant, 2, warehouse)
        assert back_in_stock_process(variant_ids=[variant.pk]) == {variant.pk: 6}

    assert notified_ids(variant, wave=2) == {s.pk for s in subs[30:36]}


def test_only_units_free_beyond_waiting_backorders_trigger_mail(variant, warehouse):
    subs = subscribers(variant, 100)
    BackorderPolicyFactory(variant=variant, mode="allow", backorder_limit=10)
    OrderLineFactory(variant=variant, quantity=10)  # 10 units wait on backorder
    give_stock(variant, 10, warehouse)

    assert back_in_stock_process(variant_ids=[variant.pk]) == {}  # all 10 belong to the queue

    give_stock(variant, 2, warehouse)
    assert back_in_stock_process(variant_ids=[variant.pk]) == {variant.pk: 6}
    assert notified_ids(variant) == {s.pk for s in subs[:6]}


def test_fewer_subscribers_than_the_limit_get_one_wave_and_the_restock_ends(variant, warehouse):
    subscribers(variant, 12)
    give_stock(variant, 10, warehouse)

    assert back_in_stock_process(variant_ids=[variant.pk]) == {variant.pk: 12}

    assert RestockWave.objects.get(variant=variant).next_wave_due_at is None
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert back_in_stock_send_due_waves() == {}


def test_a_subscriber_who_bought_is_not_notified(variant, warehouse):
    subs = subscribers(variant, 100)
    buyer = subs[3]

    assert back_in_stock_close_for_buyer(variant_ids=[variant.pk], email=buyer.email.upper()) == 1
    give_stock(variant, 10, warehouse)
    back_in_stock_process(variant_ids=[variant.pk])

    buyer.refresh_from_db()
    assert buyer.status == SubscriptionStatus.PURCHASED
    assert notified_ids(variant) == {s.pk for s in subs[:31] if s != buyer}
    assert not Notification.objects.filter(recipient=buyer.email).exists()


def test_close_for_buyer_leaves_other_variants_and_addresses_alone(variant):
    other_variant = VariantFactory()
    mine = SubscriptionFactory(variant=variant, email="ada@example.com")
    mine_elsewhere = SubscriptionFactory(variant=other_variant, email="ada@example.com")
    someone_else = SubscriptionFactory(variant=variant, email="bob@example.com")

    assert back_in_stock_close_for_buyer(variant_ids=[variant.pk], email="Ada@Example.com") == 1

    statuses = {s.pk: s.status for s in type(mine).objects.all()}
    assert statuses == {mine.pk: "purchased", mine_elsewhere.pk: "active", someone_else.pk: "active"}


def test_unconfirmed_and_opted_out_subscriptions_are_never_notified(variant, warehouse):
    SubscriptionFactory.create_batch(4, variant=variant, status=SubscriptionStatus.UNCONFIRMED)
    confirmed = subscribers(variant, 3)
    subscription_unsubscribe(email=confirmed[0].email)
    give_stock(variant, 10, warehouse)

    assert back_in_stock_process(variant_ids=[variant.pk]) == {variant.pk: 2}
    assert notified_ids(variant) == {confirmed[1].pk, confirmed[2].pk}


def test_variants_without_subscribers_or_free_units_get_no_wave_state(warehouse):
    no_subscribers, no_stock = VariantFactory(), VariantFactory()
    give_stock(no_subscribers, 5, warehouse)
    subscribers(no_stock, 3)

    assert back_in_stock_process(variant_ids=[no_subscribers.pk, no_stock.pk]) == {}
    assert RestockWave.objects.count() == 0


def test_a_wave_is_set_based(variant, warehouse, settings, django_assert_num_queries):
    """Pages of subscriptions, not one query per subscription."""
    from django.db import connection

    settings.BACK_IN_STOCK_PAGE_SIZE = 50
    subscribers(variant, 120)
    give_stock(variant, 40, warehouse)
    # Per page: lock ids, read the last one's date, insert (PostgreSQL: INSERT ... SELECT; elsewhere
    # read emails + bulk INSERT), close the subscriptions.
    per_page = 4 if connection.vendor == "postgresql" else 5

    # subscribers waiting (1), availability (1, with the shop's closures: the shipping calendar, read
    # once for the pass: inventory.selectors.scope), ensure state (1), savepoint + lock + availability
    # again (1 + 1 + 1), three pages of 50/50/20, save state (1), release savepoint (1)
    with django_assert_num_queries(8 + 3 * per_page):
        assert back_in_stock_process(variant_ids=[variant.pk]) == {variant.pk: 120}


def test_one_bulk_receipt_starts_a_wave_for_each_variant_it_restocked(warehouse):
    kettle, mug, lamp = VariantFactory(), VariantFactory(), VariantFactory()
    kettle_subs, mug_subs = subscribers(kettle, 10), subscribers(mug, 10)
    subscribers(lamp, 10)  # no stock arrived for the lamp
    give_stock(kettle, 2, warehouse)
    give_stock(mug, 1, warehouse)

    result = back_in_stock_process(variant_ids=[kettle.pk, mug.pk, lamp.pk])

    assert result == {kettle.pk: 6, mug.pk: 3}
    assert notified_ids(kettle) == {s.pk for s in kettle_subs[:6]}
    assert notified_ids(mug) == {s.pk for s in mug_subs[:3]}
    assert notified_ids(lamp) == set()
