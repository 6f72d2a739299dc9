"""Forms of the cart, checkout and order pages, rendered field by field with crispy's Bootstrap 5 pack.

Forms only check the shape of what was posted (a whole number in range, a known
choice); whether it can be sold, at what price and when is decided by
`orders.services`, which reads everything again from the database.
"""

import re
import unicodedata
from functools import lru_cache

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.translation import get_language, gettext, gettext_lazy, ngettext_lazy
from django_countries import countries

from shop.form_fields import SingleLineField
from shop.formatting import money
from shop.models import Variant
from shop.submissions import SubmissionKeyField
from tax.rules import vat_number_check, vat_number_normalize

from .crispy import CrispyBoundField
from .models import CustomerQuestion, NeedByAction, Order, OrderLine, QuestionSubject, ShipPolicy
from .payments import GATEWAYS
from .selectors import MAX_LINE_QUANTITY, shipping_options
from .selectors.quote import TaxDestination
from .services.need_by import NeedBy

# Countries we deliver to (ISO 3166-1 alpha-2), by name.
COUNTRY_CHOICES = [
    ("AT", "Austria"),
    ("BE", "Belgium"),
    ("BG", "Bulgaria"),
    ("HR", "Croatia"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DK", "Denmark"),
    ("EE", "Estonia"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("GR", "Greece"),
    ("HU", "Hungary"),
    ("IS", "Iceland"),
    ("IE", "Ireland"),
    ("IT", "Italy"),
    ("LV", "Latvia"),
    ("LI", "Liechtenstein"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("MT", "Malta"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("RO", "Romania"),
    ("SK", "Slovakia"),
    ("SI", "Slovenia"),
    ("ES", "Spain"),
    ("SE", "Sweden"),
    ("CH", "Switzerland"),
    ("GB", "United Kingdom"),
]


def country_choices() -> list[tuple[str, str]]:
    """COUNTRY_CHOICES' codes named in the active language (django-countries' translations) and
    sorted by that name as its readers expect ("Österreich" among the O's): ("AT", "Österreich")."""
    return list(_country_choices(get_language()))


@lru_cache(maxsize=16)
def _country_choices(language: str | None) -> tuple[tuple[str, str], ...]:
    """Named and sorted once per language and process (32 names: the checkout page and its POST
    would otherwise translate and sort them on every request, several times)."""
    named = [(code, str(countries.name(code)) or name) for code, name in COUNTRY_CHOICES]
    return tuple(sorted(named, key=lambda choice: _sort_key(choice[1])))


def _sort_key(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def _country_field_choices() -> list[tuple[str, str]]:
    return [("", gettext("Choose a country")), *_country_choices(get_language())]


QUANTITY_ERRORS = {
    "required": gettext_lazy("Enter a quantity."),
    "invalid": gettext_lazy("Enter a whole number."),
    "min_value": gettext_lazy("Enter a quantity of at least %(limit_value)s."),
    "max_value": gettext_lazy("You can order at most %(limit_value)s at once."),
}


def default_ship_policy() -> str:
    policy = getattr(settings, "SHOP_DEFAULT_SHIP_POLICY", ShipPolicy.SPLIT)
    return policy if policy in ShipPolicy.values else ShipPolicy.SPLIT


def form_error_text(form: forms.Form) -> str:
    """All of a form's errors as one sentence-per-error string, for a message banner."""
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def quantity_field(**kwargs) -> forms.IntegerField:
    return forms.IntegerField(
        min_value=1,
        max_value=MAX_LINE_QUANTITY,
        error_messages=QUANTITY_ERRORS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        **kwargs,
    )


class CartAddForm(forms.Form):
    """Add a variant to the cart: the variant must exist and be sold; 1..MAX_LINE_QUANTITY units."""

    variant = forms.ModelChoiceField(
        # With its product: the view's "Added ..." message names it without another query.
        queryset=Variant.objects.filter(is_active=True, product__is_active=True).select_related("product"),
        widget=forms.HiddenInput,
        error_messages={
            "required": gettext_lazy("Choose an item to add."),
            "invalid_choice": gettext_lazy("Sorry, that item is no longer sold."),
        },
    )
    quantity = quantity_field(label=gettext_lazy("Quantity"), initial=1)


class CartLineForm(forms.Form):
    """Change the quantity of one cart line (removal is a separate button)."""

    quantity = quantity_field(label=gettext_lazy("Quantity"))


class CardNumberInput(forms.TextInput):
    """A card number field that is never written back into the page."""

    def format_value(self, value):
        return None


def _order_column_length(name: str) -> int:
    """How many characters `Order.<name>` holds: its form field takes no more (a longer value would
    be a database error on PostgreSQL, not a message). config/tests/test_form_limits.py checks every form."""
    return Order._meta.get_field(name).max_length


def payment_method_choices() -> list[tuple[str, str]]:
    """The ways to pay this shop offers: a card through Stripe when its keys are set, an invoice,
    and the test card gateway only where PAYMENT_TEST_GATEWAY allows it (tests, DEBUG)."""
    choices = []
    if settings.STRIPE_ENABLED:
        choices.append(("card", gettext("Card (Visa, Mastercard, American Express)")))
    choices += [
        (code, gateway.label)
        for code, gateway in GATEWAYS.items()
        if code != "test_card" or settings.PAYMENT_TEST_GATEWAY
    ]
    return choices


def default_payment_method() -> str:
    return payment_method_choices()[0][0]


class CheckoutForm(forms.Form):
    """Contact, address, delivery, payment and the backorder terms. No prices, SKUs or quantities:
    those come from the server-side cart. The text fields are stored on the `Order` as cleaned: one
    line each (`SingleLineField`), at most as long as their columns."""

    bound_field_class = CrispyBoundField

    email = forms.EmailField(
        label=gettext_lazy("Email"),
        max_length=_order_column_length("email"),
        help_text=gettext_lazy("We send your confirmation and updates here."),
    )
    full_name = SingleLineField(label=gettext_lazy("Full name"), max_length=_order_column_length("full_name"))
    address_line1 = SingleLineField(
        label=gettext_lazy("Address"), max_length=_order_column_length("address_line1")
    )
    address_line2 = SingleLineField(
        label=gettext_lazy("Address (line 2)"),
        max_length=_order_column_length("address_line2"),
        required=False,
    )
    city = SingleLineField(label=gettext_lazy("City"), max_length=_order_column_length("city"))
    postcode = SingleLineField(label=gettext_lazy("Postcode"), max_length=_order_column_length("postcode"))
    # A callable: named and sorted in the language of each request's form.
    country = forms.ChoiceField(label=gettext_lazy("Country"), choices=_country_field_choices)
    # Signed-in customers only (the page shows it to them, the view ignores it for guests): the
    # address is kept in their account after the order is placed (accounts.services.addresses).
    save_address = forms.BooleanField(label=gettext_lazy("Save this address to my account"), required=False)
    # A business buyer (docs/tax.md), optional: a valid VAT number of another EU country than the
    # shop's, for delivery to that country, makes the order a reverse-charge sale (no VAT charged).
    company_name = SingleLineField(
        label=gettext_lazy("Company name"), max_length=_order_column_length("company_name"), required=False
    )
    vat_number = SingleLineField(
        label=gettext_lazy("VAT number"),
        max_length=_order_column_length("vat_number"),
        required=False,
        help_text=gettext_lazy(
            "Business customers in the EU: with its country code, e.g. FR40303265045. A business in another "
            "EU country than ours pays no VAT (reverse charge)."
        ),
    )
    shipping_method = forms.ChoiceField(label=gettext_lazy("Delivery option"), widget=forms.RadioSelect)
    ship_policy = forms.ChoiceField(
        label=gettext_lazy("When items are not all in stock"),
        choices=ShipPolicy.choices,
        widget=forms.RadioSelect,
    )
    payment_method = forms.ChoiceField(label=gettext_lazy("Payment method"), widget=forms.RadioSelect)
    # Card payments through Stripe: the card is typed into Stripe's own field (Stripe.js), never
    # into this form; the page's script puts the confirmed SetupIntent here (and, after 3-D Secure
    # at checkout, the PaymentIntent) before it submits.
    card_setup_intent = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)
    card_payment_intent = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)
    card_number = SingleLineField(
        label=gettext_lazy("Card number"),
        required=False,
        max_length=23,
        help_text=gettext_lazy(
            "Only when paying by card. Test cards: 4242 4242 4242 4242 is accepted, 4000 0000 0000 0002 is declined."
        ),
        widget=CardNumberInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )
    accept_backorder_terms = forms.BooleanField(
        label=gettext_lazy("I accept the backorder terms"), required=False
    )
    # "I need it by" (optional, for the waiting items): orders.services.need_by.
    need_by = forms.DateField(
        label=gettext_lazy("I need the waiting items by"),
        required=False,
        help_text=gettext_lazy("Optional. Leave it empty if any date is fine."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    need_by_action = forms.ChoiceField(
        label=gettext_lazy("If they cannot arrive by then"),
        choices=NeedByAction.choices,
        initial=NeedByAction.ASK,
        required=False,
        widget=forms.RadioSelect,
    )
    accept_need_by_late = forms.BooleanField(
        label=gettext_lazy("I understand they may arrive after that date"), required=False
    )
    idempotency_key = forms.CharField(
        widget=forms.HiddenInput, max_length=_order_column_length("idempotency_key")
    )

    def __init__(self, *args, requires_terms: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.requires_terms = requires_terms
        self.show_delivery_costs({})
        self.fields["payment_method"].choices = payment_method_choices()
        if not settings.PAYMENT_TEST_GATEWAY:
            del self.fields["card_number"]
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["full_name"].widget.attrs["autocomplete"] = "name"
        self.fields["address_line1"].widget.attrs["autocomplete"] = "address-line1"
        self.fields["address_line2"].widget.attrs["autocomplete"] = "address-line2"
        self.fields["city"].widget.attrs["autocomplete"] = "address-level2"
        self.fields["postcode"].widget.attrs["autocomplete"] = "postal-code"
        self.fields["country"].widget.attrs["autocomplete"] = "country"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("payment_method") == "card" and not cleaned.get("card_setup_intent"):
            self.add_error(
                None, gettext("Enter your card details: they are checked by our card processor, Stripe.")
            )
        if cleaned.get("payment_method") == "test_card" and not cleaned.get("card_number"):
            self.add_error("card_number", gettext("Enter your card number, or choose to pay by invoice."))
        need_by = cleaned.get("need_by")
        if need_by and need_by < timezone.localdate():
            self.add_error("need_by", gettext("Choose today or a later date, or leave it empty."))
        if need_by and not cleaned.get("need_by_action"):
            self.add_error(
                "need_by_action", gettext("Choose what we should do if they cannot arrive by then.")
            )
        if cleaned.get("vat_number") and not cleaned.get("company_name"):
            self.add_error(
                "company_name", gettext_lazy("Enter the name of the company the VAT number belongs to.")
            )
        if self.requires_terms and not cleaned.get("accept_backorder_terms"):
            self.add_error(
                "accept_backorder_terms",
                gettext(
                    "Some items will be backordered: please read the backorder terms and tick the box to accept them."
                ),
            )
        return cleaned

    def show_delivery_costs(self, costs: dict) -> None:
        """Each delivery option with its cost: as `costs` (code -> amount) says, for the destination the
        page is priced for (docs/tax.md: a reverse charge pays it net), else its catalog price."""
        self.fields["shipping_method"].choices = [
            (code, f"{option.label}: {money(costs.get(code, option.cost))}")
            for code, option in shipping_options().items()
        ]

    def clean_vat_number(self) -> str:
        number = self.cleaned_data.get("vat_number", "")
        if not number:
            return ""
        ok, message = vat_number_check(number)
        if not ok:
            raise forms.ValidationError(message)
        return vat_number_normalize(number)

    def tax_destination(self) -> TaxDestination | None:
        """Where the order goes and who buys it, for its VAT (`orders.selectors.quote`): None until a
        country is chosen; a VAT number only when valid."""
        data = getattr(self, "cleaned_data", {})
        if not data.get("country"):
            return None
        return TaxDestination(country=data["country"], vat_number=data.get("vat_number", ""))

    def address(self) -> dict:
        return {
            key: self.cleaned_data[key]
            for key in ("full_name", "address_line1", "address_line2", "city", "postcode", "country")
        }

    def need_by_choice(self) -> NeedBy | None:
        """The need-by date and what to do if it cannot be made, when one was given."""
        if not self.cleaned_data.get("need_by"):
            return None
        data = self.cleaned_data
        return NeedBy(data["need_by"], data["need_by_action"], bool(data.get("accept_need_by_late")))


class CancelBackorderedForm(forms.Form):
    """How many waiting units of each line to cancel: one field `line_<id>` per line given."""

    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, lines: list[OrderLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = {line.pk: line for line in lines}
        for line in lines:
            name = f"{line.product_name} ({line.options_label})" if line.options_label else line.product_name
            field = forms.IntegerField(
                label=gettext_lazy("%(product)s: units to cancel") % {"product": name},
                help_text=ngettext_lazy(
                    "%(count)s waiting for stock.", "%(count)s waiting for stock.", "count"
                )
                % {"count": line.quantity_backordered},
                required=False,
                min_value=0,
                max_value=MAX_LINE_QUANTITY,
                initial=0,
                error_messages={
                    "invalid": gettext_lazy("Enter a whole number of units to cancel."),
                    "min_value": gettext_lazy("Enter a whole number of units to cancel."),
                    "max_value": gettext_lazy("Enter a whole number of units to cancel."),
                },
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
            field.widget.attrs["max"] = line.quantity_backordered  # the browser's hint; the service decides
            self.fields[f"line_{line.pk}"] = field

    def quantities(self) -> dict[int, int]:
        """{line id: units} for every line with a number above zero."""
        quantities = {pk: self.cleaned_data.get(f"line_{pk}") or 0 for pk in self.lines}
        return {pk: qty for pk, qty in quantities.items() if qty}


class FeedbackForm(forms.Form):
    """The one question after a backorder was delivered, and room for a comment."""

    RATINGS = [
        (5, gettext_lazy("5 — Very happy")),
        (4, gettext_lazy("4 — Happy")),
        (3, gettext_lazy("3 — Neither happy nor unhappy")),
        (2, gettext_lazy("2 — Unhappy")),
        (1, gettext_lazy("1 — Very unhappy")),
    ]

    rating = forms.TypedChoiceField(
        label=gettext_lazy("How happy are you with how we handled the wait for your order?"),
        choices=RATINGS,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choose a rating from 1 to 5."),
            "invalid_choice": gettext_lazy("Choose a rating from 1 to 5."),
        },
    )
    comment = forms.CharField(
        label=gettext_lazy("Anything you would like to tell us? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class EmailPreferencesForm(forms.Form):
    non_essential = forms.BooleanField(
        label=gettext_lazy(
            "Send me non-essential emails (back-in-stock alerts, a feedback request after delivery)"
        ),
        required=False,
        help_text=gettext_lazy(
            "Emails about your orders (confirmation, shipping, delays, cancellations) always come."
        ),
    )


# --- customer questions ("Ask about this order") and customer service's answers ----------------

# C0 and C1 control characters but tab, line feed and carriage return: invisible, or worse, in an
# email (NUL is refused by PostgreSQL too).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class PlainTextField(forms.CharField):
    """Free text for an email: one newline style (a browser posts CRLF, which would count twice
    against the limit), no control characters (a clear error rather than Django's "Null characters
    are not allowed")."""

    widget = forms.Textarea
    default_error_messages = {
        "control": gettext_lazy(
            "This text contains invisible control characters; please remove them (retyping it helps)."
        )
    }

    def to_python(self, value):
        value = super().to_python(value).replace("\r\n", "\n").replace("\r", "\n")
        if _CONTROL_CHARACTERS.search(value):
            raise forms.ValidationError(self.error_messages["control"], code="control")
        return value


def _length_errors(what: str) -> dict:
    return {
        "max_length": f"{what} can be at most %(limit_value)d characters long (it has %(show_value)d).",
        "control": f"{what} contains invisible control characters; please remove them (retyping it helps).",
    }


QUESTION_MAX_LENGTH = CustomerQuestion._meta.get_field("message").max_length


class CustomerQuestionForm(forms.Form):
    """The "Ask about this order" form: what it is about, and the question; the order is the page's."""

    bound_field_class = CrispyBoundField  # on every order page, empty: rendered once per language

    subject = forms.ChoiceField(
        label=gettext_lazy("What is it about?"),
        choices=QuestionSubject.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choose what your question is about."),
            "invalid_choice": gettext_lazy("Choose what your question is about."),
        },
    )
    message = PlainTextField(
        label=gettext_lazy("Your question"),
        max_length=QUESTION_MAX_LENGTH,
        help_text=lazy(
            lambda: (
                gettext("Up to %(count)s characters. Your order number and its items come with it.")
                % {"count": number_format(QUESTION_MAX_LENGTH, force_grouping=True)}
            ),
            str,
        )(),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": gettext_lazy("Write your question."),
            "max_length": gettext_lazy(
                "Your question can be at most %(limit_value)d characters long (it has %(show_value)d)."
            ),
            "control": gettext_lazy(
                "Your question contains invisible control characters; please remove them (retyping it helps)."
            ),
        },
    )


class QuestionAnswerForm(forms.Form):
    """Customer service's answer to a question, emailed to the customer once (one-time key)."""

    answer = PlainTextField(
        label="Your answer",
        max_length=CustomerQuestion._meta.get_field("answer").max_length,
        widget=forms.Textarea(attrs={"rows": 10, "cols": 80}),
        error_messages={"required": "Write an answer.", **_length_errors("The answer")},
    )
    submission_key = SubmissionKeyField()
