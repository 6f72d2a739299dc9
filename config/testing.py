"""Helpers shared by the race tests (tests only; nothing in the shop imports this)."""

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor


def run_together(functions: Sequence[Callable[[], object]], *, timeout: float = 30) -> list:
    """Run each function in its own thread with its own database connection, all released at once.

    A `threading.Barrier` holds every thread until all are ready, so the calls
    really overlap. Returns, in order, each call's result or the exception it
    raised, for the test to inspect. Use with
    `@pytest.mark.django_db(transaction=True)` on PostgreSQL: SQLite has no row
    locks, so a race that passes there proves nothing.
    """
    from django.db import connection

    barrier = threading.Barrier(len(functions))

    def call(function):
        try:
            barrier.wait(timeout=timeout)
            return function()
        except Exception as exc:  # noqa: BLE001 - every outcome is reported to the test
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(functions)) as pool:
        return list(pool.map(call, functions))
