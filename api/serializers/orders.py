"""What the orders endpoints read and write (docs/api.md, "Orders and the backorder queue").

Outputs are read from what the views load in a constant number of queries: an order annotated by
`orders.selectors.amounts.orders_with_amounts`, with its payment, lines and customer-visible events;
a queue entry of `inventory.selectors.queue`. Inputs are strict: an unknown field, a repeated line, a
quantity out of range, a non-boolean `priority` are 400s with the field named.
"""

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.models import LineStatus, OrderStatus, ShipPolicy
from orders.selectors import order_timeline_for_customer

# The columns' ranges: a line id is a bigint, a quantity a positive integer column.
MAX_ID = 2**63 - 1
MAX_QUANTITY = 2**31 - 1
MAX_LINES = 500


NULLABLE_DATE = serializers.DateField(allow_null=True)


def money_field(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, **kwargs)


# A request body: a JSON object with only the fields its serializer names.
class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]}, code="invalid")
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown}, code="unknown")
        return super().to_internal_value(data)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """In the schema, a strict body allows no other field (`additionalProperties: false`), as it answers."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        serializer = force_instance(self.target)
        schema = auto_schema._map_basic_serializer(serializer, direction)
        schema["additionalProperties"] = False
        for name, field in serializer.fields.items():  # a list of objects' bounds, which it leaves out
            if isinstance(field, serializers.ListSerializer) and name in schema["properties"]:
                bounds = {"minItems": field.min_length, "maxItems": field.max_length}
                schema["properties"][name].update({k: v for k, v in bounds.items() if v is not None})
        return schema


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false, nothing else ("yes", 1 and "true" are refused: a typo must not flip it)."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid")


# --- reading orders ---------------------------------------------------------------------------


class OrderAmountsSerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True)
    subtotal = money_field(help_text="The goods at their prices when ordered, before discounts.")
    discount = money_field(source="discount_total", help_text="Discounts at placement.")
    shipping = money_field(source="shipping_cost", help_text="The shipping charge.")
    total = money_field(help_text="The total when the order was placed; never changes.")
    cancelled = money_field(
        source="amount_cancelled", help_text="Released to the customer: never charged, or refunded."
    )
    captured = money_field(source="amount_captured", help_text="Charged for what has shipped.")
    outstanding = money_field(
        source="amount_outstanding", help_text="total − cancelled − captured: still to charge."
    )


class PaymentSerializer(serializers.Serializer):
    gateway = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    currency = serializers.CharField(read_only=True)
    authorized = money_field(source="amount_authorized")
    captured = money_field(source="amount_captured")
    voided = money_field(source="amount_voided")
    refunded = money_field(source="amount_refunded")


class OrderLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    variant_id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    product_name = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=LineStatus.choices, read_only=True)
    quantity = serializers.IntegerField(read_only=True, help_text="Units ordered.")
    allocated = serializers.IntegerField(
        source="quantity_allocated", read_only=True, help_text="Set aside in stock, ready to ship."
    )
    shipped = serializers.IntegerField(source="quantity_shipped", read_only=True)
    cancelled = serializers.IntegerField(source="quantity_cancelled", read_only=True)
    waiting = serializers.IntegerField(
        source="quantity_backordered", read_only=True, help_text="Units waiting for stock."
    )
    unit_price = money_field()
    backorder_unit_price = money_field(help_text="The price of each of the last `units_at_backorder_price`.")
    units_at_backorder_price = serializers.IntegerField(source="quantity_at_backorder_price", read_only=True)
    expected_earliest_date = serializers.SerializerMethodField(
        help_text="While units wait: the earliest end of the range the customer is shown; else null."
    )
    expected_date = serializers.SerializerMethodField(
        help_text="While units wait: the date we are confident of (the range's end); else null."
    )
    promised_date = serializers.SerializerMethodField(
        help_text="While units wait: the latest date told to the customer (checkout or a delay email)."
    )

    @extend_schema_field(NULLABLE_DATE)
    def get_expected_earliest_date(self, line):
        return (
            line.expected_earliest_date.isoformat()
            if line.quantity_backordered and line.expected_earliest_date
            else None
        )

    @extend_schema_field(NULLABLE_DATE)
    def get_expected_date(self, line):
        return line.expected_date.isoformat() if line.quantity_backordered and line.expected_date else None

    @extend_schema_field(NULLABLE_DATE)
    def get_promised_date(self, line):
        return line.promised_date.isoformat() if line.quantity_backordered and line.promised_date else None


class TimelineEntrySerializer(serializers.Serializer):
    title = serializers.CharField(read_only=True)
    at = serializers.DateTimeField(read_only=True)
    detail = serializers.CharField(read_only=True)


class OrderSerializer(serializers.Serializer):
    number = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=OrderStatus.choices, read_only=True)
    email = serializers.EmailField(read_only=True)
    placed_at = serializers.DateTimeField(read_only=True)
    ship_policy = serializers.ChoiceField(choices=ShipPolicy.choices, read_only=True)
    is_priority = serializers.BooleanField(read_only=True)
    need_by = serializers.DateField(read_only=True, allow_null=True)
    amounts = serializers.SerializerMethodField()
    payment = serializers.SerializerMethodField()
    lines = OrderLineSerializer(many=True, read_only=True)
    timeline = serializers.SerializerMethodField(
        help_text="What the customer sees on the order page, oldest first (orders.selectors.timeline)."
    )

    @extend_schema_field(OrderAmountsSerializer)
    def get_amounts(self, order):
        return OrderAmountsSerializer(order).data

    @extend_schema_field(PaymentSerializer(allow_null=True))
    def get_payment(self, order):
        payment = getattr(order, "payment", None)
        return PaymentSerializer(payment).data if payment is not None else None

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, order):
        return TimelineEntrySerializer(order_timeline_for_customer(order=order), many=True).data


# --- the backorder queue ----------------------------------------------------------------------


class QueueEntrySerializer(serializers.Serializer):
    """One waiting line, as a row of the staff queue page (inventory/console/queue.py)."""

    position = serializers.IntegerField(read_only=True, help_text="1: served first.")
    order_number = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True, help_text="The customer's email.")
    line_id = serializers.IntegerField(read_only=True)
    waiting = serializers.IntegerField(source="units_waiting", read_only=True)
    units_ahead = serializers.IntegerField(
        read_only=True, help_text="Waiting units of the lines served before."
    )
    is_priority = serializers.BooleanField(read_only=True)
    ship_policy = serializers.ChoiceField(choices=ShipPolicy.choices, read_only=True)
    placed_at = serializers.DateTimeField(read_only=True)
    projected_earliest_date = serializers.SerializerMethodField(
        help_text="The earliest end of the range this line is projected to ship in, computed now."
    )
    projected_date = serializers.DateField(
        read_only=True,
        help_text="The date it is projected to ship, computed now: the range's confident end, the date the "
        "shop promises (the staff queue page's “Projected date”).",
    )
    expected_date = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text="The date on the order line, as last stored (the staff page's “Date on the order”).",
    )
    covered_by = serializers.ChoiceField(
        source="source",
        choices=["stock", "purchase_order", "lead_time"],
        read_only=True,
        help_text="stock: here now; purchase_order: the one named; lead_time: nothing booked yet.",
    )
    purchase_order_reference = serializers.CharField(read_only=True, allow_blank=True)

    @extend_schema_field(NULLABLE_DATE)
    def get_projected_earliest_date(self, entry):
        r = entry.projected_range
        return r.earliest.isoformat() if r is not None and r.earliest is not None else None


class BackorderQueueSerializer(serializers.Serializer):
    variant_id = serializers.IntegerField(read_only=True)
    units_waiting = serializers.IntegerField(read_only=True)
    free_stock = serializers.IntegerField(read_only=True)
    count = serializers.IntegerField(read_only=True, help_text="Waiting lines in the whole queue.")
    next = serializers.URLField(read_only=True, allow_null=True)
    previous = serializers.URLField(read_only=True, allow_null=True)
    results = QueueEntrySerializer(many=True, read_only=True)


class QueueQuerySerializer(StrictSerializer):
    page = serializers.IntegerField(
        min_value=1, max_value=MAX_QUANTITY, default=1, help_text="From 1, the head of the queue."
    )
    page_size = serializers.IntegerField(min_value=1, max_value=200, default=50, help_text="Lines per page.")


# --- actions ------------------------------------------------------------------------------------


class ShipSerializer(StrictSerializer):
    lines = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_empty=False,
        min_length=1,
        max_length=MAX_LINES,
        required=False,
        help_text="The ids of the lines to ship (their allocated units; a line named twice ships once); "
        "omitted: everything allocated that the ship policy lets leave, as the admin's “Ship ready items”.",
    )


class CancelLineSerializer(StrictSerializer):
    line = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class CancelWaitingSerializer(StrictSerializer):
    lines = CancelLineSerializer(
        many=True,
        required=False,
        allow_empty=False,
        min_length=1,
        max_length=MAX_LINES,
        help_text="Which waiting units to cancel (a line named twice: the sum of its quantities); omitted: "
        "every waiting unit of the order (the admin's action).",
    )

    def validate_lines(self, value):
        quantities: dict[int, int] = {}
        for item in value:
            quantities[item["line"]] = quantities.get(item["line"], 0) + item["quantity"]
        if any(quantity > MAX_QUANTITY for quantity in quantities.values()):
            raise serializers.ValidationError(f"At most {MAX_QUANTITY} units of a line.")
        return quantities


class PrioritySerializer(StrictSerializer):
    priority = StrictBooleanField(help_text="true: served first by the allocation pass; false: in turn.")


class ShipmentLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(read_only=True)
    quantity = serializers.IntegerField(read_only=True)


class ShipmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    currency = serializers.CharField(read_only=True)
    amount = money_field(help_text="The goods shipped, plus the shipping charge on the first shipment.")
    captured = money_field(help_text="What the payment captured for this shipment.")
    lines = ShipmentLineSerializer(many=True, read_only=True)


class ShipResultSerializer(serializers.Serializer):
    shipment = ShipmentSerializer(read_only=True)
    order = OrderSerializer(read_only=True)


class ReleasedSerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True)
    voided = money_field(help_text="Taken off what was reserved, never charged.")
    refunded = money_field(help_text="Given back from what had been charged.")
    unreleased = money_field(help_text="The gateway refused it; staff follow it up.")


class CancelResultSerializer(serializers.Serializer):
    cancelled = ShipmentLineSerializer(many=True, read_only=True)
    released = ReleasedSerializer(read_only=True)
    order = OrderSerializer(read_only=True)


class PriorityResultSerializer(serializers.Serializer):
    number = serializers.CharField(read_only=True)
    is_priority = serializers.BooleanField(read_only=True)
    changed = serializers.BooleanField(read_only=True, help_text="false: it was already so.")


class OrderProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem (api.errors): what went wrong and what to do, for a person to read."""

    type = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    status = serializers.IntegerField(read_only=True)
    detail = serializers.CharField(read_only=True)
    code = serializers.CharField(read_only=True)
    errors = serializers.JSONField(read_only=True, required=False, help_text="Per field, on a 400.")
