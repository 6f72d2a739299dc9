"""Deleting a customer's account, keeping what the law and the shop's books need.

What goes: the login (the user row), the saved addresses, the cart, the back-in-stock
subscriptions. What stays: the orders, with their invoices and credit notes, which a merchant must
keep (in Germany ten years, §147 AO); they are detached from the account (`Order.user` empty) and
keep their own copy of the name, address and email they were placed with, so their signed links
in the order emails still open them. The rows that name the user as the one who did something
(timeline events, payment transactions) lose the name (their foreign keys are SET_NULL).

One transaction, under the lock of the user's row: an order placed by the account in the same
moment either commits before (and is detached) or after (its user is gone, so it fails and
nothing is charged). The "account deleted" email is an outbox row of the same transaction; it
carries what it says in its context, since the user row is gone when it is sent.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import NotificationKind
from notifications.services.outbox import notification_create
from notifications.services.subscriptions import subscriptions_delete_for_account
from orders.services.retention import cart_delete_for_user, orders_detach_from_user

from ..locks import account_user_lock
from ..models import Address


class AccountDeletionRefused(Exception):
    """The account cannot be deleted here; the message says why, for the customer. `code`: "gone",
    "password", "staff" or "records"."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AccountDeleted:
    email: str
    orders_kept: int
    addresses: int
    cart_lines: int
    subscriptions: int


@transaction.atomic(durable=True)
def account_delete(*, user_id: int, password: str, language: str = "") -> AccountDeleted:
    """Delete the account if `password` is its password; staff accounts are refused (their name is
    on the shop's records: an administrator removes them in the admin). Raises AccountDeletionRefused
    with nothing changed. `language`: the page's, on which the deletion was asked; the goodbye email
    is written in the account's own language, else in that one."""
    user = account_user_lock(user_id=user_id)
    if user is None:
        raise AccountDeletionRefused(_("This account no longer exists."), code="gone")
    if not user.check_password(password):
        raise AccountDeletionRefused(_("That is not your password. Nothing was deleted."), code="password")
    if user.is_staff or user.is_superuser:
        raise AccountDeletionRefused(
            _(
                "Staff accounts cannot be deleted here: your name is on the shop's records. "
                "Ask an administrator to deactivate the account."
            ),
            code="staff",
        )
    email = user.email
    name = user.get_full_name()
    orders_kept = orders_detach_from_user(user_id=user_id)
    addresses = Address.objects.filter(user_id=user_id).delete()[0]
    cart_lines = cart_delete_for_user(user_id=user_id)
    subscriptions = subscriptions_delete_for_account(user_id=user_id, email=email)
    try:
        with transaction.atomic():
            user.delete()
    except (ProtectedError, RestrictedError) as exc:
        # Only an account that worked as staff has such rows (the stock ledger names who moved
        # stock; an API key's acting user): never a customer's own.
        raise AccountDeletionRefused(
            _(
                "This account is named on the shop's records (for example the stock ledger), so it "
                "cannot be deleted here. Please contact customer service."
            ),
            code="records",
        ) from exc
    notification_create(
        kind=NotificationKind.ACCOUNT_DELETED,
        recipient=email,
        dedupe_key=f"account-deleted:{user_id}",
        # The account's language, else the one of the page the deletion was asked on.
        language=user.language or language,
        context={
            "name": name,
            "orders_kept": orders_kept,
            "deleted_on": timezone.localdate().isoformat(),
        },
    )
    return AccountDeleted(
        email=email,
        orders_kept=orders_kept,
        addresses=addresses,
        cart_lines=cart_lines,
        subscriptions=subscriptions,
    )
