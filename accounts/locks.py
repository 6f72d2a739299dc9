"""Every row lock the accounts app takes, one named function per lock (docs/concurrency.md).

A customer's own rows (their saved addresses, the account itself when it is deleted) are changed
under a lock of the user's row, so two requests of one customer (two tabs making different
addresses the default; a deletion while an address is being saved) run one after the other. The
user row is never locked together with the orders domain's locks: account deletion takes it first
and then only updates orders (`orders.services.retention.orders_detach_from_user`), locking none.

A helper must be called inside `transaction.atomic()`; the lock is held until it commits.
"""

from django.contrib.auth import get_user_model


def account_user_lock(*, user_id: int):
    """The user row, locked `FOR UPDATE` (account deletion deletes it; saving an address only needs
    the two requests in turn, and one lock kind for both keeps the order simple); None when gone."""
    return get_user_model().objects.select_for_update().filter(pk=user_id).first()
