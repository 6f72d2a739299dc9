"""The orders app's fixed vocabularies: the choices of its status, kind and cause fields.

Kept apart from the tables so that `orders.models` holds the tables and their rules; every name is
re-exported by `orders.models`, so `from orders.models import OrderStatus` keeps working. Imports
nothing from the project (the bottom layer, beside the models). The labels customers read (statuses,
ship policy, need-by action, question subject) are translated when shown.
"""

from django.db import models
from django.utils.translation import gettext_lazy, pgettext_lazy

# When a card pays for waiting units: a backorder policy's field, so inventory defines it.
from inventory.models import PaymentPlan  # noqa: F401


class ShipPolicy(models.TextChoices):
    SPLIT = "split", gettext_lazy("Ship what is available now, the rest as it arrives")
    TOGETHER = "together", gettext_lazy("Ship everything together")


class OrderStatus(models.TextChoices):
    WAITING = "waiting", pgettext_lazy("order status", "Waiting for stock")
    PARTIALLY_READY = "partially_ready", pgettext_lazy("order status", "Partly ready to ship")
    READY = "ready", pgettext_lazy("order status", "Ready to ship")
    PARTIALLY_SHIPPED = "partially_shipped", pgettext_lazy("order status", "Partly shipped")
    SHIPPED = "shipped", pgettext_lazy("order status", "Shipped")
    CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")


class LineStatus(models.TextChoices):
    BACKORDERED = "backordered", pgettext_lazy("order line status", "Waiting for stock")
    PARTIALLY_ALLOCATED = "partially_allocated", pgettext_lazy("order line status", "Partly in stock")
    ALLOCATED = "allocated", pgettext_lazy("order line status", "Ready to ship")
    PARTIALLY_SHIPPED = "partially_shipped", pgettext_lazy("order line status", "Partly shipped")
    SHIPPED = "shipped", pgettext_lazy("order line status", "Shipped")
    CANCELLED = "cancelled", pgettext_lazy("order line status", "Cancelled")


class OrderEventKind(models.TextChoices):
    PLACED = "placed", "Order placed"
    ALLOCATED = "allocated", "Items allocated"
    SHIPPED = "shipped", "Items shipped"
    DELAYED = "delayed", "Delayed"
    CANCELLED = "cancelled", "Items cancelled"
    REFUNDED = "refunded", "Payment refunded or released"
    PRIORITY = "priority", "Priority changed"
    NOTE = "note", "Note"


class PaymentStatus(models.TextChoices):
    AUTHORIZED = "authorized", "Authorized"
    PARTIALLY_CAPTURED = "partially_captured", "Partly captured"
    CAPTURED = "captured", "Captured"
    VOIDED = "voided", "Voided"


class TransactionKind(models.TextChoices):
    AUTHORIZE = "authorize", "Authorize"
    CAPTURE = "capture", "Capture"
    VOID = "void", "Void"
    REFUND = "refund", "Refund"


# --- delays -------------------------------------------------------------------------------------


class DelayCause(models.TextChoices):
    PO_DATE_CHANGED = "po_date_changed", "Purchase order date moved"
    PO_CANCELLED = "po_cancelled", "Purchase order cancelled"
    PO_RECEIVED_SHORT = "po_received_short", "Purchase order received short"
    QUEUE_PRIORITY = "queue_priority", "Queue changed (priority)"
    OVERDUE = "overdue", "Promised date passed"
    RESCHEDULED = "rescheduled", "Date moved (found by the daily check)"


class DelayNoticeStatus(models.TextChoices):
    PENDING = "pending", "Collecting delays"
    SENT = "sent", "Emailed"
    WITHDRAWN = "withdrawn", "Withdrawn (nothing left to tell)"
    CANCELLED = "cancelled", "Cancelled: it would miss the customer's need-by date"


class DelayChoice(models.TextChoices):
    NONE = "", "No answer yet"
    KEEP_WAITING = "keep_waiting", "Keeps waiting"
    CANCELLED = "cancelled", "Cancelled the delayed items"


class NeedByAction(models.TextChoices):
    """What the shop does when waiting items cannot arrive by the customer's need-by date."""

    CANCEL = "cancel", gettext_lazy("Cancel those items and refund me automatically")
    ASK = "ask", gettext_lazy("Ask me: email me so I can keep waiting or cancel")


# --- customer questions -------------------------------------------------------------------------


class QuestionSubject(models.TextChoices):
    """What "Ask about this order" asks about; the label is the customer's words."""

    WHEN_SHIP = "when_ship", gettext_lazy("When will it ship?")
    CHANGE_CANCEL = "change_cancel", gettext_lazy("Change or cancel")
    OTHER = "other", gettext_lazy("Something else")


# --- card payments (Stripe) ---------------------------------------------------------------------


class ChargePurpose(models.TextChoices):
    CHECKOUT = "checkout", "At checkout"
    ALLOCATION = "allocation", "When stock was set aside"
    SHIPMENT = "shipment", "At shipment"


class ChargeStatus(models.TextChoices):
    PENDING = "pending", "Not sent to Stripe yet"
    REQUIRES_ACTION = "requires_action", "Waiting for the customer to confirm"
    FAILED = "failed", "Failed"
    AUTHORIZED = "authorized", "Authorized (held on the card)"
    CAPTURED = "captured", "Charged"
    RELEASED = "released", "Released"
