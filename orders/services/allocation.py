"""The auto-allocation pass: free stock served to waiting order lines in queue order.

The pass claims the variants' allocation requests, groups the variants, and serves
them batch by batch (`allocation_batches`), each batch its own short transaction;
the orders' side of each batch follows (`allocation_follow_up`). Then it refreshes
the expected dates of the lines still waiting and tells the layers above
(`orders.events.queue_served`, `inventory.events.availability_changed`).
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from inventory.events import availability_changed
from inventory.services.requests import allocation_requests_claim
from inventory.services.serving import variants_with_free_stock

from ..events import backorders_served, queue_served
from ..models import OrderLine
from .allocation_batches import serve_batch, serve_batch_postgres
from .allocation_follow_up import FollowUpThread, follow_up_run, follow_ups_for_pass
from .dates import backorder_dates_refresh


@dataclass
class ServeResult:
    variant_id: int
    batches: int = 0
    lines_served: int = 0
    units_allocated: int = 0
    order_ids: set = None

    def __post_init__(self):
        self.order_ids = set() if self.order_ids is None else self.order_ids


def _variant_groups(variant_ids: list[int], *, batch_size: int) -> list[list[int]]:
    """The variants with lines waiting, in id order, grouped so that a group's queues hold about
    one batch: each batch statement ranks the waiting lines of its group only, not those of every
    variant of the pass again and again. A variant with more than a batch waiting is a group of
    its own (served in several batches). One query."""
    waiting = dict(
        OrderLine.objects.waiting()
        .filter(variant_id__in=variant_ids)
        .values("variant_id")
        .annotate(n=Count("id"))
        .values_list("variant_id", "n")
    )
    groups: list[list[int]] = []
    size = 0
    for variant_id in variant_ids:
        n = waiting.get(variant_id, 0)
        if n == 0:
            continue  # nothing to serve
        if not groups or size + n > batch_size:
            groups.append([])
            size = 0
        groups[-1].append(variant_id)
        size += n
    return groups


def _free_stock_and_waiting_lines(variant_ids: list[int]) -> bool:
    """Whether any of these variants still has free stock and a line waiting for it (two queries)."""
    free = variants_with_free_stock(variant_ids=variant_ids)
    return bool(free) and OrderLine.objects.waiting().filter(variant_id__in=free).exists()


def allocation_serve_queue(
    *,
    variant_ids: Iterable[int],
    run_id: str,
    batch_size: int = 2500,
    follow_ups: FollowUpThread | None = None,
) -> ServeResult:
    """Serve waiting backorders of these variants from their free stock, batch by batch.

    Each batch is its own short transaction holding the variants' locks: a
    worker killed in the middle leaves whole batches or nothing, and the next
    run finishes the work. Idempotent: with no free stock or no waiting line it
    changes nothing. On PostgreSQL a batch is one set-based statement for all
    the variants of a group (window functions), at most `batch_size` lines in
    all, and when called outside a transaction the batches' orders are brought
    up to date on a second connection while the next batch is served (see
    `FollowUpThread`); elsewhere the same rules run per variant in Python,
    with a bounded number of queries per batch, and the orders are updated in
    the batch's transaction. `follow_ups`: a follow-up thread the caller made
    and will close (`stock_arrived_process`, which has more to do meanwhile).
    """
    ids = sorted(set(variant_ids))
    result = ServeResult(variant_id=ids[0] if len(ids) == 1 else 0)
    postgres = connection.vendor == "postgresql"
    groups = _variant_groups(ids, batch_size=batch_size) if postgres else [[v] for v in ids]
    with follow_ups_for_pass(follow_ups) as follow_ups:
        for group in groups:
            retries = 0
            while True:
                with transaction.atomic():
                    if postgres:
                        batch = serve_batch_postgres(variant_ids=group, run_id=run_id, batch_size=batch_size)
                    else:
                        batch = serve_batch(variant_id=group[0], run_id=run_id, batch_size=batch_size)
                    if batch.takes:
                        backorders_served.send(takes=batch.takes)
                    if batch.takes and follow_ups is None:
                        follow_up_run(batch=batch, run_id=run_id)
                if not batch.takes:
                    # A batch can come back empty while work remains: the lines it chose were all
                    # shrunk by a customer's cancellation between choosing and updating. Look again.
                    if retries < 3 and _free_stock_and_waiting_lines(group):
                        retries += 1
                        continue
                    break
                if follow_ups is not None:
                    follow_ups.submit(batch=batch, run_id=run_id)
                result.batches += 1
                result.lines_served += len(batch.takes)
                result.units_allocated += sum(batch.takes.values())
                result.order_ids |= batch.order_ids
        # The promised dates of the lines still waiting do not depend on the orders' side:
        # refresh them while the follow-up finishes the last batch.
        backorder_dates_refresh(variant_ids=ids)
        if result.units_allocated:
            availability_changed.send(variant_ids=ids)  # listing badges
    return result


def stock_arrived_process(*, variant_ids: Iterable[int]) -> ServeResult | None:
    """Serve the backorder queues of variants whose free stock grew (the "stock arrived" task).

    Coalesced: only variants with a pending AllocationRequest are served, and
    serving removes the request, so ten receipts in a second cause one pass;
    requests added while a pass runs cause one more. Running it again changes
    nothing. Returns what was served, or None when nothing was pending.
    """
    variant_ids = sorted(set(variant_ids))
    run_id = uuid.uuid4().hex[:12]
    total = None
    batch_size = settings.INVENTORY_ALLOCATION_BATCH_SIZE
    # One follow-up thread for the whole pass, waited for at the very end: the receivers of
    # queue_served (back-in-stock, low stock) read stock, not the orders the follow-up updates.
    with follow_ups_for_pass() as follow_ups:
        while claimed := allocation_requests_claim(variant_ids=variant_ids):
            result = allocation_serve_queue(
                variant_ids=claimed, run_id=run_id, batch_size=batch_size, follow_ups=follow_ups
            )
            if total is None:
                total = result
            else:
                total.batches += result.batches
                total.lines_served += result.lines_served
                total.units_allocated += result.units_allocated
                total.order_ids |= result.order_ids
        # Units still free after the queue was served go to back-in-stock subscribers; a variant
        # that rose above its low-stock threshold is reset for the next alert (notifications.apps).
        queue_served.send(variant_ids=variant_ids)
    return total
