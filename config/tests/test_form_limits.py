"""Every form field takes no more than its column holds (issue 16 item 15).

A form that lets through a value its column cannot store fails on PostgreSQL with a DataError, a 500,
instead of a message on the form (a 320-character email address into a varchar(254), a number beyond
an integer column). This walks every form class of the forms modules of the four apps and checks each
field against the model field it fills: the same name on a ModelForm's model, else the entry in
`STORED_IN` below, which says where each field of each plain form goes, or that it is not stored (and
why). A form or a field that is neither fails the test, so a new one must say where it goes.

The limits compared: a text column's max_length (and each choice's length), an integer column's range
on PostgreSQL (`integer_column_range`, PostgreSQL's limits) and its validators, a decimal column's
digits and places.
"""

import importlib
import inspect
from dataclasses import dataclass
from decimal import Decimal
from fnmatch import fnmatch

import pytest
from django import forms
from django.apps import apps
from django.contrib import admin
from django.core import validators
from django.db import models

from inventory.models import PurchaseOrderLine
from orders.models import OrderLine
from orders.selectors import shipping_options
from shop.form_fields import integer_column_range
from shop.models import Product, Variant

FORM_MODULES = [
    "shop.forms",
    "orders.forms",
    "notifications.forms",
    "inventory.forms",
    "accounts.forms_addresses",
]


@dataclass(frozen=True)
class Column:
    """The field's cleaned value is stored in `label` ("app.Model.field")."""

    label: str


@dataclass(frozen=True)
class NotStored:
    why: str


# Plain forms (and fields a ModelForm declares beyond its model): where each field's value goes.
# Keys may be patterns ("line_*") for fields a form adds per object.
STORED_IN: dict[str, dict[str, Column | NotStored]] = {
    "shop.forms.CatalogQueryForm": {
        "q": NotStored("a search, cut to QUERY_MAX_LENGTH"),
        "sort": NotStored("a choice of listing order"),
        "availability": NotStored("a listing filter"),
    },
    "shop.forms.SignupForm": {
        "password1": NotStored("hashed into User.password"),
        "password2": NotStored("the password again"),
    },
    "orders.forms.CartAddForm": {
        "variant": Column("orders.CartLine.variant"),
        "quantity": Column("orders.CartLine.quantity"),
    },
    "orders.forms.CartLineForm": {"quantity": Column("orders.CartLine.quantity")},
    "orders.forms.CheckoutForm": {
        "email": Column("orders.Order.email"),
        "full_name": Column("orders.Order.full_name"),
        "address_line1": Column("orders.Order.address_line1"),
        "address_line2": Column("orders.Order.address_line2"),
        "city": Column("orders.Order.city"),
        "postcode": Column("orders.Order.postcode"),
        "country": Column("orders.Order.country"),
        "save_address": NotStored("a choice: the order's address is saved as an accounts.Address"),
        "company_name": Column("orders.Order.company_name"),
        "vat_number": Column("orders.Order.vat_number"),
        "shipping_method": NotStored(
            "a code of shipping_options(); the order stores its label (checked below)"
        ),
        "ship_policy": Column("orders.Order.ship_policy"),
        "payment_method": Column("orders.Payment.gateway"),
        "card_number": NotStored("sent to the payment gateway only"),
        "card_setup_intent": NotStored("a Stripe SetupIntent's id, read back from Stripe"),
        "card_payment_intent": Column("orders.CardCharge.stripe_id"),
        "accept_backorder_terms": NotStored("checked by order_place"),
        "need_by": Column("orders.Order.need_by"),
        "need_by_action": Column("orders.Order.need_by_action"),
        "accept_need_by_late": NotStored("checked by order_place (need_by_check)"),
        "idempotency_key": Column("orders.Order.idempotency_key"),
    },
    "orders.forms.CancelBackorderedForm": {
        "token": NotStored("a signed link's token, read back"),
        "line_*": Column("orders.OrderLine.quantity_cancelled"),
    },
    "orders.forms.FeedbackForm": {
        "rating": Column("orders.OrderFeedback.rating"),
        "comment": Column("orders.OrderFeedback.comment"),
    },
    "orders.forms.EmailPreferencesForm": {
        "non_essential": Column("notifications.EmailPreference.marketing_opt_out"),
    },
    "orders.forms.CustomerQuestionForm": {
        "subject": Column("orders.CustomerQuestion.subject"),
        "message": Column("orders.CustomerQuestion.message"),
    },
    "orders.forms.QuestionAnswerForm": {
        "answer": Column("orders.CustomerQuestion.answer"),
        "submission_key": Column("shop.SubmissionKey.key"),
    },
    "accounts.forms_addresses.AccountDeleteForm": {"password": NotStored("checked against User.password")},
    "notifications.forms.NotifyMeForm": {"email": Column("notifications.BackInStockSubscription.email")},
    "inventory.forms._StockTargetForm": {
        "variant": Column("inventory.StockMovement.variant"),
        "warehouse": Column("inventory.StockItem.warehouse"),
        "submission_key": Column("shop.SubmissionKey.key"),
    },
    "inventory.forms.StockAdjustForm": {
        "quantity_change": Column("inventory.StockMovement.on_hand_delta"),
        "reason": Column("inventory.StockMovement.reason"),
        "note": Column("inventory.StockMovement.note"),
    },
    "inventory.forms.StockAddForm": {
        "quantity_change": Column("inventory.StockMovement.on_hand_delta"),
        "reason": Column("inventory.StockMovement.reason"),
        "note": Column("inventory.StockMovement.note"),
    },
    "inventory.forms.StockCountForm": {
        "counted": Column("inventory.StockItem.on_hand"),
        "note": Column("inventory.StockMovement.note"),
    },
    "inventory.forms.PurchaseOrderAdminForm": {
        "date_change_reason": Column("inventory.PurchaseOrderDateChange.reason"),
    },
    "inventory.forms.PurchaseOrderReceiveForm": {
        "submission_key": Column("shop.SubmissionKey.key"),
        # A quantity added to quantity_received: the service refuses what does not fit (negative, more
        # than outstanding); the form keeps it a number the column's type can hold, either sign.
        "line_*": NotStored("added to PurchaseOrderLine.quantity_received by purchase_order_receive"),
    },
    "inventory.forms.SupplierAnswerForm": {
        "answer": NotStored("a choice: confirm or propose"),
        "expected_date": Column("inventory.PurchaseOrderDateChange.new_date"),
        "reason": Column("inventory.PurchaseOrderDateChange.reason"),
        "submission_key": Column("shop.SubmissionKey.key"),
    },
    "inventory.forms.DraftShortfallForm": {
        "variant": NotStored("a variant's id: purchase_order_create stores its line"),
        "submission_key": Column("shop.SubmissionKey.key"),
    },
}


def _a_line() -> OrderLine:
    return OrderLine(pk=1, product_name="Tent", quantity=2, quantity_backordered=2)


def _a_po_line() -> PurchaseOrderLine:
    variant = Variant(sku="TENT-1", product=Product(name="Tent"))
    return PurchaseOrderLine(pk=1, variant=variant, quantity_ordered=5, quantity_received=0)


# What a form needs to be built, for the forms whose fields depend on their arguments.
FORM_ARGUMENTS = {
    "orders.forms.CheckoutForm": lambda: {"requires_terms": False},
    "orders.forms.CancelBackorderedForm": lambda: {"lines": [_a_line()]},
    "notifications.forms.NotifyMeForm": lambda: {"user": None},
    "inventory.forms._StockTargetForm": lambda: {"admin_site": admin.site},
    "inventory.forms.StockAdjustForm": lambda: {"admin_site": admin.site},
    "inventory.forms.StockAddForm": lambda: {"admin_site": admin.site},
    "inventory.forms.StockCountForm": lambda: {"admin_site": admin.site},
    "inventory.forms.PurchaseOrderReceiveForm": lambda: {"lines": [_a_po_line()]},
}


def form_classes() -> list[type[forms.BaseForm]]:
    found = []
    for module_name in FORM_MODULES:
        module = importlib.import_module(module_name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module_name:
                found.append(cls)
    return found


def name_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def column_of(form_class: type[forms.BaseForm], field_name: str) -> models.Field | NotStored | None:
    """The model field a form field fills, `NotStored`, or None when nothing says."""
    # A form's own entry first, then its bases' (fields a subclass inherits).
    declared = [item for cls in form_class.__mro__ for item in STORED_IN.get(name_of(cls), {}).items()]
    for pattern, target in declared:
        if fnmatch(field_name, pattern):
            if isinstance(target, NotStored):
                return target
            app_label, model_name, name = target.label.split(".")
            return apps.get_model(app_label, model_name)._meta.get_field(name)
    meta = getattr(form_class, "_meta", None)
    model = getattr(meta, "model", None)
    if model is not None:
        try:
            return model._meta.get_field(field_name)
        except Exception:  # noqa: BLE001 - FieldDoesNotExist: a field the form adds
            return None
    return None


def _value_bounds(field) -> tuple:
    """(min, max) from a field's validators (form or model field)."""
    low = high = None
    for validator in field.validators:
        if isinstance(validator, validators.MinValueValidator):
            low = validator.limit_value if low is None else max(low, validator.limit_value)
        if isinstance(validator, validators.MaxValueValidator):
            high = validator.limit_value if high is None else min(high, validator.limit_value)
    return low, high


def _choice_values(field: forms.Field) -> list:
    values = []
    for value, label in field.choices:
        if isinstance(label, list | tuple):  # an optgroup
            values += [v for v, _ in label]
        else:
            values.append(value)
    return [v for v in values if v not in ("", None)]


def mismatches(form_field: forms.Field, column: models.Field) -> list[str]:
    """What the form lets through that `column` cannot hold."""
    problems = []
    if isinstance(column, models.ForeignKey):
        if not isinstance(form_field, forms.ModelChoiceField):
            problems.append(f"fills the relation {column.name} but is a {type(form_field).__name__}")
        return problems
    if isinstance(column, models.BooleanField):
        return problems if isinstance(form_field, forms.BooleanField) else ["a yes/no column"]
    if isinstance(form_field, forms.ChoiceField) and not isinstance(form_field, forms.ModelChoiceField):
        values = _choice_values(form_field)
        if isinstance(column, models.CharField):
            too_long = [v for v in values if len(str(v)) > column.max_length]
            if too_long:
                problems.append(f"choices {too_long} longer than {column.max_length}")
        elif isinstance(column, models.IntegerField):
            low, high = integer_column_range(column.model, column.name)
            outside = [v for v in values if not low <= int(v) <= high]
            if outside:
                problems.append(f"choices {outside} outside {low}..{high}")
        return problems
    if isinstance(column, models.CharField | models.TextField):
        if not isinstance(form_field, forms.CharField):
            return [f"a text column filled by a {type(form_field).__name__}"]
        limit = column.max_length
        if limit is not None and (form_field.max_length is None or form_field.max_length > limit):
            problems.append(f"max_length {form_field.max_length}, column {limit}")
        return problems
    if isinstance(column, models.IntegerField):
        if not isinstance(form_field, forms.IntegerField):
            return [f"an integer column filled by a {type(form_field).__name__}"]
        low, high = integer_column_range(column.model, column.name)
        model_low, model_high = _value_bounds(column)
        low = low if model_low is None else max(low, model_low)
        high = high if model_high is None else min(high, model_high)
        form_low, form_high = _value_bounds(form_field)
        if form_low is None or form_low < low:
            problems.append(f"min_value {form_low}, column {low}")
        if form_high is None or form_high > high:
            problems.append(f"max_value {form_high}, column {high}")
        return problems
    if isinstance(column, models.DecimalField):
        if not isinstance(form_field, forms.DecimalField):
            return [f"a decimal column filled by a {type(form_field).__name__}"]
        if form_field.decimal_places is None or form_field.decimal_places > column.decimal_places:
            problems.append(f"decimal_places {form_field.decimal_places}, column {column.decimal_places}")
        if form_field.max_digits is None or form_field.max_digits > column.max_digits:
            problems.append(f"max_digits {form_field.max_digits}, column {column.max_digits}")
        biggest = (
            Decimal(10) ** (column.max_digits - column.decimal_places) - Decimal(10) ** -column.decimal_places
        )
        form_low, form_high = _value_bounds(form_field)
        if form_high is not None and form_high > biggest:
            problems.append(f"max_value {form_high}, column {biggest}")
        if form_low is not None and form_low < -biggest:
            problems.append(f"min_value {form_low}, column {-biggest}")
        return problems
    return problems


def build(form_class: type[forms.BaseForm]) -> forms.BaseForm:
    return form_class(**FORM_ARGUMENTS.get(name_of(form_class), lambda: {})())


ALL_FORMS = form_classes()


def test_the_walk_finds_the_forms():
    names = {name_of(cls) for cls in ALL_FORMS}
    assert {"orders.forms.CheckoutForm", "shop.forms.SignupForm", "inventory.forms.StockAdjustForm"} <= names
    assert "notifications.forms.NotifyMeForm" in names


@pytest.mark.parametrize("form_class", ALL_FORMS, ids=name_of)
def test_every_form_field_fits_its_column(form_class):
    form = build(form_class)
    problems = []
    for field_name, form_field in form.fields.items():
        column = column_of(form_class, field_name)
        if column is None:
            problems.append(f"{field_name}: no model field of that name; say where it goes in STORED_IN")
        elif not isinstance(column, NotStored):
            problems += [
                f"{field_name} -> {column.model.__name__}.{column.name}: {p}"
                for p in mismatches(form_field, column)
            ]
    assert problems == []


def test_no_entry_names_a_form_or_field_that_is_gone():
    forms_by_name = {name_of(cls): cls for cls in ALL_FORMS}
    stale = []
    for form_name, fields in STORED_IN.items():
        if form_name not in forms_by_name:
            stale.append(form_name)
            continue
        names = list(build(forms_by_name[form_name]).fields)
        stale += [f"{form_name}.{p}" for p in fields if not any(fnmatch(n, p) for n in names)]
    assert stale == []


def test_the_order_stores_a_shipping_label_that_fits():
    limit = apps.get_model("orders", "Order")._meta.get_field("shipping_method").max_length
    assert [option.label for option in shipping_options().values() if len(option.label) > limit] == []


# --- the check itself: it catches what it is for --------------------------------------------------


def test_the_check_catches_a_longer_text_a_missing_limit_and_a_number_beyond_the_column():
    order = apps.get_model("orders", "Order")
    line = apps.get_model("orders", "OrderLine")

    assert mismatches(forms.EmailField(), order._meta.get_field("email")) == ["max_length 320, column 254"]
    assert mismatches(forms.CharField(), order._meta.get_field("city")) == ["max_length None, column 100"]
    assert mismatches(forms.IntegerField(min_value=0), line._meta.get_field("quantity_cancelled")) == [
        "max_value None, column 2147483647"
    ]
    assert mismatches(forms.IntegerField(min_value=-1, max_value=5), line._meta.get_field("quantity")) == [
        "min_value -1, column 0"
    ]
    assert mismatches(forms.ChoiceField(choices=[("toolong", "x")]), order._meta.get_field("country")) == [
        "choices ['toolong'] longer than 2"
    ]
    price = apps.get_model("shop", "Variant")._meta.get_field("price")
    assert mismatches(forms.DecimalField(max_digits=12, decimal_places=3), price) == [
        f"decimal_places 3, column {price.decimal_places}",
        f"max_digits 12, column {price.max_digits}",
    ]
    assert mismatches(forms.EmailField(max_length=254), order._meta.get_field("email")) == []
