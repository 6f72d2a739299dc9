"""Admin for the outbox and back-in-stock alerts.

Outbox rows are read-only: staff never edit an email by hand; they can retry
failed ones and preview every kind of email with sample data.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.views.decorators.clickjacking import xframe_options_sameorigin

from shop.formatting import datetime_in_words

from .emails import CONTEXT_BUILDERS, SAMPLE_CONTEXTS, PermanentEmailError, render_notification
from .models import (
    BackInStockSubscription,
    EmailPreference,
    LowStockState,
    Notification,
    NotificationKind,
    NotificationStatus,
    RestockWave,
)
from .services import notification_retry_failed

PREVIEW_RECIPIENT = "customer@example.com"


def email_preview(kind: str) -> dict:
    """Subject, headers, text and HTML of a `kind` email rendered with sample data.

    `missing` explains why there is nothing to show: no builder or sample for
    the kind yet, or no rows to build a sample from.
    """
    if kind not in CONTEXT_BUILDERS or kind not in SAMPLE_CONTEXTS:
        return {"missing": "No preview yet for this kind of email."}
    context = SAMPLE_CONTEXTS[kind]()
    if context is None:
        return {
            "missing": "No sample data yet: the shop has nothing this email could be built from "
            "(for example no product, or no order of that kind yet)."
        }
    notification = Notification(kind=kind, recipient=PREVIEW_RECIPIENT, context=context)
    try:
        subject, text, html, headers = render_notification(notification)
    except PermanentEmailError as exc:
        return {"missing": f"This email cannot be rendered: {exc}"}
    return {"subject": subject, "text": text, "html": html, "headers": headers}


def retry_state(notification: Notification) -> str:
    """'Pending: retrying at 14:32, attempt 3 of 6' for an email whose last attempt failed and that waits
    for the next (the delivery service's backoff, `next_attempt_at`); '' for any other."""
    if notification.attempts == 0 or notification.status not in (
        NotificationStatus.PENDING,
        NotificationStatus.SENDING,
    ):
        return ""
    of = f"of {settings.NOTIFICATIONS_MAX_ATTEMPTS}"
    if notification.status == NotificationStatus.SENDING:
        return f"Sending: attempt {notification.attempts} {of}"
    attempt = f"attempt {notification.attempts + 1} {of}"
    due = notification.next_attempt_at
    if due is None:
        return f"Pending: {attempt}"
    now = timezone.now()
    local = timezone.localtime(due)
    when = local.strftime("%H:%M") if local.date() == timezone.localdate(now) else datetime_in_words(due)
    if due <= now:
        return f"Pending: retry due since {when}, {attempt}"
    return f"Pending: retrying at {when}, {attempt}"


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    # The error next to the status: staff read them together (SMTP down: why, and when the next try is).
    list_display = ["id", "kind", "recipient", "state", "error", "attempts", "created_at", "sent_at"]
    list_filter = ["kind", "status", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["recipient", "dedupe_key"]
    readonly_fields = [
        "kind",
        "recipient",
        "status",
        "dedupe_key",
        "context",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
    ]
    fields = readonly_fields
    actions = ["retry_failed"]
    change_list_template = "notifications/admin/notification_change_list.html"
    show_full_result_count = False  # the outbox grows large; skip the extra COUNT(*)

    @admin.display(description="status", ordering="status")
    def state(self, obj: Notification) -> str:
        """The status, and for an email that failed and waits for its next try (SMTP down, say): when
        that try is due and which it will be, "Pending: retrying at 14:32, attempt 3 of 6"."""
        return retry_state(obj) or obj.get_status_display()

    @admin.display(description="last error")
    def error(self, obj: Notification) -> str:
        """Why the last attempt failed: for failed emails and for those waiting to be retried (the
        delivery service records it with each failed attempt); sent ones clear it."""
        if obj.status in (NotificationStatus.FAILED, NotificationStatus.PENDING, NotificationStatus.SENDING):
            return Truncator(obj.last_error).chars(120)
        return ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.change_notification")

    @admin.action(description="Retry failed notifications", permissions=["retry"])
    def retry_failed(self, request: HttpRequest, queryset) -> None:
        count = notification_retry_failed(notification_ids=queryset.values_list("pk", flat=True))
        skipped = queryset.count() - count
        message = f"{count} failed notification{'s' if count != 1 else ''} queued to send again."
        if skipped:
            message += f" {skipped} not failed, left alone."
        self.message_user(request, message, messages.SUCCESS if count else messages.WARNING)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("preview/", view(self.preview_index), name="notifications_notification_preview_index"),
            path("preview/<str:kind>/", view(self.preview), name="notifications_notification_preview"),
            path(
                "preview/<str:kind>/html/",
                view(self.preview_html),
                name="notifications_notification_preview_html",
            ),
            *super().get_urls(),
        ]

    def _check_kind(self, request: HttpRequest, kind: str) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if kind not in NotificationKind.values:
            raise Http404("No such kind of email")

    def preview_index(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        kinds = [
            {
                "value": value,
                "label": label,
                "available": value in CONTEXT_BUILDERS and value in SAMPLE_CONTEXTS,
                "url": reverse("admin:notifications_notification_preview", args=[value]),
            }
            for value, label in NotificationKind.choices
        ]
        return TemplateResponse(
            request,
            "notifications/admin/preview_index.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Preview emails",
                "kinds": kinds,
            },
        )

    def preview(self, request: HttpRequest, kind: str) -> HttpResponse:
        self._check_kind(request, kind)
        return TemplateResponse(
            request,
            "notifications/admin/preview.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": f"Preview: {NotificationKind(kind).label}",
                "kind": kind,
                "recipient": PREVIEW_RECIPIENT,
                "preview": email_preview(kind),
                "html_url": reverse("admin:notifications_notification_preview_html", args=[kind]),
            },
        )

    @xframe_options_sameorigin  # shown in a sandboxed iframe on the preview page
    def preview_html(self, request: HttpRequest, kind: str) -> HttpResponse:
        self._check_kind(request, kind)
        preview = email_preview(kind)
        if "html" not in preview:
            raise Http404(preview["missing"])
        response = HttpResponse(preview["html"])
        response["Content-Security-Policy"] = "script-src 'none'"
        return response


@admin.register(BackInStockSubscription)
class BackInStockSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["email", "sku", "product", "status", "created_at", "confirmed_at", "notified_at", "wave"]
    list_filter = [
        "status",
        ("variant__product__category", admin.RelatedOnlyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
        ("confirmed_at", admin.DateFieldListFilter),
        ("notified_at", admin.DateFieldListFilter),
    ]
    search_fields = ["email", "variant__sku"]
    list_select_related = ["variant__product"]
    raw_id_fields = ["variant", "user"]
    readonly_fields = ["created_at", "confirmed_at", "notified_at", "wave"]
    show_full_result_count = False

    @admin.display(description="SKU", ordering="variant__sku")
    def sku(self, obj: BackInStockSubscription) -> str:
        return obj.variant.sku

    @admin.display(ordering="variant__product__name")
    def product(self, obj: BackInStockSubscription) -> str:
        return obj.variant.product.name


@admin.register(RestockWave)
class RestockWaveAdmin(admin.ModelAdmin):
    """Where each variant's back-in-stock waves stand; written only by the wave services."""

    list_display = ["variant", "number", "started_at", "free_units", "notified", "next_wave_due_at"]
    list_select_related = ["variant__product"]
    search_fields = ["=variant__sku"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(LowStockState)
class LowStockStateAdmin(admin.ModelAdmin):
    list_display = ["variant", "is_low", "crossings", "changed_at"]
    list_filter = ["is_low"]
    list_select_related = ["variant__product"]
    search_fields = ["=variant__sku"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(EmailPreference)
class EmailPreferenceAdmin(admin.ModelAdmin):
    list_display = ["email", "marketing_opt_out", "updated_at"]
    list_filter = ["marketing_opt_out"]
    search_fields = ["email"]
