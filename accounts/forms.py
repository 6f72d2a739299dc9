"""Forms of the accounts: the admin's user forms (by email)."""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _

from .models import User


def _email_unused(form: forms.ModelForm, email: str) -> str:
    """The normalised address, or a form error if another account has it in any case."""
    email = User.objects.normalize_email(email).strip()
    taken = User.objects.filter(email__iexact=email)
    if form.instance.pk is not None:
        taken = taken.exclude(pk=form.instance.pk)
    if taken.exists():
        raise forms.ValidationError(_("An account with this email address already exists."))
    return email


class UserAddForm(auth_forms.AdminUserCreationForm):
    """The admin's "add user": an email and a password (or none: the user resets one)."""

    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        return _email_unused(self, self.cleaned_data["email"])


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        return _email_unused(self, self.cleaned_data["email"])
