"""Customer pages for carts, checkout and orders, one module per concern.

Every page that shows an order checks ownership or a signed token
(`order_get_for_customer`). Views read the request, call a selector or a
service and render; prices, stock and dates are never taken from the client.

* `base`: the session's keys and guest cart (`session_cart_id`, `cart_merge_at_login`
  for the sign-in views), the safe `next` address, the invalid-link page;
* `cart`: the cart pages; `checkout_page`: checkout; `order_pages`: an order,
  cancelling its waiting units, the history; `questions`: "Ask about this order";
* `delay_links`: the two links of a delay email; `aftercare`: the feedback
  question and email preferences.

The URLconf (`orders.urls`) and other apps import the views from here.
"""

from .aftercare import email_preferences, email_preferences_link, feedback
from .base import (
    CART_SESSION_KEY,
    CHECKOUT_KEYS_SESSION_KEY,
    DAY,
    cart_merge_at_login,
    session_cart_id,
)
from .cart import cart_detail, cart_line_add, cart_line_remove, cart_line_update
from .checkout_page import CHECKOUT_KEYS_KEPT, checkout, checkout_card_setup
from .delay_links import delay_cancel, delay_keep
from .order_pages import ORDERS_PER_PAGE, order_cancel, order_detail, order_history
from .questions import order_question

__all__ = [
    "CART_SESSION_KEY",
    "CHECKOUT_KEYS_KEPT",
    "CHECKOUT_KEYS_SESSION_KEY",
    "DAY",
    "ORDERS_PER_PAGE",
    "cart_detail",
    "cart_line_add",
    "cart_line_remove",
    "cart_line_update",
    "cart_merge_at_login",
    "checkout",
    "checkout_card_setup",
    "delay_cancel",
    "delay_keep",
    "email_preferences",
    "email_preferences_link",
    "feedback",
    "order_cancel",
    "order_detail",
    "order_history",
    "order_question",
    "session_cart_id",
]
