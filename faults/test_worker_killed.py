"""A worker killed with SIGKILL mid-task: after a restart and the beat's sweeps, nothing is lost.

The whole worker dies (main process and pool child, as on a lost host or an
OOM kill of the container): its message was taken but never acknowledged, so
Redis hands it out again after the visibility timeout (acks_late). What the
task had committed stays; the sweeps find what it left half done.
"""

import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from inventory.models import Allocation, AllocationRequest, MovementReason, StockItem, StockMovement
from inventory.selectors import ledger_discrepancies
from inventory.services import stock_adjust
from inventory.tests.factories import BackorderPolicyFactory, WarehouseFactory
from notifications.models import Notification, NotificationKind, NotificationStatus
from orders.models import Order, OrderEvent, OrderLine
from shop.tests.factories import VariantFactory

from .harness import wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

LINES = 600  # one-unit backorders, each its own order
BATCH = 10  # lines per allocation transaction: the pass takes long enough to be killed in the middle


def _backorders(variant, *, lines: int) -> list[Order]:
    start = timezone.now() - timedelta(days=10)
    orders = Order.objects.bulk_create(
        [
            Order(
                number=f"BO-F{n:07d}", email=f"waiter{n}@example.com", placed_at=start + timedelta(seconds=n)
            )
            for n in range(lines)
        ]
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                variant=variant,
                sku=variant.sku,
                product_name=variant.product.name,
                unit_price=Decimal("30.00"),
                quantity=1,
                quantity_backordered=1,
            )
            for order in orders
        ]
    )
    return orders


def test_worker_killed_mid_allocation_pass_every_line_is_allocated_exactly_once(
    shop_processes, broker, smtp_sink
):
    # Given: 600 orders wait for a slow cooker; a worker serving 10 lines per transaction
    variant = BackorderPolicyFactory(variant__product__name="Slow cooker").variant
    _backorders(variant, lines=LINES)
    worker_env = {"EMAIL_URL": smtp_sink.url, "INVENTORY_ALLOCATION_BATCH_SIZE": str(BATCH)}
    worker = shop_processes.worker(extra_env=worker_env)

    # When: 600 units arrive, and the worker is SIGKILLed once a few batches are in
    with broker.publishing():
        stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=LINES)

    def served() -> int:
        return OrderLine.objects.filter(variant=variant, quantity_backordered=0).count()

    wait_until(lambda: served() >= 3 * BATCH, timeout=60, interval=0.02, what="the pass to start")
    shop_processes.kill(worker)
    at_kill = served()
    print(f"\nallocation pass killed after {at_kill} of {LINES} lines")
    assert at_kill < LINES, "the pass finished before the kill: raise LINES"
    assert not AllocationRequest.objects.exists()  # the pass had claimed its request before serving

    # When: a new worker starts (the killed message comes back) and beat's sweeps run
    shop_processes.worker(extra_env=worker_env)
    broker.send("inventory.tasks.sweep_allocation_requests")
    wait_until(lambda: served() == LINES, timeout=90, what="every line to be allocated")
    broker.send("notifications.tasks.sweep_notifications")
    wait_until(
        lambda: not Notification.objects.exclude(status=NotificationStatus.SENT).exists(),
        timeout=60,
        what="the allocation emails to be sent",
    )
    broker.send("inventory.tasks.sweep_allocation_requests")
    broker.send("notifications.tasks.sweep_notifications")
    time.sleep(2)  # a second allocation or a duplicate email would show in this time

    # Then: every line allocated exactly once, and the ledger explains the stock
    lines = OrderLine.objects.filter(variant=variant)
    assert lines.filter(quantity_allocated=1, quantity_backordered=0).count() == LINES
    item = StockItem.objects.get(variant=variant)
    assert (item.on_hand, item.allocated) == (LINES, LINES)
    allocations = Allocation.objects.filter(order_line__variant=variant)
    assert (allocations.count(), allocations.aggregate(units=Sum("quantity"))["units"]) == (LINES, LINES)
    # The ledger holds one "allocated" movement per stock item and batch: their units add up to
    # exactly one per line (a batch redone after the kill would show as more).
    movements = StockMovement.objects.filter(reason=MovementReason.ALLOCATED, variant=variant)
    assert movements.aggregate(units=Sum("allocated_delta"))["units"] == LINES
    events = OrderEvent.objects.filter(kind="allocated").values("order_id").annotate(n=Count("pk"))
    assert sorted({e["n"] for e in events}) == [1] and len(events) == LINES
    per_line = Counter(
        line_id
        for data in OrderEvent.objects.filter(kind="allocated").values_list("data", flat=True)
        for line_id in data["lines"]
    )
    assert len(per_line) == LINES and set(per_line.values()) == {1}
    assert ledger_discrepancies() == []
    # ... and each customer got one "your backorder is allocated" email
    emails = Notification.objects.filter(kind=NotificationKind.BACKORDER_ALLOCATED)
    assert emails.filter(status=NotificationStatus.SENT).count() == LINES
    received = Counter(smtp_sink.recipients())
    assert len(received) == LINES
    duplicates = sum(n - 1 for n in received.values())
    print(f"allocation emails: {LINES} recipients, {duplicates} duplicates")
    assert duplicates == 0


SENDS = 30


def test_worker_killed_while_sending_every_email_goes_out(shop_processes, broker, smtp_sink):
    # Given: 30 emails in the outbox, sent as one batch (one SMTP session) like a back-in-stock wave,
    # through an SMTP server that takes 0.2 s to accept each message
    variant = VariantFactory(sku="LAMP-01")
    rows = Notification.objects.bulk_create(
        [
            Notification(
                kind=NotificationKind.LOW_STOCK_ALERT,
                recipient=f"staff{n}@example.com",
                dedupe_key=f"faults:send:{n}",
                context={"variant_id": variant.pk, "threshold": 5},
            )
            for n in range(SENDS)
        ]
    )
    recipients = sorted(row.recipient for row in rows)
    smtp_sink.delay = 0.2
    worker = shop_processes.worker(extra_env={"EMAIL_URL": smtp_sink.url})

    # When: the worker is SIGKILLed in the middle of the batch
    broker.send("notifications.tasks.send_notifications", notification_ids=[row.pk for row in rows])
    wait_until(lambda: len(smtp_sink.messages) >= 8, timeout=60, what="the batch to be half sent")
    shop_processes.kill(worker)
    time.sleep(0.5)  # the server finishes the reply it was delaying
    received_at_kill = set(smtp_sink.recipients())
    status = dict(Notification.objects.values_list("recipient", "status"))
    sent_at_kill = {r for r, s in status.items() if s == NotificationStatus.SENT}
    # Taken by the server but not yet marked sent: the one email a kill can duplicate.
    in_flight = received_at_kill - sent_at_kill
    print(f"\nsending killed after {len(received_at_kill)} of {SENDS} emails; in flight: {sorted(in_flight)}")
    assert len(in_flight) <= 1 and sent_at_kill <= received_at_kill
    assert Counter(status.values()) == {
        NotificationStatus.SENT: len(sent_at_kill),
        NotificationStatus.SENDING: SENDS - len(sent_at_kill),  # the batch claimed all its rows
    }

    # When: a new worker starts, and beat's sweep runs once rows count as stuck in "sending"
    smtp_sink.delay = 0
    shop_processes.worker(
        extra_env={"EMAIL_URL": smtp_sink.url, "NOTIFICATIONS_SENDING_TIMEOUT_SECONDS": "2"}
    )
    time.sleep(2.5)
    broker.send("notifications.tasks.sweep_notifications")
    wait_until(
        lambda: not Notification.objects.exclude(status=NotificationStatus.SENT).exists(),
        timeout=60,
        what="the outbox to be sent",
    )
    broker.send("notifications.tasks.sweep_notifications")
    time.sleep(2)

    # Then: every email went out; only the one in flight at the kill went out twice
    received = Counter(smtp_sink.recipients())
    assert sorted(received) == recipients
    duplicates = {r for r, n in received.items() if n > 1}
    print(f"after the restart: {SENDS} recipients, duplicates: {sorted(duplicates)}")
    assert duplicates == in_flight
    assert max(received.values()) <= 2
