"""Every row lock the orders domain takes, one named function per lock.

The lock order across the whole project (docs/concurrency.md; the inventory
kinds are in `inventory.locks`): rows of several kinds are locked in this
order, rows of one kind in primary-key order.

1.-5. variants, purchase order, purchase-order lines, stock items, allocations
6. delay notices                                  `delay_notices_pending_lock`, `delay_notice_due_lock`
7. order lines                                    `order_lines_lock`, `order_lines_of_order_lock`
8. orders, for their status                       `orders_lock`
9. the payment                                    `payment_lock`
10. the payment's card charges                    `card_charges_lock`, `card_charge_lock`

Carts and allocation follow-ups are never locked together with any of those:
`cart_lock`, `carts_lock`, `carts_abandoned_lock` and `allocation_follow_up_lock` stand alone.

Every lock is `FOR NO KEY UPDATE` unless its docstring says why not: the
transaction updates the rows but never deletes them or changes their keys, and
plain `FOR UPDATE` would also block the `FOR KEY SHARE` lock that a foreign-key
check takes when another transaction inserts a row pointing at the locked one
(an allocation or a line delay pointing at an order line, a timeline event
pointing at an order). A transaction that deletes the row it locked takes
`FOR UPDATE` up front, the lock its DELETE needs, rather than upgrading to it
later. On SQLite these are plain SELECTs: a writer there locks the whole
database.

A helper must be called inside `transaction.atomic()`; the locks are held until
it commits.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from .models import (
    AllocationFollowUp,
    CardCharge,
    Cart,
    DelayNotice,
    DelayNoticeStatus,
    Order,
    OrderLine,
    Payment,
)


def delay_notices_pending_lock(order_ids: Iterable[int]) -> QuerySet[DelayNotice]:
    """The pending delay notices of these orders, locked in pk order when evaluated.

    The delay check adds slips to them and moves their due time; the sender
    locks the same row (`delay_notice_due_lock`), so a notice is never sent
    while slips are being added to it. After the variants (the check holds
    their locks), before order lines.
    SQL: SELECT ... FROM orders_delaynotice WHERE order_id IN (...) AND status = 'pending'
         ORDER BY id FOR NO KEY UPDATE OF orders_delaynotice
    """
    return (
        DelayNotice.objects.select_for_update(of=("self",), no_key=True)
        .filter(order_id__in=sorted(set(order_ids)), status=DelayNoticeStatus.PENDING)
        .order_by("pk")
    )


def delay_notice_due_lock(notice_id: int, *, now: datetime) -> DelayNotice | None:
    """Lock a delay notice that is still pending and due at `now`; None when it is not (any more).

    Two senders (two workers, a redelivered message) of one notice: the second
    waits, then finds it sent and sends nothing. Before the order lines whose
    promised dates the email moves.
    SQL: SELECT ... FROM orders_delaynotice WHERE id = %s AND status = 'pending' AND due_at <= %s
         ORDER BY id LIMIT 1 FOR NO KEY UPDATE OF orders_delaynotice
    """
    return (
        DelayNotice.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk=notice_id, status=DelayNoticeStatus.PENDING, due_at__lte=now)
        .order_by("pk")
        .first()
    )


def order_lines_lock(line_ids: Iterable[int]) -> QuerySet[OrderLine]:
    """These order lines, locked in pk order when evaluated: the allocation pass's chosen lines.

    After the variants and their stock items, before the lines' orders. A
    customer's cancellation may have shrunk a line while the pass chose it;
    the pass reads the line again under this lock.
    SQL: SELECT ... FROM the order lines WHERE id IN (...) ORDER BY id
         FOR NO KEY UPDATE OF the order lines
    """
    return (
        OrderLine.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk__in=sorted(set(line_ids)))
        .order_by("pk")
    )


def order_lines_of_order_lock(order_id: int) -> QuerySet[OrderLine]:
    """Every line of one order, locked in pk order when evaluated.

    Shipping, cancelling waiting units and the delay email's cancel link read
    the lines they change under this lock, all of the order's (its status is
    computed from all of them). After stock items and allocations (shipping
    locks those first) and delay notices (the cancel link), before the order's
    row and its payment.
    SQL: SELECT ... FROM the order lines WHERE order_id = %s ORDER BY id
         FOR NO KEY UPDATE OF the order lines
    """
    return (
        OrderLine.objects.select_for_update(of=("self",), no_key=True)
        .filter(order_id=order_id)
        .order_by("pk")
    )


def orders_lock(order_ids: Iterable[int]) -> None:
    """Lock these orders' rows (pk order) in a statement of their own, before computing their status.

    Under READ COMMITTED a statement reads the data as of its own start; an
    UPDATE that waited for an order's lock would compute the status from lines
    read before the wait. Taken first, this lock makes the next statement
    start after every other transaction holding one of these orders has
    committed, so it sees their lines. After the orders' lines. The allocation
    pass's follow-up locks a batch's orders, thousands at once: on PostgreSQL the
    ids travel as one array literal, which costs the client a fraction of
    thousands of parameters, and each order is still found by its primary key.
    SQL: SELECT id FROM orders_order WHERE id = ANY('{...}') ORDER BY id FOR NO KEY UPDATE
    """
    ids = sorted(set(order_ids))
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Order._meta.db_table)
        among = RawSQL(
            f'{table}."id" = ANY(%s::bigint[])',
            ["{" + ",".join(map(str, map(int, ids))) + "}"],
            output_field=BooleanField(),
        )
    else:
        among = Q(pk__in=ids)
    locked = (
        Order.objects.select_for_update(no_key=True).filter(among).order_by("pk").values_list("pk", flat=True)
    )
    # Run, not read: the rows are locked when the statement runs, and the caller needs nothing back
    # (reading thousands of ids back costs the client more than the lock).
    sql, params = locked.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def payment_lock(payment_id: int) -> Payment:
    """Lock an order's payment and return it: captures, voids and refunds change its amounts.

    Last in the lock order, after the order's lines and row.
    SQL: SELECT ... FROM orders_payment WHERE id = %s FOR NO KEY UPDATE
    """
    return Payment.objects.select_for_update(no_key=True).order_by("pk").get(pk=payment_id)


def card_charges_lock(payment_id: int) -> list[CardCharge]:
    """Every card charge of a payment, locked in pk order: a shipment captures them, a
    cancellation releases or refunds them. After the payment (the caller holds its lock).
    SQL: SELECT ... FROM orders_cardcharge WHERE payment_id = %s ORDER BY id FOR NO KEY UPDATE
    """
    return list(
        CardCharge.objects.select_for_update(no_key=True).filter(payment_id=payment_id).order_by("pk")
    )


def card_charge_lock(charge_id: int) -> CardCharge | None:
    """One card charge, locked, while it is sent to Stripe or its answer is recorded: two workers
    (a redelivered message, the sweep) never send one charge twice at once. Stands alone, or after
    its payment. None when there is no such row.
    SQL: SELECT ... FROM orders_cardcharge WHERE id = %s ORDER BY id LIMIT 1 FOR NO KEY UPDATE
    """
    return CardCharge.objects.select_for_update(no_key=True).filter(pk=charge_id).order_by("pk").first()


def cart_lock(cart_id: int) -> Cart | None:
    """Lock one cart's row; None when there is no such cart.

    Changes to one cart (a double click, two tabs) happen one after the other.
    Nothing else is locked with it. `FOR NO KEY UPDATE`: adding, changing or
    removing a line never deletes the cart.
    SQL: SELECT ... FROM orders_cart WHERE id = %s ORDER BY id LIMIT 1 FOR NO KEY UPDATE
    """
    return Cart.objects.select_for_update(no_key=True).filter(pk=cart_id).order_by("pk").first()


def carts_lock(cart_ids: Iterable[int]) -> QuerySet[Cart]:
    """These carts, locked in pk order when evaluated: a guest cart merged into an account's cart.

    Plain `FOR UPDATE`, not `NO KEY`: the merge deletes the guest cart, and a
    DELETE needs this mode. Taking it up front means the merge never has to
    upgrade its lock while another transaction holds a weaker one. (Every
    writer of a cart's lines locks the cart first with `cart_lock`, which
    conflicts with both modes, so no one waits longer for it.)
    SQL: SELECT ... FROM orders_cart WHERE id IN (...) ORDER BY id FOR UPDATE
    """
    return Cart.objects.select_for_update().filter(pk__in=sorted(set(cart_ids))).order_by("pk")


def allocation_follow_up_lock(follow_up_id: int) -> AllocationFollowUp | None:
    """Lock a finished batch's `AllocationFollowUp` row; None when it is gone (already done).

    Plain `FOR UPDATE`, not `NO KEY`: the transaction that locks it deletes it
    (`order_lines_allocated`), and a DELETE needs this mode; nothing points at
    the row, so the stronger mode keeps nobody waiting. The sweep takes it;
    a follow-up finishing the same row at once is waited for, then the sweep
    finds the row gone. Nothing else is locked before it.
    SQL: SELECT ... FROM orders_allocationfollowup WHERE id = %s ORDER BY id LIMIT 1 FOR UPDATE
    """
    return AllocationFollowUp.objects.select_for_update().filter(pk=follow_up_id).order_by("pk").first()


def carts_abandoned_lock(*, updated_before: datetime, limit: int) -> list[int]:
    """Ids of up to `limit` guest carts untouched since `updated_before`, locked in pk order for deletion.

    Plain `FOR UPDATE` (the transaction deletes them), `SKIP LOCKED`: a cart a customer is changing
    right now (`cart_lock`) or merging (`carts_lock`) is left for the next run instead of waited for;
    its change moves `updated_at` anyway. Nothing else is locked with it.
    SQL: SELECT id FROM orders_cart WHERE user_id IS NULL AND updated_at < %s ORDER BY id LIMIT %s
         FOR UPDATE SKIP LOCKED
    """
    return list(
        Cart.objects.select_for_update(skip_locked=True)
        .filter(user__isnull=True, updated_at__lt=updated_before)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
