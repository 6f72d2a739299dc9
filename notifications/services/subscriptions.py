"""Back-in-stock subscriptions: signing up (double opt-in for guests), confirming, unsubscribing.

Marketing consent lives per address in `EmailPreference`: unsubscribing records
an opt-out, an explicit new signup lifts it. A buyer's open subscriptions to
what they bought are closed by checkout (`back_in_stock_close_for_buyer`).
"""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from ..models import (
    OPEN_SUBSCRIPTION_STATUSES,
    BackInStockSubscription,
    EmailPreference,
    Notification,
    NotificationKind,
    NotificationStatus,
    SubscriptionStatus,
)
from .outbox import notification_create


def email_normalize(email: str) -> str:
    return email.strip().lower()


def _marketing_opt_in(email: str) -> None:
    """An explicit new signup lifts an earlier marketing opt-out of this address."""
    EmailPreference.objects.filter(email=email, marketing_opt_out=True).update(marketing_opt_out=False)


def _subscription_open(*, variant_id: int, email: str, **fields) -> BackInStockSubscription:
    """The open subscription of this address to this variant, created with `fields` if none.

    One open subscription per address and variant is a partial unique
    constraint, so a concurrent duplicate fails to insert and we return the
    winner's row instead: a duplicate signup is a silent no-op.
    """
    open_rows = BackInStockSubscription.objects.filter(
        variant_id=variant_id, email=email, status__in=OPEN_SUBSCRIPTION_STATUSES
    )
    existing = open_rows.first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return BackInStockSubscription.objects.create(variant_id=variant_id, email=email, **fields)
    except IntegrityError:
        existing = open_rows.first()
        if existing is None:
            raise
        return existing


@transaction.atomic
def subscription_create(
    *, variant_id: int, email: str, user_id: int | None = None, language: str = ""
) -> BackInStockSubscription:
    """Ask for an email when a variant is back in stock.

    `language`: the page's (request.LANGUAGE_CODE); the confirmation and the back-in-stock email
    are written in it, and a signup in another language while one is open moves it there.

    A signed-in customer (`user_id`) is active at once. A guest's subscription
    waits for confirmation (double opt-in): a confirmation email goes out, at
    most one a day per subscription. Whatever existed before, the caller must
    answer the same way, so nobody can learn whether an address is subscribed.
    """
    email = email_normalize(email)
    now = timezone.now()
    BackInStockSubscription.objects.filter(
        variant_id=variant_id, email=email, status__in=OPEN_SUBSCRIPTION_STATUSES
    ).exclude(language=language).update(language=language)
    if user_id is not None:
        BackInStockSubscription.objects.filter(
            variant_id=variant_id, email=email, status=SubscriptionStatus.UNCONFIRMED
        ).update(status=SubscriptionStatus.ACTIVE, confirmed_at=now, user_id=user_id)
        subscription = _subscription_open(
            variant_id=variant_id,
            email=email,
            user_id=user_id,
            status=SubscriptionStatus.ACTIVE,
            confirmed_at=now,
            language=language,
        )
        _marketing_opt_in(email)
        return subscription
    subscription = _subscription_open(
        variant_id=variant_id, email=email, status=SubscriptionStatus.UNCONFIRMED, language=language
    )
    if subscription.status == SubscriptionStatus.UNCONFIRMED:
        notification_create(
            kind=NotificationKind.SUBSCRIPTION_CONFIRM,
            recipient=email,
            dedupe_key=f"subscription-confirm:{subscription.pk}:{timezone.localdate(now).isoformat()}",
            context={"subscription_id": subscription.pk, "variant_id": variant_id},
            language=subscription.language,
        )
    return subscription


@transaction.atomic
def subscription_confirm(*, subscription_id: int) -> BackInStockSubscription | None:
    """Double opt-in: the unconfirmed subscription becomes active.

    Returns the subscription when it is confirmed (now or before), None when it
    no longer exists or was closed (unsubscribed, bought).
    """
    confirmed = BackInStockSubscription.objects.filter(
        pk=subscription_id, status=SubscriptionStatus.UNCONFIRMED
    ).update(status=SubscriptionStatus.ACTIVE, confirmed_at=timezone.now())
    subscription = (
        BackInStockSubscription.objects.select_related("variant__product").filter(pk=subscription_id).first()
    )
    if subscription is None or subscription.status not in (
        SubscriptionStatus.ACTIVE,
        SubscriptionStatus.NOTIFIED,
    ):
        return None
    if confirmed:
        _marketing_opt_in(subscription.email)
    return subscription


@transaction.atomic
def subscription_unsubscribe(*, email: str) -> int:
    """Close every open back-in-stock subscription of an address and record its marketing opt-out.

    Back-in-stock emails still waiting in the outbox for it are cancelled too.
    Returns how many subscriptions were closed; running it twice is harmless.
    """
    email = email_normalize(email)
    closed = BackInStockSubscription.objects.filter(
        email__iexact=email, status__in=OPEN_SUBSCRIPTION_STATUSES
    ).update(status=SubscriptionStatus.UNSUBSCRIBED)
    EmailPreference.objects.update_or_create(email=email, defaults={"marketing_opt_out": True})
    Notification.objects.filter(
        recipient__iexact=email, kind=NotificationKind.BACK_IN_STOCK, status=NotificationStatus.PENDING
    ).update(status=NotificationStatus.CANCELLED)
    return closed


def _open_for_buyer(variant_ids: Iterable[int], email: str):
    return BackInStockSubscription.objects.filter(
        variant_id__in=list(variant_ids),
        email__iexact=email_normalize(email),
        status__in=OPEN_SUBSCRIPTION_STATUSES,
    )


def back_in_stock_close_for_buyer(*, variant_ids: Iterable[int], email: str) -> int:
    """Checkout calls this inside its transaction: whoever bought a variant hears no more about it."""
    return _open_for_buyer(variant_ids, email).update(status=SubscriptionStatus.PURCHASED)


def back_in_stock_close_for_buyer_sql(*, variant_ids: Iterable[int], email: str, db) -> tuple[str, list]:
    """`back_in_stock_close_for_buyer` as the text of its one UPDATE and its parameters, for checkout
    to run inside a larger statement on PostgreSQL (orders.services.checkout_writes)."""
    query = _open_for_buyer(variant_ids, email).query.chain(UpdateQuery)
    query.add_update_values({"status": SubscriptionStatus.PURCHASED})
    sql, params = query.get_compiler(db.alias).as_sql()
    return sql, list(params)


def subscriptions_delete_for_account(*, user_id: int, email: str) -> int:
    """Delete the back-in-stock subscriptions of an account being deleted: those it made signed in,
    and those under its address (any status); their emails still waiting in the outbox (alerts,
    confirmation requests) are cancelled. How many subscriptions. Joins the caller's transaction
    (`accounts.services.deletion.account_delete`). The address's marketing opt-out, if any, stays:
    it is what keeps that address from getting alerts again."""
    email = email_normalize(email)
    deleted = BackInStockSubscription.objects.filter(Q(user_id=user_id) | Q(email__iexact=email)).delete()[0]
    Notification.objects.filter(
        recipient__iexact=email,
        kind__in=[NotificationKind.BACK_IN_STOCK, NotificationKind.SUBSCRIPTION_CONFIRM],
        status=NotificationStatus.PENDING,
    ).update(status=NotificationStatus.CANCELLED)
    return deleted
