"""Shared test helpers for orders: stock and checkout through the real services."""

import uuid

from inventory.models import BackorderMode
from inventory.services import stock_adjust
from inventory.tests.factories import BackorderPolicyFactory, WarehouseFactory
from orders.services import order_place

GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
ADDRESS = {
    "full_name": "Ada Lovelace",
    "address_line1": "12 Analytical Row",
    "city": "London",
    "postcode": "N1 9GU",
    "country": "GB",
}


def give_stock(variant, quantity, warehouse=None):
    warehouse = warehouse or WarehouseFactory()
    stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=quantity)
    return warehouse


def allow_backorders(variant, **kwargs):
    return BackorderPolicyFactory(variant=variant, mode=BackorderMode.ALLOW, **kwargs)


def place(items, *, email="ada@example.com", card=GOOD_CARD, accept=True, key=None, policy="split", **kwargs):
    return order_place(
        items=[(variant.pk, qty) for variant, qty in items],
        email=email,
        address=ADDRESS,
        shipping_method="standard",
        ship_policy=policy,
        payment_method="test_card",
        card_number=card,
        accept_backorder_terms=accept,
        idempotency_key=key or uuid.uuid4().hex,
        **kwargs,
    )
