"""Reads for the notification pages."""

from dataclasses import dataclass

from django.db.models import Exists
from django.http import Http404

from inventory.selectors import Availability, availability_for_variant
from shop.models import Variant

from .models import OPEN_SUBSCRIPTION_STATUSES, BackInStockSubscription, EmailPreference, SubscriptionStatus


def variant_get_for_alert(*, variant_id: int) -> tuple[Variant, Availability]:
    """A variant customers can see, with its availability; Http404 otherwise."""
    variant = (
        Variant.objects.select_related("product")
        .filter(pk=variant_id, is_active=True, product__is_active=True)
        .first()
    )
    availability = availability_for_variant(variant_id=variant_id) if variant else None
    if variant is None or availability is None:
        raise Http404("No such product")
    return variant, availability


def subscription_get_open_or_confirmed(*, subscription_id: int) -> BackInStockSubscription | None:
    """A subscription a confirmation link may still show: open, or already notified."""
    return (
        BackInStockSubscription.objects.select_related("variant__product")
        .filter(pk=subscription_id, status__in=[*OPEN_SUBSCRIPTION_STATUSES, SubscriptionStatus.NOTIFIED])
        .first()
    )


@dataclass(frozen=True)
class UnsubscribeState:
    """Where an address stands with back-in-stock emails, for its unsubscribe page."""

    email: str
    unsubscribed: bool  # opted out, and no alert of it is open: pressing "Unsubscribe" would do nothing
    variant: Variant | None  # what it last asked an alert for, if customers can still see it


def unsubscribe_state_get(*, email: str) -> UnsubscribeState:
    """Whether `email` is already unsubscribed (by an earlier visit or a mail client's one-click
    POST), and the item it last asked an alert for, to go back to. Two queries."""
    latest = (
        BackInStockSubscription.objects.filter(email__iexact=email)
        .annotate(
            any_open=Exists(
                BackInStockSubscription.objects.filter(
                    email__iexact=email, status__in=OPEN_SUBSCRIPTION_STATUSES
                )
            )
        )
        .select_related("variant__product")
        .order_by("-created_at", "-pk")
        .first()
    )
    opted_out = EmailPreference.objects.filter(email__iexact=email, marketing_opt_out=True).exists()
    variant = latest.variant if latest is not None else None
    if variant is not None and not (variant.is_active and variant.product.is_active):
        variant = None
    return UnsubscribeState(
        email=email,
        unsubscribed=opted_out and not (latest is not None and latest.any_open),
        variant=variant,
    )
