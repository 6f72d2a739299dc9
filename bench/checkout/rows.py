"""The checkout benchmark's rows: a hot SKU per phase, then what the database says afterwards.

Each phase buys its own hot SKU (a product, variant and backorder policy tagged with the run's id,
stock in the shared BENCH warehouse); orders go to guest addresses @<tag>...bench.invalid. The rows
stay: the ledger does not allow deleting movements, and other data is never touched.
"""

import time
from decimal import Decimal

from bench.checkout.client import Tally


def hot_sku(*, tag: str, on_hand: int, limit: int):
    from django.db import transaction

    from inventory.models import BackorderMode, BackorderPolicy, StockItem, Warehouse
    from inventory.services import stock_adjust
    from inventory.tasks import stock_arrived
    from shop.models import Category, Product, Variant

    with transaction.atomic():
        category, _ = Category.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
        warehouse, _ = Warehouse.objects.get_or_create(code="BENCH", defaults={"name": "Bench warehouse"})
        product = Product.objects.create(
            name=f"Storm kettle {tag}", slug=f"bench-checkout-{tag}", category=category
        )
        variant = Variant.objects.create(product=product, sku=f"BENCH-CHECKOUT-{tag}", price=Decimal("49.00"))
        BackorderPolicy.objects.create(
            variant=variant, mode=BackorderMode.ALLOW, backorder_limit=limit, lead_time_days=14
        )
    original = stock_arrived.delay_on_commit
    stock_arrived.delay_on_commit = lambda **kw: None  # nothing waits for it yet
    try:
        stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=on_hand)
    finally:
        stock_arrived.delay_on_commit = original
    item = StockItem.objects.get(variant=variant, warehouse=warehouse)
    return product, variant, item


def wait_for_emails(domain: str, expected: int, timeout: float) -> tuple[int, float]:
    from notifications.models import Notification, NotificationStatus

    t = time.perf_counter()
    sent = 0
    while time.perf_counter() - t < timeout:
        sent = Notification.objects.filter(
            recipient__endswith=f"@{domain}", status=NotificationStatus.SENT
        ).count()
        if sent >= expected:
            break
        time.sleep(0.5)
    return sent, time.perf_counter() - t


def database_checks(*, item, variant, on_hand: int, limit: int, tally: Tally, domain: str) -> dict[str, int]:
    """What the database says about one storm's hot SKU and orders, printed and returned."""
    from django.db.models import Sum

    from orders.models import Order, OrderLine

    item.refresh_from_db()
    lines = OrderLine.objects.filter(variant=variant).aggregate(
        allocated=Sum("quantity_allocated"), backordered=Sum("quantity_backordered")
    )
    allocated = lines["allocated"] or 0
    backordered = lines["backordered"] or 0
    refused = tally.refused_before_checkout + sum(tally.refused_at_checkout.values())
    numbers_seen = {number for _, number in tally.orders}
    numbers_db = set(Order.objects.filter(email__endswith=f"@{domain}").values_list("number", flat=True))
    print(
        f"   database ({variant.sku}): {item.on_hand} on hand, {item.allocated} allocated on the stock item, "
        f"lines {allocated} allocated + {backordered} backordered (limit {limit}); {len(numbers_db):,} orders",
        flush=True,
    )
    return {
        "allocated": allocated,
        "backordered": backordered,
        "over_allocated": max(allocated - item.on_hand, item.allocated - item.on_hand, 0),
        "over_backordered": max(backordered - limit, 0),
        "item_vs_lines": abs(item.allocated - allocated),
        "unsold_while_refused": (on_hand + limit - allocated - backordered) if refused else 0,
        "seen_vs_db": len(numbers_seen ^ numbers_db),
    }
