"""Staff keep the VAT rates table here (docs/tax.md): one row per country, tax class and period.

Superusers only: no staff role has these permissions (docs/staff.md), since a wrong rate is wrong
money on every order to that country. The form refuses a period that overlaps another row of the
same country and class, so `tax.rules.vat_rate` always finds at most one row for a day.
"""

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils import timezone

from .models import TaxRate
from .selectors import EU_COUNTRIES


def _day(day) -> str:
    return f"{day.day} {day:%B %Y}"


class TaxRateForm(forms.ModelForm):
    class Meta:
        model = TaxRate
        fields = ["country", "tax_class", "rate", "valid_from", "valid_until", "note"]

    def clean_country(self) -> str:
        country = (self.cleaned_data.get("country") or "").strip().upper()
        if country not in EU_COUNTRIES:
            raise forms.ValidationError(
                "Enter the two-letter code of an EU member state (e.g. DE, FR; Greece is GR). Deliveries "
                "outside the EU are exports at 0 % and need no row."
            )
        return country

    def clean(self):
        cleaned = super().clean()
        country, tax_class = cleaned.get("country"), cleaned.get("tax_class")
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if not (country and tax_class and start):
            return cleaned
        if end is not None and end < start:
            self.add_error("valid_until", "The last day cannot be before the first day.")
            return cleaned
        overlapping = TaxRate.objects.filter(country=country, tax_class=tax_class).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=start)
        )
        if end is not None:
            overlapping = overlapping.filter(valid_from__lte=end)
        if self.instance.pk:
            overlapping = overlapping.exclude(pk=self.instance.pk)
        other = overlapping.order_by("valid_from").first()
        if other is not None:
            until = f"until {_day(other.valid_until)}" if other.valid_until else "with no end date"
            raise forms.ValidationError(
                f"This period overlaps the {country} {other.get_tax_class_display().lower()} of "
                f"{other.rate} % from {_day(other.valid_from)} {until}. Only one rate may apply on a "
                "day: give that row a last day before this one starts (or change these dates) first."
            )
        return cleaned


class InForceTodayFilter(admin.SimpleListFilter):
    title = "in force today"
    parameter_name = "today"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        in_force = Q(valid_from__lte=today) & (Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        if self.value() == "yes":
            return queryset.filter(in_force)
        if self.value() == "no":
            return queryset.exclude(in_force)
        return queryset


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    form = TaxRateForm
    list_display = ["country", "tax_class", "rate", "valid_from", "valid_until", "in_force_today", "note"]
    list_filter = [InForceTodayFilter, "tax_class", "country"]
    search_fields = ["country", "note"]
    ordering = ["country", "tax_class", "-valid_from"]
    list_per_page = 100

    @admin.display(boolean=True, description="In force today")
    def in_force_today(self, obj: TaxRate) -> bool:
        today = timezone.localdate()
        return obj.valid_from <= today and (obj.valid_until is None or today <= obj.valid_until)
