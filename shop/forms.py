"""Forms of the customer pages: catalog query parameters and sign-up."""

from typing import NamedTuple

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import BaseUserCreationForm
from django.utils.translation import gettext_lazy as _

from .form_fields import SingleLineField
from .selectors import AVAILABILITY_CHOICES, DEFAULT_SORT, SEARCH_SORT, SEARCH_SORT_CHOICES, SORT_CHOICES

QUERY_MAX_LENGTH = 100


class CatalogQuery(NamedTuple):
    query: str
    sort: str
    availability: str


class CatalogQueryForm(forms.Form):
    """The `?q=`, `?sort=` and `?availability=` parameters of a listing.

    Never rejects a request: a bad value is dropped and its default used, so a
    hand-edited URL shows a page instead of an error. The query is one line (`SingleLineField`:
    whitespace collapsed; one with control characters is dropped), cut to QUERY_MAX_LENGTH.
    """

    q = SingleLineField(label=_("Search"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)
    availability = forms.ChoiceField(label=_("Availability"), choices=AVAILABILITY_CHOICES, required=False)
    default_sort = DEFAULT_SORT

    def clean_q(self) -> str:
        return self.cleaned_data["q"][:QUERY_MAX_LENGTH]

    def values(self) -> CatalogQuery:
        """(query, sort, availability) with invalid values replaced by their defaults."""
        self.is_valid()
        return CatalogQuery(
            query=self.cleaned_data.get("q") or "",
            sort=self.cleaned_data.get("sort") or self.default_sort,
            availability=self.cleaned_data.get("availability") or "",
        )

    @staticmethod
    def availability_label(value: str) -> str:
        """'Available now' for 'now'; '' for no filter."""
        return dict(AVAILABILITY_CHOICES).get(value, "") if value else ""


class SearchQueryForm(CatalogQueryForm):
    """The search page's parameters: a listing's, with "Best match" (shop.search's rank) first and
    the default sort."""

    sort = forms.ChoiceField(label=_("Sort by"), choices=SEARCH_SORT_CHOICES, required=False)
    default_sort = SEARCH_SORT


class SignupForm(BaseUserCreationForm):
    """A new customer account: the email address (the login; where the shop writes) and a password."""

    class Meta(BaseUserCreationForm.Meta):
        model = get_user_model()
        fields = ("email",)
        help_texts = {
            "email": _("You log in with it; we also send the emails about your orders to it."),
        }

    def clean_email(self) -> str:
        email = get_user_model().objects.normalize_email(self.cleaned_data["email"]).strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this email address already exists."))
        return email
