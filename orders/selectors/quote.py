"""What the customer sees before paying: shipping options, the backorder price, the quote.

A read: the quote is priced from the database and split by the same availability answer the
product page shows. The cart page (`orders.selectors.carts`) shows it and checkout
(`orders.services.checkout`) places the order from it, so the two never disagree.
`MAX_LINE_QUANTITY` is the most units one line may hold (the cart's rule too).
"""

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from inventory.selectors import Availability, availability_for_variants
from shop.models import Variant

logger = logging.getLogger(__name__)


MAX_LINE_QUANTITY = 999
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ShippingOption:
    code: str
    label: str
    cost: Decimal


def shipping_options() -> dict[str, ShippingOption]:
    """Flat-rate shipping choices (settings.SHOP_SHIPPING_OPTIONS)."""
    raw = getattr(
        settings,
        "SHOP_SHIPPING_OPTIONS",
        {
            "standard": ("Standard delivery (3-5 working days)", "4.90"),
            "express": ("Express (next day)", "12.90"),
        },
    )
    return {code: ShippingOption(code, label, Decimal(cost)) for code, (label, cost) in raw.items()}


def backorder_price(unit_price: Decimal, discount_percent: Decimal | None) -> Decimal:
    if not discount_percent:
        return unit_price
    return (unit_price * (Decimal(100) - discount_percent) / Decimal(100)).quantize(
        CENT, rounding=ROUND_HALF_UP
    )


# --- quotes: what the customer sees before paying ---------------------------------------


@dataclass
class QuoteLine:
    variant: Variant
    quantity: int
    ship_now: int
    backorder: int
    expected_date: date | None  # the confident end of the range (docs/dates.md)
    unit_price: Decimal
    backorder_unit_price: Decimal
    discount_percent: Decimal
    total: Decimal
    message: str = ""
    availability: Availability | None = field(default=None, repr=False)  # what the split was made from
    expected_earliest: date | None = None  # the earliest end of the range


@dataclass
class Quote:
    lines: list[QuoteLine]
    subtotal: Decimal
    discount_total: Decimal
    shipping_cost: Decimal
    total: Decimal
    problems: list[str] = field(default_factory=list)

    @property
    def has_backorders(self) -> bool:
        return any(line.backorder for line in self.lines)


def order_quote(
    *,
    items: list[tuple[int, int]],
    shipping_method: str = "standard",
    variants: dict[int, Variant] | None = None,
) -> Quote:
    """Price a list of (variant id, quantity) from the database, never from the client.

    Constant number of queries: the variants with their products (unless the
    caller just read them: `variants`, by id) and one availability call. Lines
    that cannot be ordered as asked are kept with a message in `problems`;
    `order_place` refuses a quote with problems.
    """
    if variants is None:
        variants = Variant.objects.select_related("product").in_bulk([vid for vid, _ in items])
    availability = availability_for_variants(variant_ids=[vid for vid, _ in items])
    lines, problems = [], []
    for variant_id, quantity in items:
        variant = variants.get(variant_id)
        if variant is None or not variant.is_active or not variant.product.is_active:
            problems.append("An item in your cart is no longer sold.")
            continue
        a = availability[variant_id]
        message = ""
        if not 1 <= quantity <= MAX_LINE_QUANTITY:
            message = f"Choose a quantity between 1 and {MAX_LINE_QUANTITY}."
            now, later = 0, 0
        else:
            try:
                now, later = a.split(quantity)
            except ValueError:
                now, later = 0, 0
                message = (
                    f"Only {a.max_orderable} of {variant} can be ordered."
                    if a.max_orderable
                    else f"{variant} is {a.label.lower()}."
                )
        if message:
            problems.append(message)
        discount = a.discount_percent or Decimal("0") if later else Decimal("0")
        bo_price = backorder_price(variant.price, discount)
        span = a.backorder_range(later)
        lines.append(
            QuoteLine(
                variant=variant,
                quantity=quantity,
                ship_now=now,
                backorder=later,
                expected_date=span.confident if span else None,
                expected_earliest=span.earliest if span else None,
                unit_price=variant.price,
                backorder_unit_price=bo_price,
                discount_percent=discount,
                total=variant.price * now + bo_price * later,
                message=message,
                availability=a,
            )
        )
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    total_goods = sum((line.total for line in lines), Decimal("0"))
    option = shipping_options().get(shipping_method)
    shipping = option.cost if option else Decimal("0")
    return Quote(
        lines=lines,
        subtotal=subtotal,
        discount_total=subtotal - total_goods,
        shipping_cost=shipping,
        total=total_goods + shipping,
        problems=problems,
    )
