"""Context builders of the stock emails: low-stock alerts, subscription confirmations, back in stock.

They read the catalog (the variant) and availability, so they live here and
not in the outbox's rendering (`notifications.emails`, which every app may
use). `register()` hands them to the outbox's registry; NotificationsConfig.ready()
calls it, as OrdersConfig.ready() does for the order emails.
"""

from django.urls import reverse
from django.utils.http import urlencode

from inventory.selectors import availability_for_variant
from shop.models import Variant

from .emails import PermanentEmailError, absolute_url, register_builder, shared_lookup
from .models import NotificationKind
from .tokens import make_confirm_token


def _variant_or_fail(variant_id) -> Variant:
    """The variant with its product, read once per send batch; gone: the email can never be built."""

    def load() -> Variant:
        variant = Variant.objects.select_related("product").filter(pk=variant_id).first()
        if variant is None:
            raise PermanentEmailError(f"variant {variant_id} no longer exists")
        return variant

    return shared_lookup(("variant", variant_id), load)


def product_url(variant) -> str:
    """The product page with this variant selected."""
    return absolute_url(f"{variant.product.get_absolute_url()}?{urlencode({'variant': variant.sku})}")


def _low_stock_alert(context: dict) -> dict:
    variant = _variant_or_fail(context.get("variant_id"))
    availability = availability_for_variant(variant_id=variant.pk)
    return {
        "variant": variant,
        "available": availability.sellable_now if availability else 0,
        "threshold": context.get("threshold"),
        "admin_url": absolute_url(f"/admin/inventory/stockitem/?q={variant.sku}"),
    }


def _subscription_confirm(context: dict) -> dict:
    variant = _variant_or_fail(context.get("variant_id"))
    token = make_confirm_token(context.get("subscription_id") or 0)
    return {
        "variant": variant,
        "product_url": product_url(variant),
        "confirm_url": absolute_url(reverse("notifications:confirm", kwargs={"token": token})),
    }


def _back_in_stock(context: dict) -> dict:
    # One query; no availability here: a wave of 100,000 emails must stay cheap to render.
    variant = _variant_or_fail(context.get("variant_id"))
    return {"variant": variant, "product_url": product_url(variant)}


def _sample_variant_context() -> dict | None:
    variant_id = Variant.objects.order_by("pk").values_list("pk", flat=True).first()
    return None if variant_id is None else {"variant_id": variant_id}


def _sample_low_stock() -> dict | None:
    context = _sample_variant_context()
    return None if context is None else {**context, "threshold": 5}


def _sample_subscription() -> dict | None:
    context = _sample_variant_context()
    return None if context is None else {**context, "subscription_id": 0, "wave": 1}


def register() -> None:
    """Give the outbox the builders and admin samples of the stock emails (NotificationsConfig.ready)."""
    register_builder(NotificationKind.LOW_STOCK_ALERT, _low_stock_alert, sample=_sample_low_stock)
    register_builder(
        NotificationKind.SUBSCRIPTION_CONFIRM, _subscription_confirm, sample=_sample_subscription
    )
    # A back-in-stock email reads only its variant: a wave's batch renders once per variant.
    register_builder(
        NotificationKind.BACK_IN_STOCK, _back_in_stock, sample=_sample_subscription, shared_by=("variant_id",)
    )
