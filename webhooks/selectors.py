"""What the webhooks read: the deliveries due, the endpoints with work, who hears of a failing endpoint."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet

from .models import WebhookDelivery, WebhookEndpoint

# The admin permission of the staff told when an endpoint is turned off (docs/api.md, "Disabling").
CHANGE_ENDPOINT_PERMISSION = "webhooks.change_webhookendpoint"


def earlier_pending_of_same_resource() -> QuerySet[WebhookDelivery]:
    """For an outer delivery: the pending deliveries of an earlier event of its resource to its endpoint.

    While one exists the outer delivery waits: events of one resource reach an endpoint in order.
    """
    return WebhookDelivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        status=WebhookDelivery.Status.PENDING,
        event__resource_type=OuterRef("event__resource_type"),
        event__resource_id=OuterRef("event__resource_id"),
        pk__lt=OuterRef("pk"),
    )


def endpoints_with_due_deliveries(*, now: datetime) -> list[int]:
    """Active endpoints with a pending delivery that is due (one query; a probe of the due index each)."""
    due = WebhookDelivery.objects.filter(
        endpoint_id=OuterRef("pk"), status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    )
    return list(
        WebhookEndpoint.objects.filter(is_active=True)
        .filter(Exists(due))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def endpoint_staff_recipients() -> list[str]:
    """Addresses told when an endpoint is turned off: active staff who may change endpoints (superusers
    too), or settings.ADMINS when none of them has an address."""
    users = get_user_model().objects.with_perm(
        CHANGE_ENDPOINT_PERMISSION, is_active=True, include_superusers=True
    )
    addresses = sorted(
        {
            email.strip().lower()
            for email in users.filter(is_staff=True).values_list("email", flat=True)
            if email and email.strip()
        }
    )
    if addresses:
        return addresses
    return sorted({address.strip().lower() for _name, address in getattr(settings, "ADMINS", []) if address})
