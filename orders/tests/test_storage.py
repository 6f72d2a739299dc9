"""How order rows are stored on PostgreSQL: status changes rewrite the row in place."""

import pytest
from django.db import connection

from orders.models import Order, OrderStatus
from orders.services import allocation_serve_queue
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _order_updates() -> tuple[int, int]:
    """(rows updated, of which in place) in the orders table so far in this transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated(%s::regclass), "
            "pg_stat_get_xact_tuples_hot_updated(%s::regclass)",
            ["orders_order", "orders_order"],
        )
        return cursor.fetchone()


def test_orders_table_keeps_room_for_in_place_updates():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'orders_order'")
        assert "fillfactor=50" in cursor.fetchone()[0]
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'orders_order' AND indexdef LIKE %s",
            ["%status%"],
        )
        assert cursor.fetchall() == []  # an index on status would make every status change copy the row


def test_allocation_pass_changes_order_statuses_in_place(monkeypatch):
    monkeypatch.setattr("inventory.tasks.stock_arrived.delay_on_commit", lambda **kw: None)
    variant = VariantFactory()
    allow_backorders(variant)
    orders = [place([(variant, 1)], email=f"w{n}@example.com").order for n in range(12)]
    give_stock(variant, 12)
    updated_before, hot_before = _order_updates()

    allocation_serve_queue(variant_ids=[variant.pk], run_id="hot", batch_size=5)

    updated, hot = _order_updates()
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) == {
        OrderStatus.READY
    }
    assert updated - updated_before == 12
    # Every one of them without a new index entry: the row was rewritten on its own page.
    assert hot - hot_before == 12
