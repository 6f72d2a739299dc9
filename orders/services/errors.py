"""Why an order action was refused: the exceptions the customer and staff pages show."""

import logging

logger = logging.getLogger(__name__)


class CheckoutError(Exception):
    """The order cannot be placed as asked; the message is for the customer."""

    def __init__(self, message: str, *, variant_id: int | None = None):
        super().__init__(message)
        self.variant_id = variant_id


class BackorderTermsRequired(CheckoutError):
    """Some units would wait for stock, and the customer has not accepted the backorder terms."""


class NeedByLate(CheckoutError):
    """A waiting item is expected after the customer's need-by date, and they have not said they
    understand it may arrive after it."""


class TotalChanged(CheckoutError):
    """The customer changed the delivery country or VAT number after the page showed its prices, and
    the total for the new destination differs (docs/tax.md): they see the new total and submit again."""


class OrderActionError(Exception):
    """A staff or customer action on an order that is not possible; the message says why."""
