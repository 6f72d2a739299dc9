"""Shared by the delivery and admin tests: an endpoint, events written as a change writes them, a clock."""

from datetime import UTC, datetime

from django.db import transaction

from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services.events import Event, webhook_events_record

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def endpoint(url: str, *types: str) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        url=url, secret=SECRET, event_types=list(types or ["stock.changed"])
    )


def record(*resources, event_type: str = "stock.changed") -> list[str]:
    """One event per resource id given (in that order), written in one transaction; their event ids."""
    with transaction.atomic():
        webhook_events_record(
            events=[
                Event(
                    type=event_type,
                    resource_type="variant",
                    resource_id=str(rid),
                    data={"variant_id": rid, "n": n},
                )
                for n, rid in enumerate(resources)
            ]
        )
    return list(
        WebhookDelivery.objects.order_by("-pk").values_list("event__event_id", flat=True)[: len(resources)]
    )[::-1]


def statuses() -> list[str]:
    return list(WebhookDelivery.objects.order_by("pk").values_list("status", flat=True))
