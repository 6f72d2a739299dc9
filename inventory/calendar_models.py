"""Days the shop is closed for shipping beyond weekends and public holidays (staff closures).

Imported at the bottom of inventory/models.py so Django registers the model with the app.
`inventory.selectors.calendar.shipping_calendar` reads it; the admin edits it (plain reference data).
"""

from django.db import models
from django.db.models import F, Q


class ShopClosure(models.Model):
    """A range of days, first to last inclusive, on which nothing ships (stocktake, a move, a holiday)."""

    starts_on = models.DateField(help_text="First day closed.")
    ends_on = models.DateField(help_text="Last day closed (the same day for a one-day closure).")
    reason = models.CharField(max_length=200, help_text="Shown to staff only, e.g. 'Warehouse stocktake'.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "inventory"
        ordering = ["-starts_on", "pk"]
        indexes = [models.Index(fields=["ends_on"], name="shopclosure_ends_on")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="shopclosure_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        if self.starts_on == self.ends_on:
            return f"{self.starts_on.isoformat()}: {self.reason}"
        return f"{self.starts_on.isoformat()} to {self.ends_on.isoformat()}: {self.reason}"
