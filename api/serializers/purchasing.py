"""Purchase orders and suppliers as the API shows them, and the bodies of the purchasing POSTs.

Bodies are strict: a field the endpoint does not know is a 400 naming it (a typo such as `quantiy`
must not be ignored), numbers are whole and within their column's range, text is one line without
control characters, as in the admin's forms. What the state of the order allows (receive no more
than is outstanding, move the date of an open order only) is the service's decision: its refusal
is a 409 with its message.
"""

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
from shop.models import Variant

ID_MAX = integer_column_range(PurchaseOrder, "id")[1]
QUANTITY_MAX = integer_column_range(PurchaseOrderLine, "quantity_ordered")[1]
REFERENCE_MAX = PurchaseOrder._meta.get_field("reference").max_length
REASON_MAX = PurchaseOrderDateChange._meta.get_field("reason").max_length
NOTES_MAX = 5000


# --- shared pieces -------------------------------------------------------------------------------


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not declare, each named in `errors`."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def _text_only(field: serializers.CharField, data) -> None:
    """A JSON string, not a number or true turned into text: `"reason": 5` is a mistake to report."""
    if not isinstance(data, str):
        field.fail("invalid")


def _check_text(value: str) -> str:
    if has_control_characters(value) or any("\ud800" <= ch <= "\udfff" for ch in value):
        raise serializers.ValidationError("This contains invisible control characters; remove them.")
    return value


class OneLineField(serializers.CharField):
    """One line of text, as the admin's SingleLineField stores it: whitespace runs made one space."""

    def to_internal_value(self, data):
        _text_only(self, data)
        value = _check_text(super().to_internal_value(data))
        return single_line(value)


class TextField(serializers.CharField):
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
        help_text="The staff member's username; null for a change made with an API key or by the supplier."
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
    variant = id_field(required=False, help_text="The variant's id; or give `sku` instead.")
    sku = OneLineField(required=False, max_length=64, help_text="The variant's SKU; or give `variant`.")
    quantity = quantity_field()

    def validate(self, attrs):
        if ("variant" in attrs) == ("sku" in attrs):
            raise serializers.ValidationError("Give either `variant` (an id) or `sku`, not both.")
        return attrs


class PurchaseOrderCreateSerializer(StrictSerializer):
    supplier = id_field(help_text="The supplier's id (GET /api/v1/suppliers/).")
    warehouse = id_field(help_text="The id of the warehouse that will receive it.")
    reference = OneLineField(max_length=REFERENCE_MAX, help_text="Your reference; unique in the shop.")
    expected_date = serializers.DateField(required=False, allow_null=True, default=None)
    notes = TextField(required=False, allow_blank=True, max_length=NOTES_MAX, default="")
    lines = PurchaseOrderNewLineSerializer(many=True, allow_empty=False, max_length=500)

    def validate_supplier(self, value: int) -> int:
        if not Supplier.objects.filter(pk=value).exists():
            raise serializers.ValidationError(f"There is no supplier {value}.")
        return value

    def validate_warehouse(self, value: int) -> int:
        if not Warehouse.objects.filter(pk=value).exists():
            raise serializers.ValidationError(f"There is no warehouse {value}.")
        return value

    def validate_lines(self, lines: list[dict]) -> dict[int, int]:
        """{variant_id: quantity}, each variant once, every id and SKU known (one query)."""
        ids = {line["variant"] for line in lines if "variant" in line}
        skus = {line["sku"] for line in lines if "sku" in line}
        found = Variant.objects.filter(pk__in=ids) | Variant.objects.filter(sku__in=skus)
        by_id, by_sku = {}, {}
        for pk, sku in found.values_list("pk", "sku"):
            by_id[pk], by_sku[sku] = sku, pk
        result: dict[int, int] = {}
        errors: list[dict] = []
        for line in lines:
            variant_id = line["variant"] if "variant" in line else by_sku.get(line["sku"])
            if variant_id is None or variant_id not in by_id:
                errors.append({"variant" if "variant" in line else "sku": ["No such variant."]})
            elif variant_id in result:
                errors.append({"non_field_errors": [f"{by_id[variant_id]} is on two lines; give it once."]})
            else:
                result[variant_id] = line["quantity"]
                errors.append({})
        if any(errors):
            raise serializers.ValidationError(errors)
        return result


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
    line = id_field(required=False, help_text="The purchase-order line's id; or give `variant` instead.")
    variant = id_field(required=False, help_text="The variant's id (one line per variant on an order).")
    quantity = quantity_field(help_text="Units received now; no more than the line's outstanding units.")

    def validate(self, attrs):
        if ("line" in attrs) == ("variant" in attrs):
            raise serializers.ValidationError("Give either `line` or `variant`, not both.")
        return attrs


class PurchaseOrderReceiveSerializer(StrictSerializer):
    all = serializers.BooleanField(
        required=False, help_text="true: receive everything outstanding. Or give `lines`."
    )
    lines = PurchaseOrderReceiveLineSerializer(many=True, required=False, allow_empty=False, max_length=500)

    def validate(self, attrs):
        receive_all = attrs.get("all", False)
        if receive_all == ("lines" in attrs):
            raise serializers.ValidationError(
                "Send `all: true` to receive everything outstanding, or `lines` to receive part of it."
            )
        keys = [
            ("line", line["line"]) if "line" in line else ("variant", line["variant"])
            for line in attrs.get("lines", [])
        ]
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError({"lines": ["A line or variant is given twice; give it once."]})
        return attrs
