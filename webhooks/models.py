"""Endpoints staff register, the events written with each change, and their deliveries (the log)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class WebhookEndpoint(models.Model):
    """A URL that receives the events it subscribed to, signed with its own secret (Standard Webhooks)."""

    url = models.URLField(max_length=500, help_text="HTTPS address of the receiver.")
    description = models.CharField(max_length=200, blank=True)
    # "whsec_" + base64 of 24 random bytes: the Standard Webhooks secret format.
    secret = models.CharField(max_length=100, editable=False)
    # After "Give a new signing secret" the old secret signs too, beside the new one, until this time
    # (WEBHOOK_SECRET_OVERLAP_HOURS), so the receiver can be given the new one without failing.
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    event_types = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    # Start of the current run of failed attempts (None while the endpoint answers); a run that lasts
    # too long disables the endpoint and tells staff.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.description or self.url


class WebhookEvent(models.Model):
    """One event, written in the same transaction as the change it describes. Never changed after."""

    # The `webhook-id` header: receivers deduplicate on it. "evt_" + 32 hex digits.
    event_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=60, db_index=True)
    # What the event is about; deliveries to one endpoint keep the order of events per resource.
    resource_type = models.CharField(max_length=40)
    resource_id = models.CharField(max_length=64)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["resource_type", "resource_id"], name="webhook_event_resource")]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookDelivery(models.Model):
    """An event owed to one endpoint: pending until the endpoint answers 2xx, then delivered."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once_per_endpoint"),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="webhook_delivery_delivered_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery, as the admin's delivery log shows it."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # What the receiver answered, cut short: enough to see why it refused.
    response_excerpt = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.delivery} at {self.started_at:%Y-%m-%d %H:%M:%S}"
