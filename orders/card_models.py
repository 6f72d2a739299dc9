"""Card payments through Stripe: one row per PaymentIntent, one row per webhook event received.

A `CardCharge` is written before Stripe is called (status `pending`, a unique `key` that is also
the call's idempotency key), so a charge that must happen is never only a message in a queue:
a lost message leaves a pending row, and the sweep sends it (orders.tasks). Its amounts move
only forwards: authorized (`amount`), then captured or released, then refunded; the order's
`Payment` holds their sums (the numbers every page already reads), and `payments_reconcile`
checks the two agree.
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from .choices import ChargePurpose, ChargeStatus

ZERO = Decimal("0")


class CardCharge(models.Model):
    payment = models.ForeignKey("orders.Payment", on_delete=models.PROTECT, related_name="charges")
    order_line = models.ForeignKey(
        "orders.OrderLine", null=True, blank=True, on_delete=models.PROTECT, related_name="card_charges"
    )
    purpose = models.CharField(max_length=12, choices=ChargePurpose.choices)
    key = models.CharField(max_length=100, help_text="Unique; Stripe's idempotency key for the call.")
    stripe_id = models.CharField("Stripe PaymentIntent", max_length=100, blank=True)
    units = models.PositiveIntegerField(default=0, help_text="Units of the line this charge pays for.")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    capture_manual = models.BooleanField(default=True, help_text="Authorized now, captured at shipment.")
    amount_captured = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    amount_released = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    amount_refunded = models.DecimalField(max_digits=12, decimal_places=2, default=ZERO)
    status = models.CharField(max_length=16, choices=ChargeStatus.choices, default=ChargeStatus.PENDING)
    failure_code = models.CharField(max_length=60, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    authorized_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the card's hold is no longer trusted (PAYMENT_AUTHORIZATION_DAYS).",
    )
    grace_ends_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A failed charge: the stock stays set aside until then (PAYMENT_GRACE_DAYS).",
    )
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="cardcharge_key_unique"),
            models.CheckConstraint(
                condition=Q(
                    amount__gt=0, amount_captured__gte=0, amount_released__gte=0, amount_refunded__gte=0
                ),
                name="cardcharge_amounts_not_negative",
            ),
            models.CheckConstraint(
                # Rounded to the cent: SQLite adds decimals as floats (29.40 + 64.90 > 94.30 there).
                condition=Q(amount__gte=Round(F("amount_captured") + F("amount_released"), 2)),
                name="cardcharge_capture_and_release_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__lte=F("amount_captured")),
                name="cardcharge_refund_within_captured",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="cardcharge_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.amount} ({self.get_status_display()})"

    @property
    def amount_open(self) -> Decimal:
        """Held on the card, neither captured nor released."""
        if self.status != ChargeStatus.AUTHORIZED:
            return ZERO
        return self.amount - self.amount_captured - self.amount_released


class StripeEvent(models.Model):
    """A webhook event from Stripe, kept once per event id: a second delivery changes nothing."""

    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["event_id"], name="stripeevent_event_id_unique")]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
