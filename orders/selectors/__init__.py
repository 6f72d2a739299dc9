"""Reads for orders, scoped by who is asking; one module per concern.

* `customer_orders`: an order for its owner or a signed link, a customer's history;
* `quote`: shipping options, the backorder price, the quote a customer sees before paying;
* `carts`: the visitor's cart, priced and split as checkout will place it;
* `delays`: escalated lines, a delay email's notice and its cancel preview;
* `feedback`: the request behind a feedback link;
* `questions`: customer questions, for the order page and customer service;
* `timeline`: an order's timeline as its customer reads it;
* `queue_place`: where an order's waiting lines stand in their queues (counts only).
"""

from .carts import CartSummary, CartSummaryLine, cart_count, cart_get, cart_items, cart_summary
from .customer_orders import order_get_for_customer, order_list_for_user
from .delays import (
    CancelPreviewLine,
    delay_cancel_preview,
    delay_notice_for_link,
    escalated_cutoff,
    escalated_lines,
)
from .feedback import feedback_get
from .questions import customer_question_for_staff, order_questions_for_customer
from .queue_place import QueuePlace, order_queue_places
from .quote import (
    CENT,
    MAX_LINE_QUANTITY,
    Quote,
    QuoteLine,
    ShippingOption,
    backorder_price,
    order_quote,
    shipping_options,
)
from .timeline import TimelineEntry, order_timeline_for_customer

__all__ = [
    "CENT",
    "MAX_LINE_QUANTITY",
    "CancelPreviewLine",
    "CartSummary",
    "CartSummaryLine",
    "cart_count",
    "cart_get",
    "cart_items",
    "cart_summary",
    "customer_question_for_staff",
    "delay_cancel_preview",
    "delay_notice_for_link",
    "escalated_cutoff",
    "escalated_lines",
    "feedback_get",
    "order_get_for_customer",
    "order_list_for_user",
    "order_queue_places",
    "order_questions_for_customer",
    "order_quote",
    "order_timeline_for_customer",
    "QueuePlace",
    "Quote",
    "QuoteLine",
    "ShippingOption",
    "TimelineEntry",
    "backorder_price",
    "shipping_options",
]
