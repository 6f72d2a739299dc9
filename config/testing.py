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


class CookieJar:
    """The cookies a site set, as a browser keeps them, for test and benchmark HTTP clients.

    `update()` reads a response's Set-Cookie headers (a cookie set empty or with
    `Max-Age=0` is deleted, as the shop does on sign-out); `header()` is the
    Cookie header for the next request, or None when there are none.
    """

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def clear(self) -> None:
        self.values.clear()

    def header(self) -> str | None:
        return "; ".join(f"{name}={value}" for name, value in self.values.items()) or None

    def update(self, headers) -> None:
        from http.cookies import CookieError, SimpleCookie

        for line in headers.get_all("Set-Cookie") or []:
            parsed = SimpleCookie()
            try:
                parsed.load(line)
            except CookieError:
                continue
            for name, morsel in parsed.items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.values.pop(name, None)
                else:
                    self.values[name] = morsel.coded_value
