"""Staff forms for the inventory admin.

These forms only collect and check input. The numbers they carry are written by
`inventory.services`; a refused change comes back from the service as a
StockError whose message the admin puts on the form. The forms that change
stock carry a one-time `submission_key` (shop/submissions.py), so a form sent
twice is applied once.
"""

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect

from shop.form_fields import SingleLineField, integer_column_range
from shop.models import Variant
from shop.submissions import SubmissionKeyField

from .models import (
    MovementReason,
    PurchaseOrder,
    PurchaseOrderDateChange,
    PurchaseOrderLine,
    StockItem,
    StockMovement,
    Warehouse,
)

# A form's limits are its column's (config/tests/test_form_limits.py): a longer note or a bigger number
# would be a database error on PostgreSQL instead of a message on the form.
NOTE_MAX_LENGTH = StockMovement._meta.get_field("note").max_length
ON_HAND_MAX = integer_column_range(StockItem, "on_hand")[1]
DELTA_MIN, DELTA_MAX = integer_column_range(StockMovement, "on_hand_delta")
RECEIVED_MAX = integer_column_range(PurchaseOrderLine, "quantity_received")[1]


class VariantChoiceField(forms.ModelChoiceField):
    """A variant, labelled "SKU — product (options)": staff know items by SKU."""

    def label_from_instance(self, obj: Variant) -> str:
        return f"{obj.sku} — {obj}"


class VariantAutocompleteSelect(AutocompleteSelect):
    """The admin's autocomplete, asking the variant admin's picker (`shop.admin.VariantAutocompleteView`),
    which labels each result with its SKU and lists a SKU typed from its start first."""

    url_name = "%s:shop_variant_autocomplete"


class _StockTargetForm(forms.Form):
    """Which stock to change: a variant in a warehouse.

    Opened from one stock item, both fields are fixed to that item (disabled
    fields ignore whatever is posted); opened from the list, staff choose them,
    which also covers a variant that has no stock in that warehouse yet.
    """

    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.all())
    submission_key = SubmissionKeyField()

    def __init__(self, *args, admin_site, stock_item: StockItem | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stock_item = stock_item
        # Built here because the autocomplete widget needs the admin site.
        self.fields["variant"] = VariantChoiceField(
            queryset=Variant.objects.select_related("product"),
            widget=VariantAutocompleteSelect(StockItem._meta.get_field("variant"), admin_site),
            help_text="Search by SKU or product name.",
        )
        self.order_fields(["variant", "warehouse"])
        if stock_item is not None:
            self.fields["variant"].initial = stock_item.variant
            self.fields["warehouse"].initial = stock_item.warehouse
            self.fields["variant"].disabled = True
            self.fields["warehouse"].disabled = True
            self.fields["variant"].help_text = ""


class StockAdjustForm(_StockTargetForm):
    quantity_change = forms.IntegerField(
        label="Quantity change",
        min_value=DELTA_MIN,
        max_value=DELTA_MAX,
        help_text="Units to add; a negative number removes units (e.g. -2 for two damaged items).",
    )
    reason = forms.ChoiceField(
        choices=[
            (MovementReason.ADJUSTED.value, MovementReason.ADJUSTED.label),
            (MovementReason.RETURNED.value, MovementReason.RETURNED.label),
        ],
        initial=MovementReason.ADJUSTED.value,
    )
    note = SingleLineField(
        max_length=NOTE_MAX_LENGTH,
        required=False,
        help_text="Why the stock changed. Kept in the stock ledger.",
    )

    def clean_quantity_change(self) -> int:
        value = self.cleaned_data["quantity_change"]
        if value == 0:
            raise forms.ValidationError("Enter a quantity change other than zero.")
        return value


class StockAddForm(StockAdjustForm):
    """ "Add stock": the adjustment that only adds (units found, returned or delivered outside a
    purchase order), so the page its link opens is titled and labelled the same."""

    quantity_change = forms.IntegerField(
        label="Units to add",
        min_value=1,
        max_value=DELTA_MAX,
        help_text="How many units to add. To remove units, use “Adjust stock”.",
    )


class StockCountForm(_StockTargetForm):
    counted = forms.IntegerField(
        label="Counted quantity",
        min_value=0,
        max_value=ON_HAND_MAX,
        help_text="How many units are physically on the shelf. On hand is set to this number.",
    )
    note = SingleLineField(max_length=NOTE_MAX_LENGTH, required=False, help_text="Kept in the stock ledger.")


class PurchaseOrderAdminForm(forms.ModelForm):
    """The purchase-order header. `date_change_reason` is stored with an expected-date change."""

    date_change_reason = SingleLineField(
        label="Reason for the date change",
        max_length=PurchaseOrderDateChange._meta.get_field("reason").max_length,
        required=False,
        help_text="Only used when you change the expected date; kept in the date history.",
    )

    class Meta:
        model = PurchaseOrder
        fields = ["supplier", "warehouse", "reference", "expected_date", "notes"]
        field_classes = {"reference": SingleLineField}


class PurchaseOrderReceiveForm(forms.Form):
    """One quantity per line still outstanding; an empty box counts as zero.

    Only the shape of each number is checked here (a whole number). Whether it
    may be received (not negative, not more than outstanding) is the service's
    decision, and its message is shown as it is. "Receive everything
    outstanding" (`receive_all`) posts the same form but reads only its key.
    """

    submission_key = SubmissionKeyField()

    def __init__(self, data=None, *args, lines: list[PurchaseOrderLine], receive_all: bool = False, **kwargs):
        if receive_all and data is not None:
            data = {"submission_key": data.get("submission_key", "")}
        super().__init__(data, *args, **kwargs)
        self.lines = lines
        self.receive_all = receive_all
        for line in lines:
            if line.quantity_outstanding <= 0:
                continue
            field = forms.IntegerField(
                label=line.variant.sku,
                required=False,
                initial=line.quantity_outstanding,
                # Added to quantity_received by the service, which refuses a negative or too big number
                # with its own message; beyond the column's range it would not even be a number to it.
                min_value=-RECEIVED_MAX,
                max_value=RECEIVED_MAX,
            )
            field.widget.attrs.update({"min": 0, "max": line.quantity_outstanding, "step": 1})  # the hint
            self.fields[self.field_name(line)] = field

    @staticmethod
    def field_name(line: PurchaseOrderLine) -> str:
        return f"line_{line.pk}"

    def rows(self) -> list[tuple[PurchaseOrderLine, forms.BoundField | None]]:
        """Each line with its input (None for a line with nothing outstanding), for the template."""
        return [
            (line, self[self.field_name(line)] if self.field_name(line) in self.fields else None)
            for line in self.lines
        ]

    def quantities(self) -> dict[int, int] | None:
        """{line_id: quantity} for every line with a quantity other than zero; None: everything outstanding."""
        if self.receive_all:
            return None
        result = {}
        for line in self.lines:
            value = self.cleaned_data.get(self.field_name(line))
            if value:
                result[line.pk] = value
        return result

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.receive_all and not self.quantities():
            raise forms.ValidationError("Enter at least one quantity to receive.")
        return cleaned


class SupplierAnswerForm(forms.Form):
    """A supplier's answer on their purchase order's page: confirm the date, or propose another.

    The date's rules (not past, a day the shop receives) are the service's, said as its refusal.
    """

    answer = forms.ChoiceField(choices=[("confirm", "Confirm"), ("propose", "Propose another date")])
    expected_date = forms.DateField(
        required=False,
        label="The date you can deliver",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the date as a date, for example 2027-03-14."},
    )
    reason = forms.CharField(
        required=False,
        max_length=255,
        label="Why the date changes",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    submission_key = SubmissionKeyField()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("answer") == "propose" and not self.errors:
            if cleaned.get("expected_date") is None:
                self.add_error("expected_date", "Choose the date you can deliver.")
            if not (cleaned.get("reason") or "").strip():
                self.add_error("reason", "Please tell us why the date changes.")
        return cleaned


class DraftShortfallForm(forms.Form):
    """The dashboard's "Draft a purchase order for the shortfall" button: the item, and the form's key."""

    variant = forms.IntegerField(min_value=1, error_messages={"required": "Choose an item."})
    submission_key = SubmissionKeyField()
