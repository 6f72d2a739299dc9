"""Writes for notifications, one concern per module; this package re-exports their public names.

- `outbox`: writing email rows (`notification_create`, the one bulk insert
  `notifications_insert`, `notification_create_many`) and handing their ids to
  the send tasks after commit. A leaf: it imports nothing from other apps.
- `delivery`: claiming, sending (one, or a batch over one SMTP session),
  retries with backoff, the sweep, staff retries of failed rows.
- `subscriptions`: back-in-stock signups, double opt-in, unsubscribing.
- `waves`: back-in-stock waves when stock of a variant is free again.
- `alerts`: low-stock alerts for staff.

Callers in other apps should import from the module they need (the outbox
above all): this package also loads `waves` and `alerts`, which read
inventory availability.
"""

from .alerts import low_stock_check, low_stock_sweep
from .delivery import (
    SendOutcome,
    notification_retry_failed,
    notification_send,
    notification_send_many,
    notification_sweep,
    retry_delay,
)
from .outbox import (
    notification_batches,
    notification_create,
    notification_create_many,
    notification_id_runs,
    notifications_enqueue_now,
    notifications_enqueue_on_commit,
    notifications_insert,
    senders_register,
)
from .subscriptions import (
    back_in_stock_close_for_buyer,
    email_normalize,
    subscription_confirm,
    subscription_create,
    subscription_unsubscribe,
)
from .waves import back_in_stock_process, back_in_stock_send_due_waves

__all__ = [
    "SendOutcome",
    "back_in_stock_close_for_buyer",
    "back_in_stock_process",
    "back_in_stock_send_due_waves",
    "email_normalize",
    "low_stock_check",
    "low_stock_sweep",
    "notification_batches",
    "notification_create",
    "notification_create_many",
    "notification_id_runs",
    "notification_retry_failed",
    "notification_send",
    "notification_send_many",
    "notification_sweep",
    "notifications_enqueue_now",
    "notifications_enqueue_on_commit",
    "notifications_insert",
    "retry_delay",
    "senders_register",
    "subscription_confirm",
    "subscription_create",
    "subscription_unsubscribe",
]
