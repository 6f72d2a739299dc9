"""The API's own tables: integrations' keys and the answers kept for retried requests."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ApiKey(models.Model):
    """One integration's key (an ERP, a warehouse system). Only a hash of the key is stored.

    The key itself is shown once, when staff create it in the admin (api.services.keys). A revoked key
    stays, so its requests and deliveries can still be traced to it.
    """

    name = models.CharField(max_length=100, help_text="Who uses this key, e.g. “Warehouse system”.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    rate_limit_per_minute = models.PositiveIntegerField(
        default=600, help_text="Requests per minute this key may make; more are answered 429."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the shop's records ("who did it": the ledger, a purchase order's date history, an order's
    # timeline) name for this key's changes: an account made with the key that cannot sign in.
    acting_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=Q(rate_limit_per_minute__gte=1), name="api_key_rate_limit_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotentRequest(models.Model):
    """The first answer to a POST with an `Idempotency-Key`, replayed when the request is retried.

    Written by api.idempotency after the change commits. The change itself is guarded by a
    SubmissionKey claimed in its own transaction (shop.submissions), so a retry that arrives before
    this row exists still changes nothing twice.
    """

    key = models.CharField(max_length=255, unique=True)
    # "key:<ApiKey pk>" or "user:<User pk>": who sent it. Another client's key is answered 409.
    owner = models.CharField(max_length=40)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        # For staff: the answers an integration gets again when it retries a POST (docs/api.md).
        verbose_name = "kept API answer"
        constraints = [
            models.CheckConstraint(
                condition=Q(status_code__gte=200, status_code__lt=500), name="idempotent_request_status_kept"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"
