"""The quote, under the name `orders.services` has always exported it.

The quote is a read and lives in `orders.selectors.quote` (the cart page shows it, checkout
places the order from it); this module only names it for `orders.services.__init__`, so
`from orders.services import order_quote` keeps working. Nothing is defined here.
"""

from ..selectors.quote import (
    CENT,
    MAX_LINE_QUANTITY,
    Quote,
    QuoteLine,
    ShippingOption,
    backorder_price,
    order_quote,
    shipping_options,
)

__all__ = [
    "CENT",
    "MAX_LINE_QUANTITY",
    "Quote",
    "QuoteLine",
    "ShippingOption",
    "backorder_price",
    "order_quote",
    "shipping_options",
]
