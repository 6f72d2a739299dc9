"""Auto-allocation under real concurrency (PostgreSQL): passes and checkouts at the same time."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from config.testing import run_together
from inventory.models import StockItem
from inventory.selectors import ledger_discrepancies
from orders.models import Order, OrderLine
from orders.services import allocation_serve_queue
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_passes_and_16_checkouts_at_once(monkeypatch):
    # The passes under test are started by hand; keep the on-commit task from running its own.
    monkeypatch.setattr("inventory.tasks.stock_arrived.delay_on_commit", lambda **kw: None)
    variant = VariantFactory()
    allow_backorders(variant)
    old = []
    for n in range(20):
        order = place([(variant, 1)], email=f"waiting{n}@example.com").order
        Order.objects.filter(pk=order.pk).update(placed_at=timezone.now() - timedelta(hours=1, minutes=-n))
        old.append(order.pk)
    give_stock(variant, 30)  # 30 units arrive while 20 wait

    passes = [
        lambda n=n: allocation_serve_queue(variant_ids=[variant.pk], run_id=f"w{n}", batch_size=4)
        for n in range(2)
    ]
    buyers = [lambda n=n: place([(variant, 1)], email=f"new{n}@example.com") for n in range(16)]
    results = run_together(passes + buyers)

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    lines = OrderLine.objects.filter(variant=variant)
    old_lines = lines.filter(order_id__in=old)
    new_lines = lines.exclude(order_id__in=old)
    assert old_lines.aggregate(a=Sum("quantity_allocated"), b=Sum("quantity_backordered")) == {
        "a": 20,
        "b": 0,
    }
    assert new_lines.aggregate(a=Sum("quantity_allocated"), b=Sum("quantity_backordered")) == {
        "a": 10,
        "b": 6,
    }
    item = StockItem.objects.get(variant=variant)
    assert (item.on_hand, item.allocated) == (30, 30)
    assert sum(r.units_allocated for r in results[:2]) == 20  # no unit allocated twice
    assert ledger_discrepancies() == []


def test_two_passes_for_different_variants_of_the_same_orders(monkeypatch):
    """Each order waits for two variants; one pass per variant runs at once. Every order must end
    up "ready": the pass that commits second must compute the order's status from the lines the
    first one committed, not from what its own statement saw before it waited for the order row."""
    monkeypatch.setattr("inventory.tasks.stock_arrived.delay_on_commit", lambda **kw: None)
    first, second = VariantFactory(), VariantFactory()
    allow_backorders(first)
    allow_backorders(second)
    orders = [place([(first, 1), (second, 1)], email=f"both{n}@example.com").order.pk for n in range(40)]
    give_stock(first, 40)
    give_stock(second, 40)

    results = run_together(
        [
            lambda: allocation_serve_queue(variant_ids=[first.pk], run_id="first", batch_size=3),
            lambda: allocation_serve_queue(variant_ids=[second.pk], run_id="second", batch_size=3),
        ]
    )

    assert [r for r in results if isinstance(r, Exception)] == []
    assert [r.units_allocated for r in results] == [40, 40]
    statuses = dict(Order.objects.filter(pk__in=orders).values_list("pk", "status"))
    assert sorted(set(statuses.values())) == ["ready"], statuses
    assert ledger_discrepancies() == []
