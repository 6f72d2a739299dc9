"""The email outbox, back-in-stock subscriptions and their waves, low-stock state.

Every email is first a `Notification` row, written in the same transaction as
the change it tells about, with a unique `dedupe_key`: the row cannot be lost
(it commits with the change) and cannot be created twice. Celery sends it; a
periodic sweep re-sends what a lost broker message or a dead worker left behind.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationKind(models.TextChoices):
    ORDER_CONFIRMED = "order_confirmed", "Order confirmed"
    ORDER_SHIPPED = "order_shipped", "Order shipped"
    ORDER_CANCELLED = "order_cancelled", "Items cancelled"
    BACKORDER_ALLOCATED = "backorder_allocated", "Backordered items allocated"
    ORDER_DELAYED = "order_delayed", "Backorder delayed"
    BACK_IN_STOCK = "back_in_stock", "Back in stock"
    SUBSCRIPTION_CONFIRM = "subscription_confirm", "Confirm back-in-stock alert"
    LOW_STOCK_ALERT = "low_stock_alert", "Low stock (staff)"
    STAFF_DELAY_DIGEST = "staff_delay_digest", "Escalated backorders digest (staff)"
    FEEDBACK_REQUEST = "feedback_request", "Feedback request"
    QUESTION_TO_STAFF = "question_to_staff", "Customer question (to customer service)"
    QUESTION_RECEIVED = "question_received", "Customer question received"
    QUESTION_ANSWERED = "question_answered", "Answer to a customer question"
    CARD_PAYMENT_NEEDED = "card_payment_needed", "Card payment needed (stock set aside)"
    CARD_PAYMENT_REMINDER = "card_payment_reminder", "Card payment reminder"
    CARD_PAYMENT_RELEASED = "card_payment_released", "Unpaid items released"
    SUPPLIER_PO = "supplier_po", "Purchase order (to the supplier)"
    SUPPLIER_PO_REMINDER = "supplier_po_reminder", "Purchase order reminder (to the supplier)"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled", "Webhook endpoint turned off (staff)"
    ACCOUNT_VERIFY = "account_verify", "Confirm your email address (account)"
    ACCOUNT_DELETED = "account_deleted", "Account deleted"
    CREDIT_NOTE_ISSUED = "credit_note_issued", "Credit note"
    INVOICE_ISSUED = "invoice_issued", "Invoice for a payment before shipping"


# Marketing-type mail: carries a one-click unsubscribe link and RFC 8058 headers.
MARKETING_KINDS = frozenset({NotificationKind.BACK_IN_STOCK})


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Notification(models.Model):
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    recipient = models.EmailField()
    # The recipient's language (a code of settings.LANGUAGES); empty: the shop's LANGUAGE_CODE.
    language = models.CharField(max_length=10, blank=True)
    context = models.JSONField(
        default=dict, blank=True, help_text="Ids and values to render with; never HTML."
    )
    # Unique through Meta.constraints, not unique=True: on PostgreSQL the field option also builds a
    # varchar_pattern_ops "_like" index that no query uses (keys are only compared whole).
    dedupe_key = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A pending notification is not sent before this time (retry backoff).",
    )
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a worker started sending it.")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Plain and non-partial, so `INSERT ... ON CONFLICT (dedupe_key)` can name it.
            models.UniqueConstraint(fields=["dedupe_key"], name="notification_dedupe_key_unique"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status__in=["pending", "sending"]),
                name="notification_unsent",
            ),
            models.Index(fields=["kind", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient}"


class SubscriptionStatus(models.TextChoices):
    UNCONFIRMED = "unconfirmed", "Waiting for confirmation"
    ACTIVE = "active", "Active"
    NOTIFIED = "notified", "Notified"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    PURCHASED = "purchased", "Closed: bought it"


OPEN_SUBSCRIPTION_STATUSES = (SubscriptionStatus.UNCONFIRMED, SubscriptionStatus.ACTIVE)


class BackInStockSubscription(models.Model):
    """A customer who asked to hear when a variant is available again."""

    variant = models.ForeignKey("shop.Variant", on_delete=models.CASCADE, related_name="stock_subscriptions")
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=12, choices=SubscriptionStatus.choices, default=SubscriptionStatus.UNCONFIRMED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    wave = models.PositiveIntegerField(null=True, blank=True, help_text="The restock wave that notified it.")
    # The language the customer subscribed in (a code of settings.LANGUAGES): their emails are in it.
    language = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One open subscription per address and variant; closed ones are history.
            models.UniqueConstraint(
                fields=["variant", "email"],
                condition=Q(status__in=["unconfirmed", "active"]),
                name="subscription_one_open_per_email_variant",
            ),
            # Waves pick the oldest confirmations first, so an active one always has its date.
            models.CheckConstraint(
                condition=~Q(status__in=["active", "notified"]) | Q(confirmed_at__isnull=False),
                name="subscription_active_is_confirmed",
            ),
        ]
        indexes = [models.Index(fields=["variant", "status", "confirmed_at", "id"])]

    def __str__(self) -> str:
        return f"{self.email} → {self.variant_id} ({self.get_status_display()})"


class EmailPreference(models.Model):
    """An address that opted out of non-essential email. Order-status mail always goes."""

    email = models.EmailField(unique=True)
    marketing_opt_out = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.email


class RestockWave(models.Model):
    """Back-in-stock wave state of one variant: its latest wave and when the next one is due.

    One row per variant, locked (select_for_update) while a wave is decided, so
    two passes over one variant run one after the other. Wave numbers count up
    over the variant's whole history; `next_wave_due_at` is set while a restock
    may need another wave and cleared when it is over.
    """

    variant = models.OneToOneField("shop.Variant", on_delete=models.CASCADE, related_name="restock_wave")
    number = models.PositiveIntegerField(default=0, help_text="The latest wave sent; 0 before the first.")
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the latest wave went out.")
    free_units = models.PositiveIntegerField(default=0, help_text="Units free to sell when it went out.")
    notified = models.PositiveIntegerField(default=0, help_text="Subscriptions the latest wave notified.")
    next_wave_due_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="Empty when no restock is in progress."
    )

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"variant {self.variant_id}: wave {self.number}"


class LowStockState(models.Model):
    """Whether a variant is at or below its low-stock threshold, so staff hear once per crossing."""

    variant = models.OneToOneField("shop.Variant", on_delete=models.CASCADE, related_name="low_stock_state")
    is_low = models.BooleanField(default=False)
    crossings = models.PositiveIntegerField(default=0, help_text="Times it fell to the threshold or below.")
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "low-stock state"

    def __str__(self) -> str:
        return f"variant {self.variant_id}: {'low' if self.is_low else 'ok'}"
