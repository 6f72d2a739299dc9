"""Announcements: how a lower layer tells the layers above it that something happened.

A service in a lower layer (stock, orders) must not import the code that reacts to its changes
(the allocation pass's task, back-in-stock waves, the page cache, the delay check). Instead it
sends a `Hook` with ids only, and each app that cares connects a receiver in its
`AppConfig.ready()`, so `grep "<hook name>.connect"` lists every reaction.

    # inventory/events.py (the announcer's app declares the hook)
    stock_grew = Hook("inventory.stock_grew")

    # inventory/services/requests.py, inside the transaction that wrote the AllocationRequest rows
    stock_grew.send(variant_ids=ids)

    # inventory/apps.py (the reacting app subscribes)
    stock_grew.connect(tasks.stock_arrived_enqueue)

The rule, one for every hook: a service sends the hook where the change is made, inside its
transaction, and every receiver defers its effect until that transaction commits
(`task.delay_on_commit(...)`, `transaction.on_commit(...)`), so a change that rolls back
announces nothing and no worker looks for a row that is not committed yet. Outside a transaction
(the worker's "stock arrived" process between its batches), on-commit work runs at once.

Receivers are cheap (publish a Celery message, replace a cache token) or, for hooks sent by a
worker outside any transaction, do the worker's next step. Anything that must not be lost is a
database row written before the hook is sent, which a periodic sweep can find again.
"""

from __future__ import annotations

from collections.abc import Callable

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
        """Run every receiver now, in connection order, with these keyword arguments."""
        for receiver in tuple(self._receivers):
            receiver(**kwargs)
