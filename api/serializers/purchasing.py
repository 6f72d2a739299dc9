"""Purchase orders and suppliers as the API shows them, and the bodies of the purchasing POSTs.

Bodies are strict: a field the endpoint does not know is a 400 naming it (a typo such as `quantiy`
must not be ignored), numbers are whole and within their column's range, text is one line without
control characters, as in the admin's forms. What the state of the order allows (receive no more
than is outstanding, move the date of an open order only) is the service's decision: its refusal
is a 409 with its message.
"""

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inventory.models import (
    PurchaseOrder,
    PurchaseOrderDateChange,
    PurchaseOrderLine,
    Supplier,
    Warehouse,
)
from shop.form_fields import has_control_characters, integer_column_range, single_line

ID_MAX = integer_column_range(PurchaseOrder, "id")[1]
QUANTITY_MAX = integer_column_range(PurchaseOrderLine, "quantity_ordered")[1]
REFERENCE_MAX = PurchaseOrder._meta.get_field("reference").max_length
REASON_MAX = PurchaseOrderDateChange._meta.get_field("reason").max_length
NOTES_MAX = 5000
MAX_LINES = 500


# --- shared pieces -------------------------------------------------------------------------------


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not declare, each named in `errors`."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """In the schema too, a StrictSerializer's body takes no other field (`additionalProperties: false`)."""

    target_class = "api.serializers.purchasing.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


def _text_only(field: serializers.CharField, data) -> None:
    """A JSON string, not a number or true turned into text: `"reason": 5` is a mistake to report."""
    if not isinstance(data, str):
        field.fail("invalid")


def _check_text(value: str) -> str:
    if has_control_characters(value) or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise serializers.ValidationError("This contains invisible control characters; remove them.")
    return value


# What the schema says of text: no control character but tab, CR and LF (shop.form_fields), and for a
# required one-line text at least one character that is not a space. (A field that may be blank skips
# validators for "": its pattern wants one character, so the schema's "or empty" option is exclusive.)
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
NO_CONTROL = RegexValidator(rf"^[^{_CONTROL}]+$")  # only on fields allowing "", which skip validators
NOT_BLANK = RegexValidator(rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$")


class OneLineField(serializers.CharField):
    """One line of text, as the admin's SingleLineField stores it: whitespace runs made one space."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", [NO_CONTROL if kwargs.get("allow_blank") else NOT_BLANK])
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        _text_only(self, data)
        value = _check_text(super().to_internal_value(data))
        return single_line(value)


class TextField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("validators", [NO_CONTROL if kwargs.get("allow_blank") else NOT_BLANK])
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        _text_only(self, data)
        return _check_text(super().to_internal_value(data))


def id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=ID_MAX, **kwargs)


def quantity_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=QUANTITY_MAX, **kwargs)


# --- what is read ----------------------------------------------------------------------------------


class SupplierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Supplier
        fields = ["id", "name", "contact_email", "lead_time_days"]


class PurchaseOrderSupplierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Supplier
        fields = ["id", "name"]


class PurchaseOrderWarehouseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Warehouse
        fields = ["id", "code", "name"]


class PurchaseOrderLineSerializer(serializers.ModelSerializer):
    variant = serializers.IntegerField(source="variant_id")
    sku = serializers.CharField(source="variant.sku")
    quantity_outstanding = serializers.IntegerField()

    class Meta:
        model = PurchaseOrderLine
        fields = ["id", "variant", "sku", "quantity_ordered", "quantity_received", "quantity_outstanding"]


class PurchaseOrderDateChangeSerializer(serializers.ModelSerializer):
    changed_by = serializers.SerializerMethodField(
        help_text="The staff member's email address (the login); null for a change made with an API key or by the supplier."
    )

    class Meta:
        model = PurchaseOrderDateChange
        fields = ["old_date", "new_date", "changed_at", "source", "reason", "changed_by"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_changed_by(self, obj: PurchaseOrderDateChange) -> str | None:
        return obj.changed_by.get_username() if obj.changed_by is not None else None


class PurchaseOrderSerializer(serializers.ModelSerializer):
    supplier = PurchaseOrderSupplierSerializer()
    warehouse = PurchaseOrderWarehouseSerializer()
    lines = PurchaseOrderLineSerializer(many=True)
    date_history = PurchaseOrderDateChangeSerializer(
        many=True,
        source="date_changes",
        help_text="Every move of the expected date, oldest first, with its reason and when it was made.",
    )

    class Meta:
        model = PurchaseOrder
        fields = [
            "id",
            "reference",
            "status",
            "supplier",
            "warehouse",
            "expected_date",
            "confirmed_date",
            "notes",
            "created_at",
            "updated_at",
            "ordered_at",
            "cancelled_at",
            "lines",
            "date_history",
        ]
        extra_kwargs = {
            "confirmed_date": {"help_text": "The delivery date the supplier last confirmed; null if none."}
        }


# --- what is sent ----------------------------------------------------------------------------------


class PurchaseOrderNewLineSerializer(StrictSerializer):
    variant = id_field(help_text="The variant's id (GET /api/v1/variants/?sku=… finds it by SKU).")
    quantity = quantity_field()


class PurchaseOrderCreateSerializer(StrictSerializer):
    supplier = id_field(help_text="The supplier's id (GET /api/v1/suppliers/).")
    warehouse = id_field(help_text="The id of the warehouse that will receive it.")
    reference = OneLineField(max_length=REFERENCE_MAX, help_text="Your reference; unique in the shop.")
    expected_date = serializers.DateField(required=False, allow_null=True, default=None)
    notes = TextField(required=False, allow_blank=True, max_length=NOTES_MAX, default="")
    lines = serializers.ListField(child=PurchaseOrderNewLineSerializer(), min_length=1, max_length=MAX_LINES)


class PurchaseOrderEmptySerializer(StrictSerializer):
    """A POST that takes no fields: send `{}` or nothing."""


class PurchaseOrderExpectedDateSerializer(StrictSerializer):
    expected_date = serializers.DateField(
        allow_null=True, help_text="The new expected date (YYYY-MM-DD); null when it is not known."
    )
    reason = OneLineField(
        required=False,
        allow_blank=True,
        default="",
        max_length=REASON_MAX,
        help_text="Why it moved; kept in the date history.",
    )


class PurchaseOrderReceiveLineSerializer(StrictSerializer):
    """A line named by its id or by its variant (exactly one of them), with the units received."""

    line = id_field(required=False)
    variant = id_field(required=False)
    quantity = quantity_field()

    def validate(self, attrs):
        if ("line" in attrs) == ("variant" in attrs):
            raise serializers.ValidationError("Give either `line` or `variant`, not both.")
        return attrs


def _receive_line_schema(name: str, description: str) -> dict:
    return {
        "type": "object",
        "properties": {
            name: {"type": "integer", "minimum": 1, "maximum": ID_MAX, "description": description},
            "quantity": {
                "type": "integer",
                "minimum": 1,
                "maximum": QUANTITY_MAX,
                "description": "Units received now; no more than the line's outstanding units.",
            },
        },
        "required": [name, "quantity"],
        "additionalProperties": False,
    }


@extend_schema_field(
    {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_LINES,
        "items": {
            "oneOf": [
                _receive_line_schema("line", "The purchase-order line's id."),
                _receive_line_schema("variant", "The variant's id (an order has one line per variant)."),
            ]
        },
        "description": "The lines received now, each named by `line` (its id) or by `variant`, not both. "
        "Omitted: everything outstanding is received.",
    }
)
class ReceiveLinesField(serializers.ListField):
    child = PurchaseOrderReceiveLineSerializer()

    def __init__(self, **kwargs):
        super().__init__(
            child=PurchaseOrderReceiveLineSerializer(), min_length=1, max_length=MAX_LINES, **kwargs
        )


class PurchaseOrderReceiveSerializer(StrictSerializer):
    """`{"lines": [...]}` receives those units; no body (or `{}`) everything outstanding, as the admin's
    "Receive everything outstanding" button."""

    lines = ReceiveLinesField(required=False)
