"""orders/querysets.py: the waiting lines, their units per variant, and the queue order."""

from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from orders.models import OrderLine
from orders.querysets import WAITING, queue_order
from orders.services.allocation_batches import QUEUE_ORDER_SQL  # the allocation pass's SQL window order
from orders.tests.factories import OrderFactory, OrderLineFactory
from shop.models import Variant
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

NOON = timezone.make_aware(datetime(2026, 11, 21, 12, 0))


def test_waiting_is_the_lines_with_units_backordered():
    waiting_one = OrderLineFactory(quantity=1)
    waiting_part = OrderLineFactory(quantity=3, quantity_allocated=1)
    OrderLineFactory(quantity=2, quantity_allocated=2)  # all allocated
    OrderLineFactory(quantity=1, quantity_backordered=0, quantity_cancelled=1)  # cancelled

    assert sorted(OrderLine.objects.waiting().values_list("pk", flat=True)) == [
        waiting_one.pk,
        waiting_part.pk,
    ]
    assert waiting_one.order.lines.waiting().get() == waiting_one  # related managers have it too


def test_the_waiting_index_has_the_same_condition():
    (index,) = [i for i in OrderLine._meta.indexes if i.name == "orderline_waiting_by_variant"]

    assert index.condition == WAITING


def test_waiting_units_by_variant_sums_waiting_units_only():
    mug, cup, plate = VariantFactory(), VariantFactory(), VariantFactory()
    OrderLineFactory(variant=mug, quantity=3)
    OrderLineFactory(variant=mug, quantity=4, quantity_allocated=2)
    OrderLineFactory(variant=cup, quantity=5)
    OrderLineFactory(variant=plate, quantity=2, quantity_allocated=2)  # nothing waits for plates

    rows = OrderLine.objects.waiting_units_by_variant().values_list("variant", "units")
    restricted = (
        OrderLine.objects.filter(variant=mug).waiting_units_by_variant().values_list("variant", "units")
    )

    assert dict(rows) == {mug.pk: 5, cup.pk: 5}
    assert list(restricted) == [(mug.pk, 5)]


def test_waiting_units_subquery_annotates_each_variant_in_one_query(django_assert_num_queries):
    mug, cup = VariantFactory(), VariantFactory()
    OrderLineFactory(variant=mug, quantity=3)
    OrderLineFactory(variant=mug, quantity=2, quantity_allocated=1)
    OrderLineFactory(variant=cup, quantity=1, quantity_allocated=1)

    with django_assert_num_queries(1):
        units = dict(
            Variant.objects.annotate(w=OrderLine.objects.waiting_units_subquery("pk")).values_list("pk", "w")
        )

    assert units == {mug.pk: 4, cup.pk: 0}


def line(variant, *, priority=False, minutes=0, quantity=1, need_by=None):
    order = OrderFactory(
        is_priority=priority,
        placed_at=NOON + timedelta(minutes=minutes),
        need_by=need_by,
        need_by_action="cancel" if need_by else "",
    )
    return OrderLineFactory(order=order, variant=variant, quantity=quantity)


def in_the_pass_order(lines) -> list[int]:
    """The ids of these lines as the allocation pass's statement orders them (QUEUE_ORDER_SQL)."""
    ids = list(lines.values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.id FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id "
            f"WHERE l.id IN ({', '.join(['%s'] * len(ids))}) ORDER BY {QUEUE_ORDER_SQL}",
            ids,
        )
        return [row[0] for row in cursor.fetchall()]


def test_queue_order_is_the_allocation_pass_order():
    assert [str(key) for key in queue_order()] == [
        "OrderBy(F(order__is_priority), descending=True)",
        "OrderBy(F(order__need_by), descending=False)",
        "OrderBy(F(order__placed_at), descending=False)",
        "OrderBy(F(pk), descending=False)",
    ]
    assert queue_order()[1].nulls_last
    assert QUEUE_ORDER_SQL == "o.is_priority DESC, o.need_by NULLS LAST, o.placed_at, l.id"


D1, D2 = date(2026, 12, 1), date(2026, 12, 9)  # need-by dates

# (name, (priority, minutes after noon[, need-by]) of each order in the order they are created,
# expected service order)
QUEUE_CASES = [
    ("oldest first", [(False, 30), (False, 0), (False, 10)], [1, 2, 0]),
    ("priority before age", [(False, 0), (True, 60), (False, 5), (True, 30)], [3, 1, 0, 2]),
    ("same minute: line id", [(False, 0), (False, 0), (False, 0)], [0, 1, 2]),
    ("same minute, priority", [(True, 0), (False, 0), (True, 0)], [0, 2, 1]),
    ("need-by before age", [(False, 0), (False, 30, D2), (False, 60, D1)], [2, 1, 0]),
    ("need-by: same date, oldest first", [(False, 30, D1), (False, 0, D1), (False, 5)], [1, 0, 2]),
    ("priority before need-by", [(False, 0, D1), (True, 60), (True, 90, D2), (False, 5)], [2, 1, 0, 3]),
    ("need-by: none last, even the oldest", [(False, 0), (False, 0, D2), (False, 0)], [1, 0, 2]),
]


@pytest.mark.parametrize(
    ("orders", "expected"), [c[1:] for c in QUEUE_CASES], ids=[c[0] for c in QUEUE_CASES]
)
def test_queue_order_serves_the_same_lines_first_as_the_allocation_pass(orders, expected):
    variant = VariantFactory()
    lines = [line(variant, priority=o[0], minutes=o[1], need_by=(o[2:] or [None])[0]) for o in orders]
    OrderLineFactory(variant=variant, quantity=1, quantity_allocated=1)  # served already: not queued
    waiting = OrderLine.objects.waiting().filter(variant=variant)

    ours = list(waiting.order_by(*queue_order()).values_list("pk", flat=True))
    theirs = in_the_pass_order(waiting)

    assert ours == theirs == [lines[n].pk for n in expected]


def test_queue_order_keeps_an_orders_lines_together_in_line_order():
    variant = VariantFactory()
    late = line(variant, minutes=10)
    order = OrderFactory(placed_at=NOON)
    first = OrderLineFactory(order=order, variant=variant)
    second = OrderLineFactory(order=order, variant=variant)

    ours = list(OrderLine.objects.waiting().order_by(*queue_order()).values_list("pk", flat=True))

    assert ours == in_the_pass_order(OrderLine.objects.waiting())
    assert ours == [first.pk, second.pk, late.pk]
