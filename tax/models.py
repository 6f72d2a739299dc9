"""VAT rates per country and tax class, with the dates they apply (docs/tax.md).

Staff keep the table in the admin. A rate applies from `valid_from` (inclusive) to `valid_until`
(inclusive; empty: until further notice). The rule that picks a rate for a date lives in
`tax.rules`; rows never overlap for one country and class (checked when saved).
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class TaxClass(models.TextChoices):
    STANDARD = "standard", _("Standard rate")
    REDUCED = "reduced", _("Reduced rate")
    ZERO = "zero", _("Zero rate")


class TaxRate(models.Model):
    country = models.CharField(max_length=2, help_text="ISO 3166 country code, e.g. DE.")
    tax_class = models.CharField(max_length=10, choices=TaxClass.choices)
    rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="Percent, e.g. 19.00.")
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True, help_text="Last day it applies; empty: no end yet.")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["country", "tax_class", "-valid_from"]
        verbose_name = "VAT rate"
        constraints = [
            models.UniqueConstraint(
                fields=["country", "tax_class", "valid_from"], name="taxrate_one_per_start"
            ),
            models.CheckConstraint(
                condition=Q(rate__gte=Decimal("0"), rate__lt=Decimal("100")), name="taxrate_rate_0_to_100"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="taxrate_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.tax_class} {self.rate}% from {self.valid_from}"
