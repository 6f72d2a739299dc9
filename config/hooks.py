"""After-commit announcements: how a lower layer tells the layers above it that something happened.

A service in a lower layer (stock, the outbox) must not import the code that reacts to its
changes (the allocation pass, back-in-stock waves, the page cache, the Celery tasks that do the
work in a worker). Instead it announces a `Hook` with ids only, and each app that cares connects
a receiver in its `AppConfig.ready()`, so `grep "<hook name>.connect"` lists every reaction.

    # inventory/events.py (the announcer's app declares the hook)
    stock_grew = Hook("inventory.stock_grew")

    # inventory/services/ledger.py
    stock_grew.send_on_commit(variant_ids=ids)

    # orders/apps.py (the reacting app subscribes)
    stock_grew.connect(tasks.stock_arrived_enqueue)

`send_on_commit` runs the receivers once the surrounding transaction commits, in the order they
were connected, and not at all if it rolls back. Receivers take keyword arguments and should be
cheap (publish a Celery message, replace a cache token): anything that must not be lost is a
database row written before the hook is sent, which a periodic sweep can find again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

Receiver = Callable[..., None]


class Hook:
    """One named announcement and the receivers connected to it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[Receiver] = []

    def __repr__(self) -> str:
        return f"Hook({self.name!r})"

    @property
    def receivers(self) -> tuple[Receiver, ...]:
        return tuple(self._receivers)

    def connect(self, receiver: Receiver) -> Receiver:
        """Add a receiver (idempotent: connecting the same function twice keeps one)."""
        if receiver not in self._receivers:
            self._receivers.append(receiver)
        return receiver

    def disconnect(self, receiver: Receiver) -> None:
        if receiver in self._receivers:
            self._receivers.remove(receiver)

    def send(self, **kwargs) -> None:
        """Run every receiver now, in connection order."""
        for receiver in tuple(self._receivers):
            receiver(**kwargs)

    def send_on_commit(self, **kwargs) -> None:
        """Run every receiver after the current transaction commits (at once outside one).

        Each receiver is its own on-commit callback. Outside the tests (Celery eager) they are
        robust: a receiver that fails, such as a publish while the broker is down, is logged
        and the others still run, because the change itself has committed and the sweeps
        finish what the lost message was about. In eager mode (tests) errors propagate, so
        bugs are not hidden.
        """
        robust = not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
        for receiver in tuple(self._receivers):
            callback = partial(receiver, **kwargs)
            callback.__qualname__ = f"{self.name} -> {getattr(receiver, '__qualname__', receiver)}"
            transaction.on_commit(callback, robust=robust)
