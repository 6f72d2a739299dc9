"""The orders' side of served batches, on a second database connection while the pass goes on.

A batch commits the lines' units and the stock; its orders still need their new
status, a timeline event and an email (`order_lines_allocated`). Outside a
transaction on PostgreSQL (the worker) a thread of the pass does that on its own
connection, batch by batch, while the pass's connection serves the next batch:
both work at once, on two cores. A batch whose follow-up fails or never runs (the
worker died) keeps its AllocationFollowUp row, which the sweep finishes later
(`order_allocation_follow_ups_finish`). Elsewhere (SQLite, or inside a caller's
transaction) the pass runs `follow_up_run` in the batch's own transaction.
"""

import logging
import queue
import threading
from contextlib import contextmanager

from django.db import connection, transaction

from .after_allocation import order_lines_allocated
from .allocation_batches import Batch

logger = logging.getLogger(__name__)


def follow_up_run(*, batch: Batch, run_id: str) -> bool:
    """The orders' side of one served batch, in the caller's transaction (`order_lines_allocated`)."""
    return order_lines_allocated(
        order_ids=batch.order_ids, takes=batch.takes, run_id=run_id, follow_up_id=batch.follow_up_id
    )


class FollowUpThread:
    """Runs `follow_up_run` for each submitted batch, each in its own transaction, on this thread's
    own database connection (PostgreSQL)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="allocation-follow-up", daemon=True)
        self._thread.start()

    def submit(self, *, batch: Batch, run_id: str) -> None:
        self._jobs.put((batch, run_id))

    def close(self) -> None:
        """Wait until every submitted batch is done."""
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                batch, run_id = job
                try:
                    with transaction.atomic():
                        follow_up_run(batch=batch, run_id=run_id)
                except Exception:
                    logger.exception(
                        "Auto-allocation batch %s: updating its orders failed; the sweep will retry.",
                        batch.follow_up_id,
                    )
                    connection.close()  # the next batch starts on a fresh connection
        finally:
            connection.close()


@contextmanager
def follow_ups_for_pass(given: FollowUpThread | None = None):
    """The follow-up thread of a pass: `given` if any (the caller closes it), else a new one when
    the pass runs on PostgreSQL outside a transaction, closed (waited for) on leaving. None
    otherwise: inside a caller's transaction a second connection would not see the batches."""
    if given is not None:
        yield given
        return
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield None
        return
    follow_ups = FollowUpThread()
    try:
        yield follow_ups
    finally:
        follow_ups.close()
