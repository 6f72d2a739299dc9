"""Delays: the delay email to a customer (`DelayNotice`) and each waiting line's slip (`LineDelay`).

Detected by `orders.delays.detect`, emailed by `orders.delays.notices` (docs/delays.md). Re-exported
from `orders.models`.
"""

from django.db import models
from django.db.models import F, Q

from .choices import DelayCause, DelayChoice, DelayNoticeStatus

# --- delays -------------------------------------------------------------------------------------


class DelayNotice(models.Model):
    """One delay email to an order's customer, collecting every slip found before it goes out.

    While pending it gathers the order's delayed lines (one pending notice per
    order, a partial unique constraint); it is sent when `due_at` passes (a
    quiet period after the last slip, stored here rather than in a Celery
    countdown). The customer's answer to its two links is recorded on it.
    """

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="delay_notices")
    status = models.CharField(
        max_length=10, choices=DelayNoticeStatus.choices, default=DelayNoticeStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(
        help_text="Not emailed before this time (quiet period after the last slip)."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    notification = models.ForeignKey(
        "notifications.Notification", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    choice = models.CharField(
        max_length=15, choices=DelayChoice.choices, default=DelayChoice.NONE, blank=True
    )
    choice_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="pending"), name="delaynotice_one_pending_per_order"
            ),
        ]
        indexes = [
            models.Index(fields=["due_at", "id"], condition=Q(status="pending"), name="delaynotice_due"),
        ]

    def __str__(self) -> str:
        return f"Delay notice {self.pk} of order {self.order_id}"


class LineDelay(models.Model):
    """A detected slip of one waiting line: the date we had told the customer, and the new one."""

    notice = models.ForeignKey(DelayNotice, on_delete=models.CASCADE, related_name="line_delays")
    line = models.ForeignKey("orders.OrderLine", on_delete=models.CASCADE, related_name="delays")
    status = models.CharField(
        max_length=10, choices=DelayNoticeStatus.choices, default=DelayNoticeStatus.PENDING
    )
    cause = models.CharField(max_length=20, choices=DelayCause.choices)
    purchase_order = models.ForeignKey(
        "inventory.PurchaseOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    old_date = models.DateField(help_text="The date the customer had been told.")
    new_date = models.DateField(
        help_text="The projected date, the confident end of the range (updated until the email goes out)."
    )
    new_earliest_date = models.DateField(
        null=True, blank=True, help_text="The earliest end of the new range, as emailed (docs/dates.md)."
    )
    estimated = models.BooleanField(
        default=False, help_text="No purchase order covers it: the new date is today + the lead time."
    )
    lead_time_days = models.PositiveIntegerField(null=True, blank=True)
    units_waiting = models.PositiveIntegerField(default=0, help_text="Units waiting when the email went out.")
    detected_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["line_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["line"], condition=Q(status="pending"), name="linedelay_one_pending_per_line"
            ),
            models.CheckConstraint(condition=Q(new_date__gt=F("old_date")), name="linedelay_is_later"),
        ]

    def __str__(self) -> str:
        return f"line {self.line_id}: {self.old_date} → {self.new_date}"

    @property
    def days_later(self) -> int:
        return (self.new_date - self.old_date).days
