"""The writes of placing an order, in as few statements as the database allows.

`_order_create` (orders.services.checkout) writes, before it locks any variant: the order, its
payment and the payment's authorize transaction, the emptied cart, the buyer's back-in-stock
subscriptions closed and the confirmation email's outbox row; after the lock: the lines and the
timeline. On PostgreSQL each group is one statement (data-modifying CTEs: every part runs once and
to completion, inside the caller's transaction, and a unique key taken by another submit fails the
whole statement as the order's own insert would); elsewhere (SQLite) the same rows through the ORM.
Both write exactly the rows the ORM would: each column as `Model.save()` prepares it
(`field.pre_save`, `get_db_prep_save`), so a new column or default needs no change here.
"""

import re

from django.db import models, transaction

from notifications.models import NotificationKind
from notifications.services.outbox import (
    notifications_enqueue_on_commit,
    notifications_insert,
    notifications_insert_sql,
)
from notifications.services.subscriptions import (
    back_in_stock_close_for_buyer,
    back_in_stock_close_for_buyer_sql,
)

from ..models import CartLine, Order, OrderEvent, OrderLine, Payment, PaymentTransaction

_NAMED = re.compile(r"%\((\w+)\)s")


def _insert_values(obj: models.Model, db, *, refs: dict[str, str]) -> tuple[list[str], list[str], list]:
    """The columns, value expressions and parameters of `obj`'s INSERT, as `save()` would write it;
    `refs` replaces a column's value by an SQL expression (an id returned by an earlier CTE)."""
    columns, values, params = [], [], []
    for field in obj._meta.local_concrete_fields:
        if field.primary_key and getattr(obj, field.attname) is None:
            continue
        columns.append(db.ops.quote_name(field.column))
        if field.column in refs:
            values.append(refs[field.column])
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.pre_save(obj, add=True), connection=db))
    return columns, values, params


def _insert_sql(
    objs: list[models.Model], db, *, refs: dict[str, str] | None = None, returning: str = ""
) -> tuple:
    """One INSERT of `objs` (one model), with `RETURNING <returning>` when asked."""
    rows, params = [], []
    for obj in objs:
        columns, values, row_params = _insert_values(obj, db, refs=refs or {})
        rows.append(f"({', '.join(values)})")
        params += row_params
    table = db.ops.quote_name(objs[0]._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join(rows)}"
    return (f"{sql} RETURNING {returning}" if returning else sql), params


def _positional(sql: str, named: dict) -> tuple[str, list]:
    """`%(name)s` placeholders as `%s` with their values in order (one statement takes one style)."""
    params = []

    def take(match):
        params.append(named[match.group(1)])
        return "%s"

    return _NAMED.sub(take, sql), params


def order_payment_insert(
    *,
    order: Order,
    payment: Payment,
    authorization: PaymentTransaction,
    cart_id: int | None,
    variant_ids: list[int],
) -> None:
    """Insert the order, its payment and the authorize transaction; empty the cart; close the buyer's
    subscriptions to these variants; add the confirmation email to the outbox (sent after commit).
    Sets the ids on the three objects. IntegrityError when another order has this number or key."""
    db = transaction.get_connection()
    if db.vendor != "postgresql":
        order.save(force_insert=True)
        payment.order = order
        payment.save(force_insert=True)
        authorization.payment = payment
        authorization.save(force_insert=True)
        order_side_rows_write(order=order, cart_id=cart_id, variant_ids=variant_ids)
        return
    parts, params = [], []

    def cte(name: str, sql: str, sql_params: list) -> None:
        parts.append(f"{name} AS ({sql})")
        params.extend(sql_params)

    cte("o", *_insert_sql([order], db, returning="id"))
    cte("p", *_insert_sql([payment], db, refs={"order_id": "(SELECT id FROM o)"}, returning="id"))
    cte("t", *_insert_sql([authorization], db, refs={"payment_id": "(SELECT id FROM p)"}))
    if cart_id is not None:
        cte("c", f"DELETE FROM {db.ops.quote_name(CartLine._meta.db_table)} WHERE cart_id = %s", [cart_id])
    cte("s", *back_in_stock_close_for_buyer_sql(variant_ids=variant_ids, email=order.email, db=db))
    row = _confirmation_row(order)
    source = (
        "SELECT %(outbox_kind)s::text AS kind, %(outbox_recipient)s::text AS recipient, "
        "jsonb_build_object('order_id', o.id) AS context, 'order-confirmed:' || o.id AS dedupe_key, "
        "%(outbox_language)s::text AS language, 1 AS position FROM o"
    )
    outbox_sql, outbox_named = notifications_insert_sql(source=source, db=db)
    outbox_named |= {
        "outbox_kind": row["kind"],
        "outbox_recipient": row["recipient"],
        "outbox_language": row["language"],
    }
    cte("n", *_positional(outbox_sql, outbox_named))
    # Every part runs, read or not (`t`, `c`, `s` return nothing).
    sql = f"WITH {', '.join(parts)} SELECT (SELECT id FROM o), (SELECT id FROM p), (SELECT id FROM n)"
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        order_id, payment_id, notification_id = cursor.fetchone()
    _saved(order, order_id, db)
    payment.order = order
    _saved(payment, payment_id, db)
    authorization.payment = payment
    if notification_id is not None:  # None: that dedupe key existed (it cannot for a new order)
        notifications_enqueue_on_commit([notification_id])


def order_side_rows_write(*, order: Order, cart_id: int | None, variant_ids: list[int]) -> None:
    """The rows `order_payment_insert` writes besides the order and its payment, one statement each:
    for SQLite, and for a card payment (whose payment row `card_payment_create` writes)."""
    if cart_id is not None:
        CartLine.objects.filter(cart_id=cart_id).delete()
    back_in_stock_close_for_buyer(variant_ids=variant_ids, email=order.email)
    notifications_insert(rows=[_confirmation_row(order)])


def _confirmation_row(order: Order) -> dict:
    return {
        "kind": NotificationKind.ORDER_CONFIRMED,
        "recipient": order.email,
        "dedupe_key": f"order-confirmed:{order.pk}",
        "context": {"order_id": order.pk},
        "language": order.language,
    }


def _saved(obj: models.Model, pk: int, db) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = db.alias


def lines_events_insert(*, lines: list[OrderLine], events: list[OrderEvent]) -> None:
    """Insert the order's lines (their ids set, in order) and its timeline events."""
    db = transaction.get_connection()
    if db.vendor != "postgresql":
        OrderLine.objects.bulk_create(lines)
        OrderEvent.objects.bulk_create(events)
        return
    events_sql, events_params = _insert_sql(events, db)
    lines_sql, lines_params = _insert_sql(lines, db, returning="id")
    with db.cursor() as cursor:
        cursor.execute(f"WITH e AS ({events_sql}) {lines_sql}", events_params + lines_params)
        ids = [row[0] for row in cursor.fetchall()]
    for line, pk in zip(lines, ids, strict=True):
        _saved(line, pk, db)
