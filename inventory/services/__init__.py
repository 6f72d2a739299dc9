"""Every write to stock: the only code that changes stock levels, purchase orders and allocations.

One module per concern; this package re-exports their public names, so callers write
`from inventory.services import stock_adjust`.

- `ledger`: stock adjustments and counts (a StockMovement for every change)
- `purchasing`: purchase orders, from draft to received
- `reservation`: checkout's reservation of stock for order lines, and shipping it
- `requests`: allocation requests, the durable "this variant has stock to serve"
- `bulk`: set-based receipts and counts (imports, the demo)
- `serving`: the stock side of an allocation pass's batch (stock items, allocations, ledger rows),
  called by `orders.services.allocation_batches` in the batch's transaction; imported from its
  module, not re-exported here
- `errors`: the refusals

Every function writes a StockMovement row in the same transaction as the stock change, so the
ledger always explains the levels (`stock_reconcile` checks it). Every row lock is a named helper
of `inventory.locks`, taken in the order of docs/concurrency.md.

What a change announces goes through the hooks of `inventory.events` (`availability_changed`,
`stock_grew`, `stock_fell`, `supply_changed`), never by importing the code that reacts. A service
sends them with `Hook.send()` where the change is made, inside its transaction: every receiver of
these hooks defers its effect until that transaction commits (a Celery `delay_on_commit`, the page
cache's `on_commit`), so a rolled-back change publishes nothing, and the after-commit callbacks are
the ones, in the order, the services registered before the hooks existed (the page-cache token
before the "stock arrived" message). What must not be lost is a row in the same transaction:
`stock_grew` is sent only by `requests.allocation_request_add`, after it writes the
`AllocationRequest` rows the sweep finds again.
"""

from .bulk import (  # noqa: F401
    CountBelowAllocated,
    CountChange,
    stock_count_bulk,
    stock_receive_bulk,
)
from .errors import (  # noqa: F401
    BackorderRefused,
    InsufficientStock,
    PurchaseOrderError,
    StockError,
)
from .ledger import (  # noqa: F401
    stock_adjust,
    stock_count,
)
from .purchasing import (  # noqa: F401
    Receipt,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_mark_ordered,
    purchase_order_receive,
    purchase_order_set_expected_date,
)
from .requests import (  # noqa: F401
    allocation_request_add,
    allocation_requests_claim,
    allocation_requests_pending,
    allocation_requests_restore,
)
from .reservation import (  # noqa: F401
    Demand,
    PlannedLine,
    Reservation,
    allocation_record,
    allocation_reserve,
    allocation_ship,
)
from .supplier_answers import (  # noqa: F401
    purchase_order_supplier_confirm,
    purchase_order_supplier_propose,
)
from .supplier_mail import (  # noqa: F401
    supplier_po_email_queue,
    supplier_reminders_send,
)
