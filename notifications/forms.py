"""The "Notify me when it's back" form."""

from django import forms
from django.utils.translation import gettext_lazy


class NotifyMeForm(forms.Form):
    """An email address for a guest; nothing to fill in for a signed-in customer with an address.

    A signed-in customer's account address is already verified, so their alert
    is active at once; an address typed in is confirmed by email first.
    """

    email = forms.EmailField(
        label=gettext_lazy("Your email address"),
        max_length=254,
        help_text=gettext_lazy("We'll send a link to confirm it, then one email when the item is back."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        authenticated = user is not None and user.is_authenticated
        self.account_email = user.email if authenticated and user.email else ""
        if self.account_email:
            del self.fields["email"]

    @property
    def uses_account(self) -> bool:
        return bool(self.account_email)

    def address(self) -> str:
        """The address to notify; call after is_valid()."""
        return self.account_email or self.cleaned_data["email"]
