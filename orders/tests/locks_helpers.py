"""Shared by the lock tests (orders.locks, inventory.locks): the SQL a lock helper runs, and holding a
lock in another transaction while this one tries something."""

import threading

from django.db import connection, transaction
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

NO_KEY, PLAIN = "FOR NO KEY UPDATE", "FOR UPDATE"


def locking_sql(call) -> str:
    """The one locking statement a lock helper runs (a returned queryset is evaluated)."""
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        result = call()
        if isinstance(result, QuerySet):
            list(result)
    (sql,) = [q["sql"] for q in queries.captured_queries if " FOR " in q["sql"]]
    return sql


def hold_while(lock, attempt) -> None:
    """Hold `lock` in a transaction of another thread while this thread runs `attempt` in a transaction
    that may wait at most 2 s for a row lock (PostgreSQL: LockNotAvailable after that)."""
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                lock()
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            attempt()
    finally:
        release.set()
        holder.join()
