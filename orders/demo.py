"""Demo orders for `seed_demo`: customers waiting on backorders, placed through the real checkout service.

The demo emails nobody, whatever EMAIL_URL or STAFF_ALERT_EMAILS say:

- The demo customers' addresses are at `demo.example`: `.example` is reserved
  (RFC 2606), so no mailbox anywhere can receive them.
- Their order confirmations are written by the checkout service like any other
  (an outbox row in the order's transaction: the demo shows the real flow), and
  marked `cancelled` right after each order commits (`_demo_outbox_cancel`,
  with the reason in `last_error`). Sending claims only `pending` rows, so the
  send task queued by the checkout's commit, and every later sweep, skips them:
  seeding before the worker starts (`make run`) sends nothing at all, and the
  staff see the rows, marked as demo data, in the outbox admin.
- The low-stock checks the orders start find no new crossing: the variants the
  orders take are recorded as already low before each order and exactly after
  all of them (`inventory.demo.low_stock_mark_known`).

What this cannot stop (the checkout owns its transaction, so the mark comes
after its commit): a confirmation claimed in that instant by a worker already
running, or sent inside the commit with CELERY_TASK_ALWAYS_EAGER. Such an email
goes to a reserved `.example` address, so it still reaches no one.
"""

import random
from datetime import timedelta

from django.utils import timezone

from inventory.demo import low_stock_mark_known
from inventory.selectors import AvailabilityStatus, availability_for_variants
from notifications.models import Notification, NotificationStatus
from shop.models import Variant

from .models import Order
from .services import CheckoutError, order_place

DEMO_DOMAIN = "demo.example"
CUSTOMERS = ["ada", "grace", "alan", "katherine", "linus", "margaret", "dennis", "barbara", "ken", "frances"]
NOT_SENT_REASON = "demo data: never sent (the demo emails nobody, orders/demo.py)"


def _demo_outbox_cancel() -> int:
    """Mark every unsent email to a demo address `cancelled`; returns how many."""
    return Notification.objects.filter(
        recipient__iendswith=f"@{DEMO_DOMAIN}", status=NotificationStatus.PENDING
    ).update(status=NotificationStatus.CANCELLED, last_error=NOT_SENT_REASON)


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
    touched: set[int] = set()
    for n, name in enumerate(CUSTOMERS):
        items = [(rng.choice(backorderable), rng.randint(1, 2))]
        if n % 2 == 0:
            items.append((rng.choice(in_stock), 1))
        touched.update(v for v, _ in items)
        low_stock_mark_known(variant_ids=[v for v, _ in items], assume_low=True)
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
        finally:
            _demo_outbox_cancel()
        # Spread the demo orders over the last weeks, oldest first in the queue.
        Order.objects.filter(pk=result.order.pk).update(placed_at=timezone.now() - timedelta(days=30 - 3 * n))
        placed += 1
    low_stock_mark_known(variant_ids=touched)
    return f"Placed {placed} demo orders (customers @{DEMO_DOMAIN}), most of them waiting on backorders"
