"""The admin's users: email accounts (staff, superusers, groups, whether the address is confirmed)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .forms import UserAddForm, UserChangeForm
from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserAddForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("email_verified_at", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),
    )
    list_display = ("email", "first_name", "last_name", "is_staff", "is_superuser", "verified")
    list_filter = (
        "is_staff",
        "is_superuser",
        "is_active",
        "groups",
        ("email_verified_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")

    def save_model(self, request, obj: User, form, change: bool) -> None:
        # A new address is not confirmed (its guest orders attach when its owner opens the link).
        if change and "email" in form.changed_data and "email_verified_at" not in form.changed_data:
            obj.email_verified_at = None
        super().save_model(request, obj, form, change)

    @admin.display(description=_("email confirmed"), boolean=True, ordering="email_verified_at")
    def verified(self, obj: User) -> bool:
        return obj.email_verified_at is not None
