"""The staff email of an endpoint turned off after failing: its context builder and admin sample.

The outbox row is written by webhooks.services.endpoints when the endpoint is turned off; the
outbox renders it with this builder (registered by WebhooksConfig.ready()) and
templates/notifications/email/webhook_endpoint_disabled.*.
"""

from datetime import datetime

from django.urls import reverse

from notifications.emails import PermanentEmailError, absolute_url, register_builder
from notifications.models import NotificationKind
from shop.formatting import datetime_in_words

from .models import WebhookEndpoint


def _endpoint_disabled(context: dict) -> dict:
    endpoint = WebhookEndpoint.objects.filter(pk=context.get("endpoint_id")).first()
    if endpoint is None:
        raise PermanentEmailError(f"webhook endpoint {context.get('endpoint_id')} no longer exists")
    since = context.get("failing_since")
    return {
        "endpoint": endpoint,
        "failures": context.get("failures"),
        "failing_since": datetime_in_words(datetime.fromisoformat(since)) if since else "",
        "pending": endpoint.deliveries.filter(status="pending").count(),
        "admin_url": absolute_url(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])),
    }


def _sample() -> dict | None:
    endpoint = WebhookEndpoint.objects.order_by("pk").first()
    if endpoint is None:
        return None
    return {"endpoint_id": endpoint.pk, "failures": 12, "failing_since": endpoint.created_at.isoformat()}


def register() -> None:
    register_builder(NotificationKind.WEBHOOK_ENDPOINT_DISABLED, _endpoint_disabled, sample=_sample)
