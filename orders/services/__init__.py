"""Every write to orders: checkout, shipping, cancelling, priority, the allocation pass, carts.

One module per concern; this package re-exports their public names, so callers write
`from orders.services import order_place`.

- the quote the customer sees before paying is a read: `orders.selectors.quote`, re-exported here
- `checkout`: placing an order
- `charges`: payment records, voids
- `fulfilment`: shipping allocated units and capturing their money
- `cancellation`: cancelling waiting units
- `priority`: staff priority in the backorder queue
- `allocation`: the auto-allocation pass that serves waiting order lines when stock arrives;
  `allocation_batches` (one batch, in Python and its PostgreSQL twin side by side) and
  `allocation_follow_up` (the orders' side of each batch on a second connection)
- `after_allocation`: the orders' side of an allocation batch (statuses, events, emails)
- `dates`: the expected dates of waiting lines
- `cart`: the cart
- `questions`: customer questions about an order and customer service's answers
- `errors`: the refusals

Every stock change goes through inventory.services; every payment call is recorded as a
PaymentTransaction; every transition is an OrderEvent; every email is an outbox row created in
the same transaction.
"""

from ..selectors.quote import (  # noqa: F401  (a read: the quote lives with the selectors)
    CENT,
    MAX_LINE_QUANTITY,
    Quote,
    QuoteLine,
    ShippingOption,
    backorder_price,
    order_quote,
    shipping_options,
)
from .after_allocation import (  # noqa: F401
    order_allocation_follow_ups_finish,
    order_lines_allocated,
)
from .allocation import (  # noqa: F401
    ServeResult,
    allocation_serve_queue,
    stock_arrived_process,
)
from .cancellation import (  # noqa: F401
    order_cancel_backordered,
)
from .card_charges import (  # noqa: F401
    card_charge_send,
    card_charges_pending,
)
from .cards import (  # noqa: F401
    PaymentActionRequired,
    card_checkout_setup,
    card_payment_amounts,
)
from .cart import (  # noqa: F401
    CartError,
    cart_add,
    cart_get_or_create,
    cart_merge,
    cart_remove,
    cart_set_quantity,
)
from .checkout import (  # noqa: F401
    PlaceResult,
    order_place,
)
from .dates import (  # noqa: F401
    DatesRefresh,
    LineProjection,
    backorder_dates_preview,
    backorder_dates_refresh,
    backorder_dates_reproject,
)
from .errors import (  # noqa: F401
    BackorderTermsRequired,
    CheckoutError,
    NeedByLate,
    OrderActionError,
    TotalChanged,
)
from .fulfilment import (  # noqa: F401
    order_ship,
)
from .need_by import (  # noqa: F401
    NeedBy,
)
from .priority import (  # noqa: F401
    order_set_priority,
)
from .questions import (  # noqa: F401
    customer_question_answer,
    customer_question_ask,
)
