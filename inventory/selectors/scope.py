"""A read scope: within one request or one pass, the shipping calendar and supplier habits are read once.

Every promised date needs the shop's closures (`calendar.shipping_calendar`) and, for purchase orders,
their suppliers' habits (`suppliers.supplier_habits`). A page or a pass may ask for availability
several times (the product page and its alternatives, the order page and its queue places, the staff
queue and its next deliveries); inside `read_scope()` the second ask is answered from memory.
`inventory.middleware.ReadScopeMiddleware` opens one per web request. Outside a scope nothing is kept:
every call reads the database, as before.

The memory is a `ContextVar`, so two requests in two threads never share it; it ends with the scope.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_memo: ContextVar[dict[Any, Any] | None] = ContextVar("inventory_read_scope", default=None)


@contextmanager
def read_scope() -> Iterator[None]:
    """Keep the calendar and supplier habits read inside it until it ends (nested scopes share one)."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def scope_memo() -> dict[Any, Any] | None:
    """The open scope's memory, or None outside any scope."""
    return _memo.get()
