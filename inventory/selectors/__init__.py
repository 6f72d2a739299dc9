"""Reads for inventory, one concern per module; this package re-exports their public names.

- `availability` (its SQL in `availability_sql`): the one availability answer (`availability_for_variants`) and the catalog
  filters that agree with it (`variants_with_stock`, `available_now_q`, ...).
- `queue`: the backorder queue as staff see it (`backorder_queue_page`, `backorder_queue_variants`,
  `next_deliveries`).
- `ledger`: stock levels that differ from their movements (`ledger_discrepancies`); the variants
  whose stock moved lately (`variants_moved_since`).
- `suppliers`: each supplier's habits learned from its purchase orders (`supplier_habits`).

The demand side (waiting order lines, the queue order) is `orders.querysets`.

Reads only: no writes, no row locks, so they run inside or outside any transaction. A writer that
must act on what it read locks first (inventory.locks) and reads the changing numbers again.
"""

from .availability import (
    Availability,
    AvailabilityStatus,
    availability_best,
    availability_for_variant,
    availability_for_variants,
    availability_from_numbers,
    available_now_q,
    can_be_backordered_q,
    date_in_words,
    product_availability_filter,
    variants_with_stock,
)
from .availability_sql import can_ship_now_expression
from .ledger import LedgerDiscrepancy, ledger_discrepancies, variants_moved_since
from .queue import (
    NextDelivery,
    QueueEntry,
    QueueIncoming,
    QueuePage,
    QueueSource,
    backorder_queue,
    backorder_queue_page,
    backorder_queue_variants,
    next_deliveries,
)
from .suppliers import SupplierHabits, supplier_habits

__all__ = [
    "Availability",
    "AvailabilityStatus",
    "LedgerDiscrepancy",
    "NextDelivery",
    "QueueEntry",
    "QueueIncoming",
    "QueuePage",
    "QueueSource",
    "SupplierHabits",
    "availability_best",
    "availability_for_variant",
    "availability_for_variants",
    "availability_from_numbers",
    "available_now_q",
    "backorder_queue",
    "backorder_queue_page",
    "backorder_queue_variants",
    "can_be_backordered_q",
    "can_ship_now_expression",
    "date_in_words",
    "ledger_discrepancies",
    "variants_moved_since",
    "next_deliveries",
    "product_availability_filter",
    "supplier_habits",
    "variants_with_stock",
]
