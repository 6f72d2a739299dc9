"""orders.locks: each lock returns the rows asked for; on PostgreSQL it takes the documented mode on its own
table, rows in primary-key order, and `FOR NO KEY UPDATE` lets other transactions insert rows that point at
the locked ones (SQLite has no row locks)."""

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from orders.locks import (
    allocation_follow_up_lock,
    cart_lock,
    carts_lock,
    delay_notice_due_lock,
    delay_notices_pending_lock,
    order_lines_lock,
    order_lines_of_order_lock,
    orders_lock,
    payment_lock,
)
from orders.models import AllocationFollowUp, DelayCause, DelayNotice, LineDelay
from orders.services import cart_get_or_create
from orders.tests.helpers import allow_backorders, give_stock, place
from orders.tests.locks_helpers import NO_KEY, PLAIN, hold_while, locking_sql
from shop.tests.factories import VariantFactory


@pytest.fixture
def world(db):
    """An order of 3 tents (1 from stock, 2 waiting) and 1 mug, its payment, a pending delay notice,
    two carts and a follow-up row."""
    tent, mug = VariantFactory(), VariantFactory()
    give_stock(tent, 1)
    give_stock(mug, 1)
    allow_backorders(tent)
    order = place([(tent, 3), (mug, 1)]).order
    notice = DelayNotice.objects.create(order=order, due_at=timezone.now() - timedelta(minutes=1))
    return {
        "order": order,
        "lines": sorted(order.lines.values_list("pk", flat=True)),
        "notice": notice,
        "carts": [cart_get_or_create(user_id=None).pk, cart_get_or_create(user_id=None).pk],
        "follow_up": AllocationFollowUp.objects.create(run_id="r", lines={"lines": [], "takes": []}),
    }


CASES = {
    # name: (call, table, mode, rows several: ORDER BY id)
    "delay_notices_pending_lock": (
        lambda w: delay_notices_pending_lock([w["order"].pk]),
        "orders_delaynotice",
        NO_KEY,
        True,
    ),
    "delay_notice_due_lock": (
        lambda w: delay_notice_due_lock(w["notice"].pk, now=timezone.now()),
        "orders_delaynotice",
        NO_KEY,
        True,
    ),
    "order_lines_lock": (lambda w: order_lines_lock(w["lines"]), "orders_orderline", NO_KEY, True),
    "order_lines_of_order_lock": (
        lambda w: order_lines_of_order_lock(w["order"].pk),
        "orders_orderline",
        NO_KEY,
        True,
    ),
    "orders_lock": (lambda w: orders_lock([w["order"].pk]), "orders_order", NO_KEY, True),
    "payment_lock": (lambda w: payment_lock(w["order"].payment.pk), "orders_payment", NO_KEY, False),
    "cart_lock": (lambda w: cart_lock(w["carts"][0]), "orders_cart", NO_KEY, True),
    "carts_lock": (lambda w: carts_lock(w["carts"]), "orders_cart", PLAIN, True),
    "allocation_follow_up_lock": (
        lambda w: allocation_follow_up_lock(w["follow_up"].pk),
        "orders_allocationfollowup",
        PLAIN,
        True,
    ),
}


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("name", CASES)
def test_each_lock_takes_its_mode_on_its_own_table_in_primary_key_order(world, name):
    call, table, mode, ordered = CASES[name]
    sql = locking_sql(lambda: call(world))
    assert re.match(rf'SELECT .* FROM "{table}" ', sql), sql
    assert re.search(rf'{mode}( OF "{table}")?$', sql), sql
    if ordered:
        assert re.search(rf'ORDER BY ("{table}"\."id"|1) ASC', sql), sql  # 1: the id, when it is all we read


@pytest.mark.django_db
def test_the_helpers_lock_the_rows_asked_for(world):
    with transaction.atomic():
        assert [line.pk for line in order_lines_of_order_lock(world["order"].pk)] == world["lines"]
        assert [line.pk for line in order_lines_lock(reversed(world["lines"]))] == world["lines"]
        assert [n.pk for n in delay_notices_pending_lock([world["order"].pk])] == [world["notice"].pk]
        assert delay_notice_due_lock(world["notice"].pk, now=timezone.now()) == world["notice"]
        assert delay_notice_due_lock(world["notice"].pk, now=timezone.now() - timedelta(hours=1)) is None
        assert [c.pk for c in carts_lock(reversed(world["carts"]))] == sorted(world["carts"])
        assert cart_lock(0) is None
        assert allocation_follow_up_lock(0) is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "lock",
    [
        # The delay email's cancel link (it took FOR UPDATE before): a delay check recording a slip
        # of the same line at that moment does not wait for it.
        lambda w: list(order_lines_of_order_lock(w["order"].pk)),
        lambda w: list(order_lines_lock(w["lines"])),
        # The delay check and the sender lock notices (FOR UPDATE before).
        lambda w: list(delay_notices_pending_lock([w["order"].pk])),
        lambda w: delay_notice_due_lock(w["notice"].pk, now=timezone.now()),
    ],
    ids=[
        "order_lines_of_order_lock",
        "order_lines_lock",
        "delay_notices_pending_lock",
        "delay_notice_due_lock",
    ],
)
def test_a_row_pointing_at_locked_rows_can_be_inserted_meanwhile(world, lock):
    today = timezone.localdate()

    def insert_a_line_delay():  # its foreign keys check (FOR KEY SHARE) the line and the notice
        LineDelay.objects.create(
            notice=world["notice"],
            line_id=world["lines"][0],
            cause=DelayCause.OVERDUE,
            old_date=today,
            new_date=today + timedelta(days=1),
        )

    hold_while(lambda: lock(world), insert_a_line_delay)
    assert LineDelay.objects.count() == 1
