"""Staff create and revoke integrations' API keys here. A new key is shown once, right after creation."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from .models import ApiKey, IdempotentRequest
from .scopes import SCOPE_CHOICES
from .services import api_key_create, api_key_revoke


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="What this integration may do. Give it only what it needs.",
    )
    rate_limit_per_minute = forms.IntegerField(
        min_value=1,
        max_value=1_000_000,
        initial=600,
        help_text="Requests per minute this key may make; more are answered 429.",
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "rate_limit_per_minute"]


class KeyStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ["css/admin_pages.css"]}  # the checkbox list on full-width lines

    list_display = ["name", "prefix_shown", "scopes_shown", "per_minute", "state", "last_used"]
    list_filter = [KeyStateFilter]
    search_fields = ["name", "prefix"]
    readonly_fields = [
        "name",
        "prefix_shown",
        "scopes_shown",
        "rate_limit_per_minute",
        "acting_user",
        "created_by",
        "created_at",
        "revoked_at",
        "last_used_at",
    ]
    actions = ["revoke_keys"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_fields(self, request, obj=None):
        return ["name", "scopes", "rate_limit_per_minute"] if obj is None else self.readonly_fields

    @admin.display(description="Key starts with")
    def prefix_shown(self, obj: ApiKey) -> str:
        return f"shk_{obj.prefix}_…"

    @admin.display(description="Per minute", ordering="rate_limit_per_minute")
    def per_minute(self, obj: ApiKey) -> int:
        return obj.rate_limit_per_minute

    @admin.display(description="Scopes")
    def scopes_shown(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="State", ordering="revoked_at")
    def state(self, obj: ApiKey) -> str:
        if obj.revoked_at:
            return f"Revoked {timezone.localtime(obj.revoked_at):%-d %b %Y}"
        return "Active"

    @admin.display(description="Last used", ordering="last_used_at")
    def last_used(self, obj: ApiKey) -> str:
        if obj.last_used_at is None:
            return "Never"
        return f"{timezone.localtime(obj.last_used_at):%-d %b %Y %H:%M}"

    def save_model(self, request, obj, form, change):
        if change:
            return  # keys are not edited: revoke one and create another
        # The form checked the name, the scopes (one at least, from the list) and the limit (1 or more),
        # which is all the service asks.
        key, raw = api_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            rate_limit_per_minute=form.cleaned_data["rate_limit_per_minute"],
            created_by_id=request.user.pk,
        )
        # The admin goes on with `obj` (its log entry, its "added" message): make it the key just made.
        for field in ("pk", "prefix", "key_hash", "scopes", "created_at", "created_by_id"):
            setattr(obj, field, getattr(key, field))
        messages.warning(
            request,
            format_html(
                "The key for “{}” is <code>{}</code>. Copy it now: it is shown only this once, "
                "and the shop keeps only a fingerprint of it.",
                key.name,
                raw,
            ),
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and obj is None

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: a deleted key's history would be lost

    @admin.action(description="Revoke the selected keys (they stop working at once)", permissions=["revoke"])
    def revoke_keys(self, request, queryset) -> None:
        revoked = sum(api_key_revoke(key_id=pk) for pk in queryset.values_list("pk", flat=True))
        messages.success(request, f"{revoked} key{'s' if revoked != 1 else ''} revoked.")

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("api.change_apikey")


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(admin.ModelAdmin):
    list_display = ["created_at", "method", "path", "status_code", "owner"]
    search_fields = ["key", "path"]
    list_filter = ["status_code"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
