"""Delays: find waiting lines whose date slipped, tell the customer once, record their answer.

How the pieces fit (docs/delays.md has the whole story), one module each:

* `detect`: `delays_detect` re-projects the backorder queue of some variants
  and compares each waiting line's new date with the date the customer was
  last told, `OrderLine.promised_date`. A slip becomes a pending `LineDelay`
  on the order's pending `DelayNotice`, whose due time moves to now + the
  quiet period (`schedule`). Purchase-order changes and priority changes run
  it after commit (`orders.tasks.check_delays`); the daily scan (`delays_scan`)
  runs it for every variant with waiting lines.
* `notices`: `delay_notices_send_due` emails the notices whose due time has
  passed: one email per order naming every delayed line with its old and new
  dates, at most one per order a day (the outbox dedupe key holds the day).
* `links`: `delay_keep_waiting` and `delay_cancel_waiting` act on the email's
  two signed links; each records its use on the notice, so a link works once.
* `digest`: `delay_digest_send` emails staff the lines waiting far past their
  first promised date.

Lock order: variants (pk) → delay notices (pk) → order lines (pk) → payment
(`inventory.locks`, `orders.locks`).
"""

from .detect import DETECT_CHUNK, Slip, delays_detect, delays_preview, delays_scan
from .digest import DIGEST_MAX_LINES, delay_digest_send
from .links import DelayCancelResult, DelayLinkError, DelayLinkUsed, delay_cancel_waiting, delay_keep_waiting
from .notices import delay_notices_send_due

__all__ = [
    "DETECT_CHUNK",
    "DIGEST_MAX_LINES",
    "DelayCancelResult",
    "DelayLinkError",
    "DelayLinkUsed",
    "Slip",
    "delay_cancel_waiting",
    "delay_digest_send",
    "delay_keep_waiting",
    "delay_notices_send_due",
    "delays_detect",
    "delays_preview",
    "delays_scan",
]
