"""Stripe's webhook events as received, read-only: what came, when, and what the shop did with it.

The "Disputes" filter lists the disputes (a dispute is also a staff note on its order's timeline,
starting "Disputed:"). Written only by orders.services.stripe_events.
"""

import json

from django.contrib import admin
from django.utils.html import format_html

from orders.models import StripeEvent
from shop.formatting import datetime_in_words

from .base import ReadOnlyAdmin


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [
            ("disputes", "Disputes"),
            ("refunds", "Refunds"),
            ("payments", "Payments"),
            ("unprocessed", "Not processed"),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "disputes":
                return queryset.filter(type__startswith="charge.dispute.")
            case "refunds":
                return queryset.filter(type="charge.refunded")
            case "payments":
                return queryset.filter(type__startswith="payment_intent.")
            case "unprocessed":
                return queryset.filter(processed_at__isnull=True)
        return queryset


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["received", "type", "event_id", "processed", "result"]
    list_filter = [KindFilter, "type"]
    search_fields = ["event_id", "type", "result"]
    ordering = ["-received_at", "-pk"]
    show_full_result_count = False  # events only accumulate; skip the second COUNT(*) when filtering
    fields = ["type", "event_id", "received", "processed", "result", "payload_json"]
    readonly_fields = fields

    def get_queryset(self, request):
        # The list needs no payload (it can be a few kilobytes per event); the change page does.
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("_changelist"):
            queryset = queryset.defer("payload")
        return queryset

    @admin.display(description="Received", ordering="received_at")
    def received(self, obj: StripeEvent) -> str:
        return datetime_in_words(obj.received_at)

    @admin.display(description="Processed", ordering="processed_at")
    def processed(self, obj: StripeEvent) -> str:
        return datetime_in_words(obj.processed_at) if obj.processed_at else "—"

    @admin.display(description="Payload")
    def payload_json(self, obj: StripeEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))
