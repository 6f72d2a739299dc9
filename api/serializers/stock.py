"""What the stock endpoints read and accept: levels per warehouse, the ledger, adjustments and counts.

The requests carry what the admin's "Adjust stock" and "Record a stock count" forms carry
(inventory.forms.StockAdjustForm, StockCountForm), with the same limits: the columns' ranges, the
reasons staff may choose, a one-line note. A field these requests do not know is refused (400).
"""

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.filters.base import ID_MAX
from inventory.forms import DELTA_MAX, DELTA_MIN, NOTE_MAX_LENGTH, ON_HAND_MAX
from inventory.models import MovementReason
from shop.form_fields import CONTROL_CHARACTERS_MESSAGE, has_control_characters, single_line

# The reasons staff choose on "Adjust stock" (inventory.forms.StockAdjustForm); a count is always "counted".
ADJUSTMENT_REASONS = [
    (MovementReason.ADJUSTED.value, MovementReason.ADJUSTED.label),
    (MovementReason.RETURNED.value, MovementReason.RETURNED.label),
]


class WarehouseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    priority = serializers.IntegerField(help_text="Stock is taken from lower numbers first.")
    is_active = serializers.BooleanField(help_text="Stock of an inactive warehouse is not sold.")


class WarehouseRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()


class VariantRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()


class StockItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    variant = VariantRefSerializer()
    warehouse = WarehouseRefSerializer()
    on_hand = serializers.IntegerField(help_text="Units in the warehouse.")
    allocated = serializers.IntegerField(help_text="Units set aside for orders, waiting to ship.")
    available = serializers.IntegerField(source="free", help_text="on_hand − allocated.")
    updated_at = serializers.DateTimeField()


class PurchaseOrderLineRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="purchase_order_id", help_text="The purchase order's id.")
    reference = serializers.CharField(source="purchase_order.reference")
    line = serializers.IntegerField(source="pk", help_text="The purchase order line's id.")


class OrderLineRefSerializer(serializers.Serializer):
    number = serializers.CharField(source="order.number", help_text="The order's number.")
    line = serializers.IntegerField(source="pk", help_text="The order line's id.")


class LedgerEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    stock_item = serializers.IntegerField(source="stock_item_id")
    variant = VariantRefSerializer()
    warehouse = WarehouseRefSerializer()
    reason = serializers.ChoiceField(choices=MovementReason.choices)
    reason_label = serializers.CharField(source="get_reason_display")
    on_hand_change = serializers.IntegerField(source="on_hand_delta")
    allocated_change = serializers.IntegerField(source="allocated_delta")
    purchase_order = PurchaseOrderLineRefSerializer(
        source="po_line", allow_null=True, help_text="The purchase order received, if any."
    )
    order = OrderLineRefSerializer(
        source="order_line",
        allow_null=True,
        help_text="The order line allocated, released or shipped, if any.",
    )
    user = serializers.CharField(
        source="user.get_username",
        allow_null=True,
        help_text="The staff member's email address (the login); null for the shop itself or an API key.",
    )
    note = serializers.CharField()


class StrictSerializer(serializers.Serializer):
    """A request body: a field it does not know is a 400, not silently ignored."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                known = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {name: [f"Unknown field. Known: {known}."] for name in unknown}
                )
        return super().to_internal_value(data)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """In the schema too, a StrictSerializer's body takes no other field (`additionalProperties: false`)."""

    target_class = "api.serializers.stock.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


SINGLE_LINE_PATTERN = (
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"  # shop.form_fields' control characters refused
)


@extend_schema_field({"type": "string", "maxLength": NOTE_MAX_LENGTH, "pattern": SINGLE_LINE_PATTERN})
class SingleLineCharField(serializers.CharField):
    """shop.form_fields.SingleLineField for JSON: one line (inner whitespace one space), no control
    characters; empty (or only spaces) is "". Blank is allowed here rather than by `allow_blank`, whose
    schema (a oneOf with an empty string) would contradict the pattern."""

    def run_validation(self, data=serializers.empty):
        if isinstance(data, str):
            if has_control_characters(data):
                raise serializers.ValidationError(CONTROL_CHARACTERS_MESSAGE)
            if not data.strip():
                return ""
        return super().run_validation(data)

    def to_internal_value(self, data):
        return single_line(super().to_internal_value(data))


@extend_schema_field({"type": "integer", "minimum": DELTA_MIN, "maximum": DELTA_MAX, "not": {"enum": [0]}})
class NonZeroIntegerField(serializers.IntegerField):
    """A whole number other than zero (the schema says so too)."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value == 0:
            raise serializers.ValidationError("Enter a quantity change other than zero.")
        return value


class _StockTargetSerializer(StrictSerializer):
    # Whether they exist is the service's check, as for the admin's forms: an unknown one is its refusal (409).
    variant = serializers.IntegerField(min_value=1, max_value=ID_MAX, help_text="The variant's id.")
    warehouse = serializers.IntegerField(min_value=1, max_value=ID_MAX, help_text="The warehouse's id.")
    note = SingleLineCharField(
        max_length=NOTE_MAX_LENGTH,
        required=False,
        default="",
        help_text="Kept in the ledger.",
    )


class StockAdjustmentSerializer(_StockTargetSerializer):
    """Add or remove units of a variant in a warehouse, with the reason staff give on “Adjust stock”."""

    quantity_change = NonZeroIntegerField(
        min_value=DELTA_MIN,
        max_value=DELTA_MAX,
        help_text="Units to add; a negative number removes units (e.g. -2 for two damaged items). Not 0.",
    )
    reason = serializers.ChoiceField(choices=ADJUSTMENT_REASONS, default=MovementReason.ADJUSTED.value)


class StockCountSerializer(_StockTargetSerializer):
    """The units counted on the shelf; the ledger row's reason is always “counted”."""

    counted = serializers.IntegerField(
        min_value=0, max_value=ON_HAND_MAX, help_text="Units physically on the shelf; on hand is set to this."
    )


class StockChangeSerializer(serializers.Serializer):
    """The answer to an adjustment or a count: the level after it, and the ledger row it wrote."""

    stock = StockItemSerializer(help_text="The stock level after the change.")
    ledger_entry = LedgerEntrySerializer(
        allow_null=True, help_text="The ledger row written; null when a count matched the records."
    )
