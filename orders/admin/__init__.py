"""Staff admin for orders, payments, shipments, the order timeline, carts, delays and feedback:
one module per model family, all read-only (`base.ReadOnlyAdmin`, `base.ReadOnlyInline`).

Orders are placed by customers; their stock, quantities, statuses and money change only through
`orders.services`, which the order list's actions call (`orders.admin.orders`).

- `orders`: OrderAdmin, its filters, its lines and its actions (cancel waiting units, priority);
- `shipping`: "Ship ready items", the order list's action and the order page's button with its
  confirmation page;
- `payments`: PaymentAdmin, and the payment table shown on the order page;
- `shipments`, `events` (the order timeline), `delays`, `feedback`, `carts`: one admin each, with the
  inline the order page shows of it;
- `stripe_events`: Stripe's webhook events as received (a filter lists the disputes);
- `questions`: customers' questions from their order's page, and customer service's answers.

Django's admin autodiscovery imports `orders.admin`; importing the modules here runs their
`@admin.register` decorators.
"""

from . import carts, delays, events, feedback, orders, payments, questions, shipments, shipping, stripe_events

__all__ = [
    "carts",
    "delays",
    "events",
    "feedback",
    "orders",
    "payments",
    "questions",
    "shipments",
    "shipping",
    "stripe_events",
]
from . import card_charges  # noqa: E402,F401  (CardChargeAdmin)
