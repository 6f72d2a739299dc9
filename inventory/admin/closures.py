"""Shop closures: days nothing ships, beyond weekends and public holidays (inventory/calendar.py).

Saving one changes every date the shop shows from the next page view; waiting lines' stored dates
follow at the next delay check or the daily scan.
"""

from django.contrib import admin

from inventory.models import ShopClosure


@admin.register(ShopClosure)
class ShopClosureAdmin(admin.ModelAdmin):
    list_display = ["starts_on", "ends_on", "reason"]
    date_hierarchy = "starts_on"
    search_fields = ["reason"]
    ordering = ["-starts_on", "pk"]
