"""After an allocation batch: the orders' statuses, timeline events and 'allocated' emails."""

import logging

from django.db import connection, transaction

from notifications.models import NotificationKind
from notifications.services.outbox import (
    notifications_enqueue_on_commit,
    notifications_insert,
    notifications_insert_sql,
)

from ..event_words import event_words_build, event_words_items
from ..lifecycle import CLOSED_LINE_STATUS, ORDER_STATUS_TABLE, order_status, order_totals_sql
from ..locks import allocation_follow_up_lock, orders_lock
from ..models import (
    AllocationFollowUp,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderLine,
)
from .card_charges import card_charges_announce, card_charges_for_allocations

logger = logging.getLogger(__name__)


# --- after an auto-allocation batch ------------------------------------------------------------


# orders.lifecycle's order-status table for many orders at once (PostgreSQL): the totals of each
# order's open lines, then the table's CASE; statuses travel as parameters. Id lists come in as
# one array literal (text), which costs the client far less than a list of thousands of Python
# ints adapted one by one.
_ORDER_STATUS_CASE, _ORDER_STATUS_PARAMS = ORDER_STATUS_TABLE.case_sql(
    {
        "open_lines": "a.open_lines",
        "allocated": "a.allocated",
        "backordered": "a.backordered",
        "shipped": "a.shipped",
        "ship_policy": "o.ship_policy",
    },
    param_prefix="order_status_",
)
_ORDER_TOTALS = order_totals_sql(
    status="status",
    allocated="quantity_allocated",
    backordered="quantity_backordered",
    shipped="quantity_shipped",
    param="closed_line_status",
)
_ORDER_STATUS_SQL = f"""
UPDATE orders_order o SET status = {_ORDER_STATUS_CASE}
FROM (
    SELECT order_id, {_ORDER_TOTALS}
    FROM orders_orderline WHERE order_id = ANY(%(orders)s::bigint[]) GROUP BY order_id
) a
-- The id list again, for the orders table: without it the planner may hash-join the whole
-- table (every order ever placed) instead of looking the batch's orders up by primary key.
WHERE o.id = a.order_id AND o.id = ANY(%(orders)s::bigint[])
RETURNING o.id, o.email, o.language
"""

# The "your backordered items are allocated" emails of the orders just updated: the outbox's one
# insert (notifications_insert_sql) fed by the UPDATE's RETURNING rows, one per order per pass.
_ALLOCATED_EMAILS_SOURCE = (
    "SELECT %(email_kind)s AS kind, u.email AS recipient, "
    "jsonb_build_object('order_id', u.id, 'run_id', %(run)s::text) AS context, "
    "'backorder-allocated:' || u.id || ':' || %(run)s::text AS dedupe_key, u.language AS language, "
    "u.id AS position FROM updated u"
)

# A served batch's orders brought up to date in one statement (PostgreSQL): one timeline event
# per order naming what this batch reserved, the statuses (above), and one email per order per
# pass (the dedupe key carries the pass id, so several batches of one pass send one email),
# written by the outbox's one insert embedded as the last step; it returns the new emails' ids.
_ORDERS_ALLOCATED_SQL = (
    """
WITH batch(line_id, take) AS (SELECT * FROM unnest(%(lines)s::bigint[], %(takes)s::int[])),
events AS (
    INSERT INTO orders_orderevent (order_id, kind, message, data, visible_to_customer, created_at)
    SELECT l.order_id, %(event_kind)s,
           LEFT('Stock arrived and is reserved for you: '
                || string_agg(b.take || ' × ' || l.product_name, ', ' ORDER BY l.id), 500),
           jsonb_build_object(
               'run', %(run)s::text,
               'lines', jsonb_object_agg(l.id::text, b.take),
               -- orders.event_words: the words the customer's timeline says in their language
               'words', jsonb_build_object(
                   'key', 'reserved_from_new_stock',
                   'params', jsonb_build_object(
                       'items', jsonb_agg(jsonb_build_object('count', b.take, 'name', l.product_name) ORDER BY l.id)
                   )
               )
           ), true, now()
    FROM batch b JOIN orders_orderline l ON l.id = b.line_id
    GROUP BY l.order_id
),
updated AS ("""
    + _ORDER_STATUS_SQL
    + """),
emails AS ({emails})
SELECT id FROM emails ORDER BY id
"""
)


def _pg_array(ids) -> str:
    """An array literal for `%s::bigint[]`: '{1,2,3}'."""
    return "{" + ",".join(map(str, map(int, ids))) + "}"


def _allocated_emails(recipients, *, run_id: str) -> list[dict]:
    """One "your backordered items are allocated" outbox row per (order id, email, language), for this pass."""
    return [
        {
            "kind": NotificationKind.BACKORDER_ALLOCATED,
            "recipient": email,
            "dedupe_key": f"backorder-allocated:{order_id}:{run_id}",
            "context": {"order_id": order_id, "run_id": run_id},
            "language": language,
        }
        for order_id, email, language in recipients
    ]


def order_lines_allocated(
    *, order_ids: set[int], takes: dict[int, int], run_id: str, follow_up_id: int | None = None
) -> bool:
    """Bring orders up to date after the auto-allocation pass allocated stock to their lines.

    Runs inside a transaction of the caller's: the batch's own, or (PostgreSQL) a
    second one that follows the batch's commit. Recomputes the order statuses,
    adds one timeline event per order naming what the batch reserved, and one
    "your backordered items are allocated" email per order per pass (the dedupe
    key carries the pass id, so several batches of one pass send one email). A
    constant number of queries, whatever the number of orders.

    `follow_up_id`: the batch's `AllocationFollowUp` row, deleted here. Returns
    False, changing nothing, when that row is gone: another transaction (the
    sweep, or the pass's own follow-up) has already done this work.
    """
    if follow_up_id is not None and not AllocationFollowUp.objects.filter(pk=follow_up_id).delete()[0]:
        return False
    if connection.vendor == "postgresql":
        _orders_allocated_postgres(order_ids=order_ids, takes=takes, run_id=run_id)
    else:
        _orders_allocated_python(order_ids=order_ids, takes=takes, run_id=run_id)
    # Card orders paid when they ship: the units just set aside are charged (after the commit).
    card_charges_announce(card_charges_for_allocations(takes=takes, run_id=run_id))
    return True


def _orders_allocated_postgres(*, order_ids: set[int], takes: dict[int, int], run_id: str) -> None:
    """The orders' side of a batch in one statement, then the outbox's insert (PostgreSQL).

    Python twin: `_orders_allocated_python`. Parity:
    orders/tests/test_allocation_parity.py::test_python_and_postgres_batches_write_the_same_rows.
    """
    # Lock the orders first, in a statement of their own. The statement that follows then starts
    # (READ COMMITTED) after every other transaction that held one of these orders has committed,
    # so it sees their lines: another worker's pass serving another variant of the same order, a
    # shipment, a cancellation. Were the lock taken by the UPDATE itself, its snapshot would
    # predate the wait and the status could be stale.
    orders_lock(order_ids)
    lines = sorted(takes)
    emails_sql, emails_params = notifications_insert_sql(source=_ALLOCATED_EMAILS_SOURCE, db=connection)
    with connection.cursor() as cursor:
        cursor.execute(
            _ORDERS_ALLOCATED_SQL.format(emails=emails_sql),
            {
                "orders": _pg_array(sorted(order_ids)),
                "lines": _pg_array(lines),
                "takes": _pg_array(map(takes.__getitem__, lines)),
                "run": run_id,
                "event_kind": OrderEventKind.ALLOCATED.value,
                "email_kind": NotificationKind.BACKORDER_ALLOCATED.value,
                **emails_params,
                "closed_line_status": CLOSED_LINE_STATUS.value,
                **_ORDER_STATUS_PARAMS,
            },
        )
        # On this connection (the follow-up's own, in its thread); the new rows are enqueued for
        # sending after this transaction commits, and only those: a dedupe key that exists (an
        # earlier batch of the pass) creates no row, so each order gets one email per pass.
        notifications_enqueue_on_commit([row[0] for row in cursor.fetchall()])


def _orders_allocated_python(*, order_ids: set[int], takes: dict[int, int], run_id: str) -> None:
    """The orders' side of a batch with the ORM (SQLite). PostgreSQL twin: `_orders_allocated_postgres`.
    Parity: orders/tests/test_allocation_parity.py::test_python_and_postgres_batches_write_the_same_rows.
    """
    orders = list(Order.objects.filter(pk__in=order_ids).prefetch_related("lines").order_by("pk"))
    changed, events = [], []
    for order in orders:
        lines = list(order.lines.all())
        status = order_status(lines, ship_policy=order.ship_policy)
        if status != order.status:
            order.status = status
            changed.append(order)
        served = [line for line in lines if line.pk in takes]
        items = [(takes[line.pk], line.product_name) for line in served]
        events.append(
            OrderEvent(
                order=order,
                kind=OrderEventKind.ALLOCATED,
                message=(
                    "Stock arrived and is reserved for you: "
                    + ", ".join(f"{n} × {name}" for n, name in items)
                )[:500],
                data={
                    "run": run_id,
                    "lines": {str(line.pk): takes[line.pk] for line in served},
                    "words": event_words_build(key="reserved_from_new_stock", items=event_words_items(items)),
                },
            )
        )
    Order.objects.bulk_update(changed, ["status"], batch_size=1000)
    OrderEvent.objects.bulk_create(events, batch_size=1000)
    notifications_insert(
        rows=_allocated_emails([(order.pk, order.email, order.language) for order in orders], run_id=run_id)
    )


def order_allocation_follow_ups_finish(*, limit: int = 100) -> int:
    """Do the order work of served batches whose follow-up was left behind (the sweep).

    A worker that died between a batch's commit and its follow-up's leaves the
    `AllocationFollowUp` row: the lines are allocated, but their orders lack the
    new status, the timeline event and the email. Each row is done in its own
    transaction, exactly as the pass would have done it; a row that the pass's
    own follow-up is doing at the same moment is waited for and then skipped.
    Returns the number of batches done (at most `limit` per call).
    """
    done = 0
    for pk in AllocationFollowUp.objects.order_by("pk").values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            row = allocation_follow_up_lock(pk)
            if row is None:
                continue
            lines = [int(i) for i in row.lines.get("lines", [])]
            takes = dict(zip(lines, (int(t) for t in row.lines.get("takes", [])), strict=True))
            order_ids = set(OrderLine.objects.filter(pk__in=lines).values_list("order_id", flat=True))
            done += order_lines_allocated(
                order_ids=order_ids, takes=takes, run_id=row.run_id, follow_up_id=pk
            )
    if done:
        logger.warning("Finished the order updates of %s auto-allocation batch(es) left behind.", done)
    return done
