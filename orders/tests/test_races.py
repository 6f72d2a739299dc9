"""Concurrent checkouts on real PostgreSQL row locks (threads released together by a barrier)."""

import pytest
from django.db.models import Sum

from config.testing import run_together
from inventory.models import StockItem
from inventory.selectors import ledger_discrepancies
from orders.models import Order, OrderLine
from orders.services import CheckoutError
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_32_buyers_of_10_units_with_backorder_limit_5(settings):
    variant = VariantFactory()
    give_stock(variant, 10)
    allow_backorders(variant, backorder_limit=5)

    results = run_together(
        [lambda n=n: place([(variant, 1)], email=f"buyer{n}@example.com") for n in range(32)]
    )

    placed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, CheckoutError)]
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, CheckoutError)]
    assert (len(placed), len(refused), unexpected) == (15, 17, [])
    assert all("It has just sold out" in str(r) or "is out of stock" in str(r) for r in refused)
    totals = OrderLine.objects.aggregate(
        allocated=Sum("quantity_allocated"), backordered=Sum("quantity_backordered")
    )
    assert totals == {"allocated": 10, "backordered": 5}
    item = StockItem.objects.get(variant=variant)
    assert (item.on_hand, item.allocated) == (10, 10)
    assert Order.objects.count() == 15
    assert ledger_discrepancies() == []


def test_carts_with_two_skus_in_opposite_orders_do_not_deadlock():
    a, b = VariantFactory(), VariantFactory()
    give_stock(a, 8)
    give_stock(b, 8)

    buyers = []
    for n in range(16):
        items = [(a, 1), (b, 1)] if n % 2 else [(b, 1), (a, 1)]
        buyers.append(lambda items=items, n=n: place(items, email=f"buyer{n}@example.com"))
    results = run_together(buyers)

    placed = [r for r in results if not isinstance(r, Exception)]
    errors = [r for r in results if isinstance(r, Exception)]
    assert (len(placed), errors) == (8, [e for e in errors if isinstance(e, CheckoutError)])
    assert len(errors) == 8
    assert {i.variant_id: (i.on_hand, i.allocated) for i in StockItem.objects.all()} == {
        a.pk: (8, 8),
        b.pk: (8, 8),
    }
    assert ledger_discrepancies() == []


def test_double_submit_at_the_same_moment_creates_one_order():
    variant = VariantFactory()
    give_stock(variant, 5)

    results = run_together([lambda: place([(variant, 1)], key="same-checkout")] * 4)

    assert not [r for r in results if isinstance(r, Exception)]
    assert {r.order.pk for r in results} == {Order.objects.get().pk}
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert StockItem.objects.get(variant=variant).allocated == 1
