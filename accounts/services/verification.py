"""Creating accounts and confirming their email address; a confirmed address brings its guest orders.

Guest orders are attached only when the address is confirmed (the link in the email was opened),
never at sign-up: anyone may sign up with somebody else's address.
"""

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from notifications.models import Notification, NotificationKind
from notifications.services.outbox import notification_create
from orders.choices import OrderEventKind
from orders.event_words import event_words_build
from orders.locks import orders_lock
from orders.models import Order, OrderEvent

from ..models import User
from ..tokens import verify_token_read

ORDERS_ADDED_MESSAGE = "Added to your account"
ADDED_WORDS = event_words_build(key="added_to_account")  # said in the reader's language (orders.event_words)


def account_verify_email_send(*, user: User) -> Notification | None:
    """Write the "confirm your email address" email to the outbox, in the user's language; it is sent
    after the caller's transaction commits. Nothing for an address already confirmed."""
    if user.email_verified_at is not None:
        return None
    return notification_create(
        kind=NotificationKind.ACCOUNT_VERIFY,
        recipient=user.email,
        # Each request is an email of its own (the throttle on the account page limits them).
        dedupe_key=f"account_verify:{user.pk}:{uuid.uuid4().hex}",
        context={"user_id": user.pk, "email": user.email},
        language=user.language,
    )


@transaction.atomic(durable=True)
def account_create(*, email: str, password: str, language: str = "") -> User:
    """A customer account and its confirmation email, in one transaction. Raises IntegrityError when
    another account took the address meanwhile (the form checked it first)."""
    user = User.objects.create_user(email=email, password=password, language=language)
    account_verify_email_send(user=user)
    return user


@dataclass(frozen=True)
class EmailConfirmed:
    user: User
    newly_confirmed: bool  # False: the address had been confirmed before (the link opened again)
    orders_added: list[str]  # the numbers of the guest orders attached now


@transaction.atomic(durable=True)
def account_email_confirm(*, token: str) -> EmailConfirmed | None:
    """Confirm the address a valid link was sent to and attach the guest orders placed with it (any
    case), each with a timeline event; None for a bad, expired or outdated link (changes nothing).

    Locks the account's row, then the orders (orders.locks, pk order), so two clicks on the link
    attach each order once.
    """
    claim = verify_token_read(token=token)
    if claim is None:
        return None
    user = User.objects.select_for_update().filter(pk=claim.user_id, is_active=True).first()
    if user is None or user.email.strip().lower() != claim.email:
        return None
    newly_confirmed = user.email_verified_at is None
    if newly_confirmed:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    added = _guest_orders_attach(user=user)
    return EmailConfirmed(user=user, newly_confirmed=newly_confirmed, orders_added=added)


def _guest_orders_attach(*, user: User) -> list[str]:
    guest_orders = Order.objects.filter(user__isnull=True, email__iexact=user.email.strip())
    candidates = list(guest_orders.values_list("pk", flat=True))
    if not candidates:
        return []
    orders_lock(candidates)
    # Read again under the locks: an order attached meanwhile is left alone.
    rows = list(guest_orders.filter(pk__in=candidates).order_by("pk").values_list("pk", "number"))
    Order.objects.filter(pk__in=[pk for pk, _number in rows]).update(user=user)
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order_id=pk,
            kind=OrderEventKind.NOTE,
            message=ORDERS_ADDED_MESSAGE,
            data={"account_user_id": user.pk, "words": ADDED_WORDS},
            visible_to_customer=True,
        )
        for pk, _number in rows
    )
    return [number for _pk, number in rows]
