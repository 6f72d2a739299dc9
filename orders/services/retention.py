"""Pruning what a visit leaves behind: expired sessions and abandoned guest carts (docs/operations.md,
"Data retention").

- Sessions: what `manage.py clearsessions` does, through the configured session store. With the
  database store (the default) the expired rows go in chunks instead of one long DELETE; the cache
  store expires its own keys and has nothing to prune.
- Guest carts (no user) untouched for CART_RETENTION_DAYS. A cart holds variant ids and quantities only:
  no order, payment, allocation or stock row points at it (checkout copies the lines into the order and
  empties the cart), so deleting one never changes an order or a stock figure. A customer's own cart
  (one per account) is kept whatever its age. A guest who comes back after that finds an empty cart
  (a change to a cart that is gone says "Your cart has expired. Please add the items again.").
- A deleted account (`accounts.services.deletion.account_delete`, docs/accounts.md): its orders stay,
  detached from it (`orders_detach_from_user`), and its cart goes (`cart_delete_for_user`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..locks import carts_abandoned_lock
from ..models import Cart, CartLine, Order


@dataclass(frozen=True)
class CartsPruned:
    carts: int
    lines: int


def sessions_prune_expired(*, now: datetime | None = None, chunk_size: int = 1000) -> int | None:
    """Delete expired sessions; the number deleted, or None when the store prunes itself (cache,
    signed cookies) and `clear_expired()` was called instead."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):  # not a database store: its own clear_expired()
        store.clear_expired()
        return None
    model = store.get_model_class()
    expired = model.objects.filter(expire_date__lt=now or timezone.now()).order_by("pk")
    deleted = 0
    while True:
        with transaction.atomic():
            keys = list(expired.values_list("pk", flat=True)[:chunk_size])
            if not keys:
                return deleted
            deleted += model.objects.filter(pk__in=keys).delete()[0]


def carts_prune_abandoned(
    *, older_than_days: int, now: datetime | None = None, chunk_size: int = 1000
) -> CartsPruned:
    """Delete guest carts (and their lines) not changed for `older_than_days` days; `0` keeps them all.

    In chunks, each its own transaction; a cart being changed right now is skipped (its row is locked,
    and the change makes it recent anyway). Idempotent.
    """
    if older_than_days <= 0:
        return CartsPruned(carts=0, lines=0)
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    carts = lines = 0
    while True:
        with transaction.atomic():
            ids = carts_abandoned_lock(updated_before=cutoff, limit=chunk_size)
            if not ids:
                return CartsPruned(carts=carts, lines=lines)
            lines += CartLine.objects.filter(cart_id__in=ids).delete()[0]
            carts += Cart.objects.filter(pk__in=ids).delete()[1].get(Cart._meta.label, 0)


# --- what deleting an account takes from orders (accounts.services.deletion) ------------------------


def orders_detach_from_user(*, user_id: int) -> int:
    """The account's orders stop pointing at it; how many. Nothing else of an order changes: it keeps
    its own copy of the name, address and email it was placed with, its invoices and credit notes,
    and its signed links (order emails) keep opening it. Joins the caller's transaction."""
    return Order.objects.filter(user_id=user_id).update(user=None)


def cart_delete_for_user(*, user_id: int) -> int:
    """Delete the account's cart and its lines; how many lines. Joins the caller's transaction."""
    cart_ids = list(Cart.objects.filter(user_id=user_id).values_list("pk", flat=True))
    if not cart_ids:
        return 0
    lines = CartLine.objects.filter(cart_id__in=cart_ids).delete()[0]
    Cart.objects.filter(pk__in=cart_ids).delete()
    return lines
