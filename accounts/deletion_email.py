"""The "account deleted" email: its context builder and admin sample, for the outbox's registry.

The email is sent after the account is gone, so its builder reads no row: everything it says (the
name, how many orders were kept, the date) was written into the outbox row's context by
`accounts.services.deletion.account_delete`. `register()` is called by AccountsConfig.ready().
"""

from datetime import date

from notifications.emails import register_builder
from notifications.models import NotificationKind
from orders.models import Order
from shop.formatting import date_in_words


def _account_deleted(context: dict) -> dict:
    try:
        deleted_on = date.fromisoformat(context.get("deleted_on") or "")
    except ValueError:
        deleted_on = None
    return {
        "name": context.get("name") or "",
        "orders_kept": int(context.get("orders_kept") or 0),
        "deleted_on": date_in_words(deleted_on) if deleted_on else "",
    }


def _sample_account_deleted() -> dict | None:
    """The newest order's customer as the sample (no order yet: nothing to show)."""
    order = Order.objects.order_by("-placed_at", "-pk").only("full_name", "placed_at").first()
    if order is None:
        return None
    return {"name": order.full_name, "orders_kept": 1, "deleted_on": order.placed_at.date().isoformat()}


def register() -> None:
    register_builder(NotificationKind.ACCOUNT_DELETED, _account_deleted, sample=_sample_account_deleted)
