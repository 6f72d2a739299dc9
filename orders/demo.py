"""Demo orders for `seed_demo`: customers waiting on backorders, placed through the real checkout service."""

import random
from datetime import timedelta

from django.utils import timezone

from inventory.selectors import AvailabilityStatus, availability_for_variants
from shop.models import Variant

from .models import Order
from .services import CheckoutError, order_place

DEMO_DOMAIN = "demo.example"
CUSTOMERS = ["ada", "grace", "alan", "katherine", "linus", "margaret", "dennis", "barbara", "ken", "frances"]


def seed_orders(*, rng_seed: int = 2026) -> str:
    if Order.objects.filter(email__endswith=f"@{DEMO_DOMAIN}").exists():
        return "Nothing to do: demo orders already present"
    rng = random.Random(rng_seed)
    ids = list(Variant.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)[:500])
    availability = availability_for_variants(variant_ids=ids)
    backorderable = [v for v, a in availability.items() if a.status == AvailabilityStatus.BACKORDER]
    in_stock = [v for v, a in availability.items() if a.status == AvailabilityStatus.IN_STOCK]
    if not backorderable or not in_stock:
        return "Skipped demo orders: no backorderable or in-stock variants"
    placed = 0
    for n, name in enumerate(CUSTOMERS):
        items = [(rng.choice(backorderable), rng.randint(1, 2))]
        if n % 2 == 0:
            items.append((rng.choice(in_stock), 1))
        try:
            result = order_place(
                items=items,
                email=f"{name}@{DEMO_DOMAIN}",
                address={
                    "full_name": name.title() + " Example",
                    "address_line1": f"{10 + n} Demo Street",
                    "city": "Berlin",
                    "postcode": f"1011{n}",
                    "country": "DE",
                },
                shipping_method="standard",
                ship_policy="together" if n % 4 == 3 else "split",
                payment_method="invoice",
                accept_backorder_terms=True,
                idempotency_key=f"demo-order-{n}",
            )
        except CheckoutError:
            continue
        # Spread the demo orders over the last weeks, oldest first in the queue.
        Order.objects.filter(pk=result.order.pk).update(placed_at=timezone.now() - timedelta(days=30 - 3 * n))
        placed += 1
    return f"Placed {placed} demo orders (customers @{DEMO_DOMAIN}), most of them waiting on backorders"
