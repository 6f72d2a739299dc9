"""The events an endpoint can subscribe to, and what each means (docs/api.md lists them from here)."""

EVENT_TYPES: dict[str, str] = {
    "stock.changed": "Stock levels of one or more variants changed (one event per change or allocation pass).",
    "variant.availability_changed": "What the product page says about a variant changed (status, units, date).",
    "backorder.created": "An order was placed with units that wait for stock.",
    "backorder.allocated": "Waiting units of an order line were given stock by the allocation pass.",
    "backorder.date_changed": "The date told to a customer for waiting units changed.",
    "order.shipped": "Units of an order were shipped.",
    "order.cancelled": "Waiting units of an order were cancelled.",
    "purchase_order.received": "A purchase order was received, in full or in part.",
    "purchase_order.date_changed": "A purchase order's expected date was moved.",
}

EVENT_TYPE_CHOICES = [(name, f"{name}: {meaning}") for name, meaning in EVENT_TYPES.items()]
