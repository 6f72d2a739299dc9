"""The outbox: writing email rows, and handing their ids to the senders after commit.

Every email is first a `Notification` row, written in the transaction of the
change it reports. `notification_create` writes one; `notifications_insert` is
THE one bulk insert: every path that writes rows in bulk (back-in-stock waves,
low-stock alerts, order emails through `notification_create_many`) uses it, so
the columns of a new row are written in one place, taken from the model.

Sending starts only after commit: `notifications_enqueue_on_commit` publishes
one broker message whatever the number of rows. The Celery tasks that send are
`notifications.tasks`; they call the delivery services, and every app calls the
outbox, so the outbox does not import them: `NotificationsConfig.ready()` hands
them over (`senders_register`).

This module imports nothing from other apps: any of them may call it.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Notification

# --- the Celery tasks that send outbox rows --------------------------------------------------


@dataclass(frozen=True)
class Senders:
    """The send tasks of `notifications.tasks`, as registered by `NotificationsConfig.ready()`."""

    one: Any  # send_notification(notification_id=...)
    batch: Any  # send_notifications(notification_ids=[...]): one SMTP session
    runs: Any  # dispatch_notifications(runs=[[first, last], ...]): fans runs out into batches


_senders: Senders | None = None


def senders_register(*, one, batch, runs) -> None:
    """Called once, by `NotificationsConfig.ready()`, with the tasks of `notifications.tasks`."""
    global _senders
    _senders = Senders(one=one, batch=batch, runs=runs)


def _registered_senders() -> Senders:
    if _senders is None:
        raise RuntimeError("the notifications app is not ready: its send tasks are not registered")
    return _senders


# --- one row -----------------------------------------------------------------------------------


def notification_create(
    *, kind: str, recipient: str, dedupe_key: str, context: dict | None = None, language: str = ""
) -> Notification | None:
    """Add an email to the outbox; None when that dedupe key already exists.

    `language`: the recipient's (an order's `language`, a user's, a subscriber's; a code of
    settings.LANGUAGES); the email is written in it when sent. Empty: the shop's LANGUAGE_CODE
    (staff and suppliers get English).

    Call it inside the transaction that makes the change the email reports:
    the row commits (or rolls back) with it, and the send task is enqueued
    only after that commit.
    """
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                kind=kind,
                recipient=recipient,
                dedupe_key=dedupe_key,
                context=context or {},
                language=_language(language),
            )
    except IntegrityError:
        if not Notification.objects.filter(dedupe_key=dedupe_key).exists():
            raise
        return None
    _registered_senders().one.delay_on_commit(notification_id=notification.pk)
    return notification


# --- many rows: the one bulk insert --------------------------------------------------------------

# What each row gives, in the order of a row's JSON array on PostgreSQL (below). Every other column
# of the model gets the value a new row gets from the model: its default, or the time of the insert
# for `auto_now_add`; so a new column needs no change here.
_ROW_FIELDS = ("kind", "recipient", "context", "dedupe_key", "language")


def _language(code: str | None) -> str:
    """A language of settings.LANGUAGES for the row, or '' (the shop's default) for anything else."""
    code = (code or "").lower()
    return code if code in dict(settings.LANGUAGES) else ""


def notifications_insert(*, rows: Iterable[dict], cursor=None, enqueue: bool = True) -> list[int]:
    """Add emails to the outbox in one statement; returns the ids of the rows created, ascending.

    Each row is a dict with `kind`, `recipient`, `dedupe_key`, `context`
    (a dict; optional) and `language` (optional; see `notification_create`). A dedupe key that exists already, or comes again later
    in `rows`, is skipped: repeating a batch creates nothing new. Ids are given
    in the order of `rows`, so sending in id order follows it.

    Call it inside the transaction that makes the change the emails report.
    `cursor`: a cursor of the connection to write on (the allocation pass's
    follow-up runs on a second connection, in a thread of its own); by default
    this thread's connection. `enqueue`: publish the new rows for sending after
    commit (`notifications_enqueue_on_commit`, on this thread's connection);
    False for callers that enqueue the rows of several inserts themselves.

    PostgreSQL: one `INSERT ... SELECT ... ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id`, whatever the number of rows, which travel as one JSON array
    unnested by the database (`jsonb_array_elements`): one `json.dumps` costs the
    client far less than quoting four arrays of thousands of values. Elsewhere
    (SQLite, for development): one query reads which keys exist, then
    `bulk_create` writes the rest (Django fills the columns from the model).
    """
    rows = list(rows)
    if not rows:
        return []
    db = cursor.db if cursor is not None else transaction.get_connection()
    if db.vendor == "postgresql":
        if cursor is not None:
            ids = _insert_postgres(cursor, rows)
        else:
            with db.cursor() as own:
                ids = _insert_postgres(own, rows)
    else:
        ids = _insert_orm(rows, using=db.alias)
    if enqueue:
        notifications_enqueue_on_commit(ids)
    return ids


def notifications_insert_sql(*, source: str, db) -> tuple[str, dict]:
    """The outbox's one INSERT on PostgreSQL, as text to run or to embed in a larger statement.

    `source` is a SELECT whose columns are `kind`, `recipient`, `context` (jsonb),
    `dedupe_key`, `language` (a code of settings.LANGUAGES or '') and `position` (rows get ids
    in that order). Returns the
    statement `INSERT ... SELECT ... FROM (source) ... ON CONFLICT (dedupe_key)
    DO NOTHING RETURNING id` and its named parameters (prefixed `outbox_`).
    Every other column gets the value a new row gets from the model (its
    default, or the time of the insert for `auto_now_add`), so the column list
    lives here and nowhere else. A caller that embeds it (as a data-modifying
    CTE) enqueues the ids it returns itself (`notifications_enqueue_on_commit`).
    """
    now = timezone.now()
    columns, values, params = [], [], {}
    for field in Notification._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(db.ops.quote_name(field.column))
        if field.name in _ROW_FIELDS:
            values.append(f"r.{field.name}")
        else:
            name = f"outbox_{field.column}"
            value = now if getattr(field, "auto_now_add", False) else field.get_default()
            values.append(f"%({name})s::{field.db_type(db)}")
            params[name] = field.get_db_prep_save(value, db)
    sql = (
        f"INSERT INTO {db.ops.quote_name(Notification._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM ({source}) AS r ORDER BY r.position "
        "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"
    )
    return sql, params


# Rows given in Python travel as one JSON array, unnested by the database: one `json.dumps` costs
# the client far less than quoting four arrays of thousands of values.
_JSON_ROWS_SOURCE = (
    "SELECT j.item ->> 0 AS kind, j.item ->> 1 AS recipient, j.item -> 2 AS context, "
    "j.item ->> 3 AS dedupe_key, j.item ->> 4 AS language, j.n AS position "
    "FROM jsonb_array_elements(%(outbox_rows)s::jsonb) WITH ORDINALITY AS j(item, n)"
)


def _insert_postgres(cursor, rows: list[dict]) -> list[int]:
    sql, params = notifications_insert_sql(source=_JSON_ROWS_SOURCE, db=cursor.db)
    items = [  # each row as a JSON array of its values, in the order of _ROW_FIELDS
        [
            str(row["kind"]),
            row["recipient"],
            row.get("context") or {},
            row["dedupe_key"],
            _language(row.get("language")),
        ]
        for row in rows
    ]
    params["outbox_rows"] = json.dumps(items)
    cursor.execute(sql, params)
    return sorted(row[0] for row in cursor.fetchall())


def _insert_orm(rows: list[dict], *, using: str) -> list[int]:
    """SQLite: skip the keys that exist (in the table, or earlier in `rows`), insert the rest.

    Inside the caller's transaction no other writer can add a key between the
    two statements: SQLite lets one transaction write at a time, and one whose
    read is older than another's commit cannot write at all ("database is
    locked"), so the insert never meets a key the read did not see.
    """
    keys = [row["dedupe_key"] for row in rows]
    seen = set(
        Notification.objects.using(using).filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)
    )
    new = []
    for row in rows:
        if row["dedupe_key"] in seen:
            continue
        seen.add(row["dedupe_key"])
        new.append(
            Notification(
                kind=row["kind"],
                recipient=row["recipient"],
                dedupe_key=row["dedupe_key"],
                context=row.get("context") or {},
                language=_language(row.get("language")),
            )
        )
    created = Notification.objects.using(using).bulk_create(new, batch_size=1000)
    return sorted(notification.pk for notification in created)


def notification_create_many(*, rows: list[dict]) -> list[int]:
    """Add many emails to the outbox (`notifications_insert`) and send them after commit, in batches.

    Each row has kind, recipient, dedupe_key, context and language. Existing dedupe keys
    are skipped, so repeating a batch creates nothing new. Call it inside the
    transaction that makes the change. Returns the ids created.
    """
    return notifications_insert(rows=rows)


# --- handing rows to the senders -----------------------------------------------------------------


def _send_batch_size() -> int:
    return getattr(settings, "NOTIFICATIONS_SEND_BATCH_SIZE", 100)


def notification_id_runs(notification_ids: Iterable[int]) -> list[list[int]]:
    """Ids as runs of consecutive numbers, [[first, last], ...]: rows inserted together have few."""
    runs: list[list[int]] = []
    for pk in sorted(set(notification_ids)):
        if runs and runs[-1][1] == pk - 1:
            runs[-1][1] = pk
        else:
            runs.append([pk, pk])
    return runs


def notification_batches(runs: list[list[int]], *, size: int | None = None) -> Iterator[list[int]]:
    """The ids of these runs in send batches of `size` (NOTIFICATIONS_SEND_BATCH_SIZE)."""
    size = size or _send_batch_size()
    batch: list[int] = []
    for first, last in runs:
        pk = first
        while pk <= last:
            take = min(size - len(batch), last - pk + 1)
            batch.extend(range(pk, pk + take))
            pk += take
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def notifications_enqueue_on_commit(notification_ids: list[int]) -> None:
    """After commit, send these rows in batches of NOTIFICATIONS_SEND_BATCH_SIZE (one SMTP session each).

    One broker message whatever the number of rows: up to one batch goes
    straight to `send_notifications`; more go to `dispatch_notifications` as
    runs of ids, and the worker that takes it publishes the batches. If that
    message is lost (broker down at commit), the rows stay pending and the
    sweep sends them.
    """
    _enqueue(notification_ids, on_commit=True)


def notifications_enqueue_now(notification_ids: list[int]) -> None:
    """The same, published at once: for callers with nothing to commit first (the sweep)."""
    _enqueue(notification_ids, on_commit=False)


def _enqueue(notification_ids: list[int], *, on_commit: bool) -> None:
    if not notification_ids:
        return
    senders = _registered_senders()
    if len(notification_ids) <= _send_batch_size():
        task, kwargs = senders.batch, {"notification_ids": list(notification_ids)}
    else:
        task, kwargs = senders.runs, {"runs": notification_id_runs(notification_ids)}
    (task.delay_on_commit if on_commit else task.delay)(**kwargs)
