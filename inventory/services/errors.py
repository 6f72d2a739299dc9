"""Why a stock change was refused: the exceptions staff pages and checkout show.

No database access. A service raises them inside its transaction, which then rolls back: a
refused change writes nothing and announces nothing.
"""

import logging

logger = logging.getLogger(__name__)


class StockError(Exception):
    """A stock change that was refused; the message is safe to show to staff."""


class InsufficientStock(StockError):
    pass


class PurchaseOrderError(StockError):
    pass


class BackorderRefused(StockError):
    """More units asked for than stock plus the backorder policy allow."""

    def __init__(self, message: str, *, variant_id: int, max_orderable: int):
        super().__init__(message)
        self.variant_id = variant_id
        self.max_orderable = max_orderable
