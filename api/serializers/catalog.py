"""What the catalog endpoints answer: variants with their price and live availability.

Availability is `inventory.selectors.availability_for_variants`'s answer, the product page's, set on
each variant by the view (`variant.availability`, `variant.backorder_price`); these serializers only
shape it. Amounts are decimal strings in the answer's `currency`, dates ISO 8601.
"""

from django.conf import settings
from rest_framework import serializers

from inventory.selectors import AvailabilityStatus


def money_field(**kwargs) -> serializers.DecimalField:
    """An amount as a decimal string with two places ("19.90"), in the answer's `currency`."""
    return serializers.DecimalField(max_digits=12, decimal_places=2, **kwargs)


class ProductRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    is_active = serializers.BooleanField(help_text="False: hidden from customers.")


class DateRangeSerializer(serializers.Serializer):
    earliest = serializers.DateField(help_text="The earliest shipping day.")
    confident = serializers.DateField(help_text="The shipping day the shop is 90% sure of.")


class AvailabilitySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=list(AvailabilityStatus.LABELS.items()),
        help_text="in_stock, low_stock, backorder, out_of_stock or discontinued: the product page's badge.",
    )
    label = serializers.CharField(help_text="The badge as customers read it, e.g. “Backorder”.")
    message = serializers.CharField(help_text="The sentence the product page shows under the badge.")
    sellable_units = serializers.IntegerField(
        source="sellable_now",
        help_text="Units that can ship from stock now (free stock not owed to waiting lines).",
    )
    free_units = serializers.IntegerField(
        source="free_stock", help_text="On hand minus set aside for orders, over the active warehouses."
    )
    waiting_units = serializers.IntegerField(
        source="waiting_backorders", help_text="Units customers ordered that wait for stock (on backorder)."
    )
    backorderable_units = serializers.IntegerField(
        source="backorderable",
        allow_null=True,
        help_text="Units that may still be ordered on backorder; null means no limit, 0 none.",
    )
    expected_date = serializers.DateField(
        allow_null=True,
        help_text="When the next unit ordered on backorder would ship (the confident end of expected_range); "
        "null when it cannot be backordered.",
    )
    expected_range = DateRangeSerializer(
        allow_null=True, help_text="The range the product page shows: “expected to ship 12–19 March”."
    )
    backorder_discount_percent = serializers.DecimalField(
        source="discount_percent",
        max_digits=5,
        decimal_places=2,
        allow_null=True,
        help_text="Discount for units that wait for stock, when the variant may be backordered.",
    )


class VariantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    product = ProductRefSerializer()
    options = serializers.DictField(
        source="option_values",
        child=serializers.CharField(),
        help_text='e.g. {"size": "M", "colour": "Blue"}',
    )
    options_label = serializers.CharField(help_text="“M / Blue”; empty for a single-variant product.")
    is_active = serializers.BooleanField(help_text="False: not sold.")
    currency = serializers.SerializerMethodField(help_text="ISO 4217 code of the amounts, e.g. EUR.")
    price = money_field(help_text="The price of one unit, as the product page shows it.")
    backorder_price = money_field(
        allow_null=True,
        help_text="What one unit costs when it waits for stock (the backorder discount applied); "
        "null when waiting earns no discount.",
    )
    availability = AvailabilitySerializer()

    def get_currency(self, obj) -> str:
        return settings.SHOP_CURRENCY
