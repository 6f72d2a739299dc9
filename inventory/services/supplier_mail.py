"""Emails to suppliers: the purchase order when it is marked ordered, and the reminders after it.

The one module of inventory's services that writes the outbox: the email row commits with the change
it reports (`notification_create` joins the caller's transaction). The outbox is a leaf any app may
call; pyproject's `stock-never-reaches-up` contract lets this module, and no other of stock's, reach
`notifications.services.outbox` and `notifications.models`. The email itself is built by
`inventory.emails` (registered in InventoryConfig.ready()).

Reminders (`supplier_reminders_send`, the beat task `inventory.tasks.send_supplier_reminders`): once
per purchase order and kind, by the outbox's dedupe key, however often the task runs.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.models import NotificationKind
from notifications.services.outbox import notification_create, notifications_insert

from ..models import PurchaseOrder
from ..selectors.supplier_loop import purchase_orders_to_remind


def supplier_po_email_queue(*, po: PurchaseOrder) -> bool:
    """Put the purchase order's email to its supplier in the outbox, in the caller's transaction.

    False, writing nothing, when the supplier has no contact email (staff are told it was not sent).
    Once per purchase order (dedupe key).
    """
    recipient = (po.supplier.contact_email or "").strip()
    if not recipient:
        return False
    notification_create(
        kind=NotificationKind.SUPPLIER_PO,
        recipient=recipient,
        dedupe_key=f"supplier-po:{po.pk}",
        context={"purchase_order_id": po.pk},
    )
    return True


@transaction.atomic
def supplier_reminders_send(*, now: datetime | None = None) -> int:
    """Remind suppliers of open purchase orders: unconfirmed `SUPPLIER_CONFIRM_REMINDER_DAYS` after they
    were ordered, and overdue (expected date passed, not fully received). Once per order and kind.

    Returns the number of reminders put in the outbox now. A constant number of queries: one read,
    one insert that skips the keys already in the outbox.
    """
    now = now or timezone.now()
    due = purchase_orders_to_remind(now=now, unconfirmed_after_days=settings.SUPPLIER_CONFIRM_REMINDER_DAYS)
    rows = [
        {
            "kind": NotificationKind.SUPPLIER_PO_REMINDER,
            "recipient": reminder.recipient,
            "dedupe_key": f"supplier-po-reminder:{reminder.purchase_order_id}:{reminder.reason}",
            "context": {"purchase_order_id": reminder.purchase_order_id, "reason": reminder.reason},
        }
        for reminder in due
    ]
    return len(notifications_insert(rows=rows))
