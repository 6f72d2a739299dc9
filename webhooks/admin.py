"""Webhooks in the admin: endpoints staff register, and the delivery log (docs/api.md, "Webhooks").

Endpoints: created with a signing secret made by the shop (shown on the endpoint's page, to give to
the receiver), event types chosen by checkboxes, turned off and on ("Active"; turning it on sends
what waited), "Send a test event", "Give a new signing secret". Events and deliveries are read-only:
each delivery shows its attempts, and "Send again" re-queues delivered or given-up deliveries, once
per submission of the list (its one-time key, shop.submissions).
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from shop.formatting import datetime_in_words
from shop.submissions import AlreadySubmitted, SubmissionKeyForm, submission_key_new

from .event_types import EVENT_TYPE_CHOICES, EVENT_TYPES
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .selectors import CHANGE_ENDPOINT_PERMISSION
from .services.delivery import deliveries_replay
from .services.endpoints import (
    endpoint_save,
    endpoint_secret_rotate,
    endpoint_send_test_event,
)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label="Receiver URL",
        help_text="HTTPS address of the receiver.",
    )
    event_types = forms.MultipleChoiceField(
        choices=EVENT_TYPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        label="Events to send",
        help_text="The receiver gets a request for each of these; docs/api.md lists what each carries.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "is_active"]
        labels = {"is_active": "Active"}
        help_texts = {
            "is_active": "Off: nothing is sent, events wait. Turned on again, what waited is sent, oldest first.",
        }

    def clean_event_types(self) -> list[str]:
        return [name for name in EVENT_TYPES if name in self.cleaned_data["event_types"]]


class ReadOnlyInline(admin.TabularInline):
    template = "admin/orders/readonly_tabular.html"
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ["css/admin_pages.css"]}  # the checkbox list on full-width lines

    form = WebhookEndpointForm
    list_display = ["__str__", "url", "is_active", "events", "waiting", "health", "created"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    ordering = ["pk"]
    actions = ["send_test_event_action", "rotate_secret_action"]
    readonly_fields = ["signing_secret", "health", "turned_off", "created"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                waiting_count=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING))
            )
        )

    def get_fields(self, request, obj=None):
        fields = ["url", "description", "event_types", "is_active"]
        return fields if obj is None else [*fields, "signing_secret", "health", "turned_off", "created"]

    @admin.display(description="Events")
    def events(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.event_types) or "none"

    @admin.display(description="Waiting to be sent", ordering="waiting_count")
    def waiting(self, obj: WebhookEndpoint) -> int:
        return obj.waiting_count

    @admin.display(description="Health")
    def health(self, obj: WebhookEndpoint) -> str:
        if not obj.is_active:
            return "Off"
        if obj.failing_since:
            return f"Failing since {datetime_in_words(obj.failing_since)}"
        return "Answering"

    @admin.display(description="Turned off")
    def turned_off(self, obj: WebhookEndpoint) -> str:
        if obj.disabled_at is None:
            return "—"
        return f"{datetime_in_words(obj.disabled_at)}: {obj.disabled_reason}"

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: WebhookEndpoint) -> str:
        return datetime_in_words(obj.created_at)

    @admin.display(description="Signing secret")
    def signing_secret(self, obj: WebhookEndpoint) -> str:
        shown = format_html(
            "<code>{}</code><br><span class='help'>Give it to the receiver: it checks each request's "
            "webhook-signature with it (docs/api.md). Keep it private.</span>",
            obj.secret,
        )
        if obj.previous_secret and obj.previous_secret_until and obj.previous_secret_until > timezone.now():
            shown += format_html(
                "<br><span class='help'>The previous secret signs too until {}, so a receiver that "
                "still has it goes on verifying: give it the new one before then.</span>",
                datetime_in_words(obj.previous_secret_until),
            )
        return shown

    def save_model(self, request, obj, form, change) -> None:
        endpoint_save(endpoint=obj, user_label=request.user.get_username())

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            "The endpoint was created. Copy its signing secret below and give it to the receiver.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:webhooks_webhookendpoint_change", args=[obj.pk]))

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test_event_action(self, request, queryset):
        for endpoint in queryset.order_by("pk"):
            if not endpoint.is_active:
                self.message_user(
                    request, f"{endpoint}: it is off; turn it on to send a test event.", messages.WARNING
                )
                continue
            event_id = endpoint_send_test_event(
                endpoint_id=endpoint.pk, user_label=request.user.get_username()
            )
            self.message_user(
                request,
                f"{endpoint}: a test event ({event_id}) is on its way; the delivery log shows the answer.",
            )

    @admin.action(description="Give a new signing secret", permissions=["change"])
    def rotate_secret_action(self, request, queryset):
        for endpoint in queryset.order_by("pk"):
            endpoint_secret_rotate(endpoint_id=endpoint.pk)
            if settings.WEBHOOK_SECRET_OVERLAP_HOURS:
                overlap = (
                    f"requests are signed with it and the old one for {settings.WEBHOOK_SECRET_OVERLAP_HOURS} "
                    "hours, then with it alone."
                )
            else:
                overlap = "requests from now on are signed with it alone."
            self.message_user(
                request,
                f"{endpoint}: new signing secret; {overlap} Give it to the receiver (the endpoint's page "
                "shows it).",
                messages.WARNING,
            )


class DeliveryInline(ReadOnlyInline):
    model = WebhookDelivery
    fields = ["endpoint", "status", "attempts", "last_answer", "delivered"]
    readonly_fields = fields
    verbose_name_plural = "Deliveries"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("endpoint")

    @admin.display(description="Last answer")
    def last_answer(self, obj: WebhookDelivery) -> str:
        return _last_answer(obj)

    @admin.display(description="Delivered")
    def delivered(self, obj: WebhookDelivery) -> str:
        return datetime_in_words(obj.delivered_at)


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "resource", "created"]
    list_filter = ["type"]
    search_fields = ["event_id", "resource_id"]
    ordering = ["-pk"]
    fields = ["event_id", "type", "resource", "created", "data"]
    readonly_fields = fields
    inlines = [DeliveryInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="About")
    def resource(self, obj: WebhookEvent) -> str:
        return f"{obj.resource_type.replace('_', ' ')} {obj.resource_id}"

    @admin.display(description="Written", ordering="created_at")
    def created(self, obj: WebhookEvent) -> str:
        return datetime_in_words(obj.created_at)


class AttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ["started", "duration", "status_code", "error", "response_excerpt"]
    readonly_fields = fields
    verbose_name_plural = "Attempts"
    ordering = ["pk"]

    @admin.display(description="Sent")
    def started(self, obj: WebhookAttempt) -> str:
        return datetime_in_words(obj.started_at)

    @admin.display(description="Took")
    def duration(self, obj: WebhookAttempt) -> str:
        return f"{obj.duration_ms} ms"


def _deliveries(count: int) -> str:
    return f"{count} deliver{'y' if count == 1 else 'ies'}"


def _last_answer(delivery: WebhookDelivery) -> str:
    if delivery.attempts == 0:
        return "Not sent yet"
    return delivery.last_error or f"Answered {delivery.last_status_code}"


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event_id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_attempt",
        "last_answer",
        "next_attempt",
    ]
    list_filter = ["endpoint", "status", "event__type"]
    list_select_related = ["event", "endpoint"]
    search_fields = ["event__event_id", "event__resource_id"]
    ordering = ["-pk"]
    actions = ["send_again_action"]
    fields = [
        "event_id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_attempt",
        "last_answer",
        "next_attempt",
        "delivered",
    ]
    readonly_fields = fields
    inlines = [AttemptInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_replay_permission(self, request) -> bool:
        return request.user.has_perm(CHANGE_ENDPOINT_PERMISSION)

    @admin.display(description="Event", ordering="event__event_id")
    def event_id(self, obj: WebhookDelivery) -> str:
        url = reverse("admin:webhooks_webhookevent_change", args=[obj.event_id])
        return format_html('<a href="{}">{}</a>', url, obj.event.event_id)

    @admin.display(description="Type", ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description="Last attempt", ordering="last_attempt_at")
    def last_attempt(self, obj: WebhookDelivery) -> str:
        return datetime_in_words(obj.last_attempt_at)

    @admin.display(description="Last answer")
    def last_answer(self, obj: WebhookDelivery) -> str:
        return _last_answer(obj)

    @admin.display(description="Next attempt", ordering="next_attempt_at")
    def next_attempt(self, obj: WebhookDelivery) -> str:
        if obj.status != WebhookDelivery.Status.PENDING:
            return "—"
        if not obj.endpoint.is_active:
            return "When the endpoint is turned on"
        return datetime_in_words(obj.next_attempt_at)

    @admin.display(description="Delivered")
    def delivered(self, obj: WebhookDelivery) -> str:
        return datetime_in_words(obj.delivered_at)

    def changelist_view(self, request, extra_context=None):
        # A fresh one-time key for each rendering of the list's action form (change_list.html).
        return super().changelist_view(
            request, {**(extra_context or {}), "submission_key": submission_key_new()}
        )

    @admin.action(description="Send again", permissions=["replay"])
    def send_again_action(self, request, queryset):
        form = SubmissionKeyForm(request.POST)
        if not form.is_valid():
            self.message_user(request, form.errors["submission_key"][0], messages.ERROR)
            return None
        selected = list(queryset.values_list("pk", flat=True))
        try:
            ids = deliveries_replay(
                delivery_ids=selected,
                submission_key=form.cleaned_data["submission_key"],
                user_id=request.user.pk,
            )
        except AlreadySubmitted as exc:
            self.message_user(request, str(exc), messages.WARNING)
            return None
        waiting = len(selected) - len(ids)
        off = WebhookDelivery.objects.filter(pk__in=ids, endpoint__is_active=False).count()
        parts = []
        if len(ids) - off or not ids:
            parts.append(f"{_deliveries(len(ids) - off)} will be sent again shortly.")
        if off:
            parts.append(f"{_deliveries(off)} will be sent again once the endpoint is turned on.")
        if waiting:
            parts.append(
                f"{_deliveries(waiting)} already waiting to be sent: left as {'it was' if waiting == 1 else 'they were'}."
            )
        message = " ".join(parts)
        self.message_user(request, message)
        return None
