"""The forms of a customer's saved addresses and of deleting their account."""

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.forms import CheckoutForm
from shop.form_fields import SingleLineField

from .models import Address
from .services.addresses import AddressData


def _length(name: str) -> int:
    """How many characters `Address.<name>` holds (the same as the order's column)."""
    return Address._meta.get_field(name).max_length


def country_choices() -> list[tuple[str, str]]:
    """The countries the checkout delivers to, as its form offers them (an address saved with
    another country could never be used)."""
    return list(CheckoutForm.base_fields["country"].choices)


class AddressForm(forms.ModelForm):
    """Add or change a saved address; the fields and limits are the checkout's."""

    full_name = SingleLineField(label=_("Full name"), max_length=_length("full_name"))
    company_name = SingleLineField(
        label=_("Company (optional)"), max_length=_length("company_name"), required=False
    )
    address_line1 = SingleLineField(label=_("Address"), max_length=_length("address_line1"))
    address_line2 = SingleLineField(
        label=_("Address (line 2)"), max_length=_length("address_line2"), required=False
    )
    city = SingleLineField(label=_("City"), max_length=_length("city"))
    postcode = SingleLineField(label=_("Postcode"), max_length=_length("postcode"))
    country = forms.ChoiceField(label=_("Country"), choices=country_choices)
    is_default = forms.BooleanField(label=_("Use this address by default at checkout"), required=False)

    class Meta:
        model = Address
        fields = [
            "full_name",
            "company_name",
            "address_line1",
            "address_line2",
            "city",
            "postcode",
            "country",
            "is_default",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, hint in {
            "full_name": "name",
            "company_name": "organization",
            "address_line1": "address-line1",
            "address_line2": "address-line2",
            "city": "address-level2",
            "postcode": "postal-code",
            "country": "country",
        }.items():
            self.fields[name].widget.attrs["autocomplete"] = hint

    def address_data(self) -> AddressData:
        return AddressData.from_mapping(self.cleaned_data)


class AccountDeleteForm(forms.Form):
    """Deleting the account asks for its password (the service checks it)."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Enter your password to delete your account.")},
    )
