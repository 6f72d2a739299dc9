"""Reads for the notification pages."""

from django.http import Http404

from inventory.selectors import Availability, availability_for_variant
from shop.models import Variant

from .models import OPEN_SUBSCRIPTION_STATUSES, BackInStockSubscription, SubscriptionStatus


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
