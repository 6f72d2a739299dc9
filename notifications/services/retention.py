"""Pruning the outbox: sent emails older than NOTIFICATION_RETENTION_DAYS (docs/operations.md, "Data retention").

Each sent row holds an address. Nothing a customer or the ledger reads needs it once the email is out:
the order timeline is made of `OrderEvent`s, never of outbox rows (orders.selectors.timeline), and a
delay notice's link to its email is dropped (`SET_NULL`; nothing reads it). So old sent rows are
deleted, with one exception: kinds whose "only once" rests on the row itself. Their dedupe key is the
only record that the email went out, and the same key can be asked for again long after:

- a purchase-order reminder (`supplier-po-reminder:<po>:<reason>`): the hourly task finds every open
  order still due one, and the key alone says it was sent (inventory.selectors.supplier_loop);
- the purchase order's own email (`supplier-po:<po>`), likewise;
- "card payment needed" (`card-payment-needed:<charge>`, then `...:again:<n>`): staff's resend numbers
  its key by counting the earlier rows (orders.services.card_payment).

Rows of those kinds are kept with their address and last error blanked. Pending, sending, failed and
cancelled rows are never touched: the sweep, staff retries and the opt-out need them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from ..models import Notification, NotificationKind, NotificationStatus

# Kinds whose dedupe key must outlive the retention period (see above).
KEPT_KINDS = (
    NotificationKind.SUPPLIER_PO,
    NotificationKind.SUPPLIER_PO_REMINDER,
    NotificationKind.CARD_PAYMENT_NEEDED,
)


@dataclass(frozen=True)
class OutboxPruned:
    deleted: int
    anonymised: int


def notifications_prune_sent(
    *, older_than_days: int, now: datetime | None = None, chunk_size: int = 1000
) -> OutboxPruned:
    """Delete sent rows whose email went out more than `older_than_days` days ago; blank the address of
    those of `KEPT_KINDS` instead. `0` days keeps everything.

    In chunks of `chunk_size` rows, each its own short transaction, so the table is never locked long
    and a run stopped half way has done whole chunks. Idempotent: a second run finds nothing.
    """
    if older_than_days <= 0:
        return OutboxPruned(deleted=0, anonymised=0)
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    # created_at (indexed) narrows the scan; a row is sent within hours of being created.
    old_sent = Notification.objects.filter(
        status=NotificationStatus.SENT, created_at__lt=cutoff, sent_at__lt=cutoff
    ).order_by("pk")
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(old_sent.exclude(kind__in=KEPT_KINDS).values_list("pk", flat=True)[:chunk_size])
            if not ids:
                break
            _, by_model = Notification.objects.filter(pk__in=ids).delete()
            deleted += by_model.get(Notification._meta.label, 0)
    anonymised = 0
    while True:
        with transaction.atomic():
            ids = list(
                old_sent.filter(kind__in=KEPT_KINDS)
                .exclude(recipient="")
                .values_list("pk", flat=True)[:chunk_size]
            )
            if not ids:
                break
            anonymised += Notification.objects.filter(pk__in=ids).update(recipient="", last_error="")
    return OutboxPruned(deleted=deleted, anonymised=anonymised)
