"""Orders, their lines, shipments, payments and the order timeline.

A line's quantities always add up: ordered = allocated + backordered + shipped
+ cancelled (a database constraint). Allocated units are held in stock for the
line; backordered units wait for stock to arrive. Line and order statuses are
derived from the quantities by `orders.lifecycle` — never set by hand. The
choices of the status, kind and cause fields are in `orders.choices` (re-exported
here).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.urls import reverse

from tax.models import TaxClass

from .choices import (  # the fields' vocabularies, re-exported from here
    ChargePurpose,  # noqa: F401 (re-exported)
    ChargeStatus,  # noqa: F401 (re-exported)
    DelayCause,  # noqa: F401 (re-exported)
    DelayChoice,  # noqa: F401 (re-exported)
    DelayNoticeStatus,  # noqa: F401 (re-exported)
    LineStatus,
    NeedByAction,
    OrderEventKind,
    OrderStatus,
    PaymentPlan,
    PaymentStatus,
    QuestionSubject,
    ShipPolicy,
    TransactionKind,
)
from .querysets import WAITING, OrderLineQuerySet


class Order(models.Model):
    number = models.CharField(max_length=20)  # unique: see Meta.constraints
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.WAITING)
    ship_policy = models.CharField(max_length=10, choices=ShipPolicy.choices, default=ShipPolicy.SPLIT)
    is_priority = models.BooleanField(
        default=False, help_text="Priority orders are served first from arriving stock."
    )
    placed_at = models.DateTimeField(db_index=True)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # unique: see Meta
    # "I need it by" for the waiting items, and what to do if they cannot make it (docs/delays.md).
    need_by = models.DateField(null=True, blank=True)
    need_by_action = models.CharField(max_length=10, choices=NeedByAction.choices, blank=True)

    # Shipping address
    full_name = models.CharField(max_length=200, blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address (line 2)", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 country code, e.g. DE.")
    shipping_method = models.CharField(max_length=40, blank=True)
    # The customer's language at checkout: their emails are written in it (docs/tax.md, README).
    language = models.CharField(max_length=10, blank=True)
    # A business customer (docs/tax.md): its name and VAT number, as entered at checkout. A valid
    # number of another EU country than the shop's makes the order a reverse-charge sale (no VAT).
    company_name = models.CharField(max_length=200, blank=True)
    vat_number = models.CharField("VAT number", max_length=20, blank=True)
    reverse_charge = models.BooleanField(default=False)

    # Money, in settings.SHOP_CURRENCY
    currency = models.CharField(max_length=3, default="EUR")
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    discount_total = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), help_text="Backorder discounts."
    )
    shipping_cost = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["-placed_at", "-pk"]
        # No index on status, on purpose: an order's status changes several times in its life
        # (the allocation pass changes thousands at once). With no indexed column changing and
        # room on the page (fillfactor 50, migration 0005), PostgreSQL rewrites the row in place
        # ("HOT" update) instead of adding an entry to each of the table's six indexes. Staff
        # lists filtered by status are ordered by placed_at and read that index instead.
        indexes = [models.Index(fields=["email"])]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            # Unique constraints rather than unique=True: on PostgreSQL, unique=True on a CharField
            # adds a second "LIKE" index that nothing here uses, and every status change of an
            # order (the allocation pass updates thousands at once) pays for each index.
            models.UniqueConstraint(fields=["number"], name="order_number_unique"),
            models.UniqueConstraint(fields=["idempotency_key"], name="order_idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders:detail", kwargs={"number": self.number})


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("shop.Variant", on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField(max_length=64)
    product_name = models.CharField(max_length=200)
    options_label = models.CharField(max_length=200, blank=True)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    backorder_discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    backorder_unit_price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Price of each unit sold on backorder.",
    )
    quantity_at_backorder_price = models.PositiveIntegerField(
        default=0, help_text="The last units of the line, sold at the backorder price."
    )
    quantity = models.PositiveIntegerField()
    # VAT at placement (docs/tax.md): the product's class and the rate in force for the order's
    # country that day, in percent. Each shipment's invoice re-checks the rate at its own date.
    tax_class = models.CharField(max_length=10, choices=TaxClass.choices, default=TaxClass.STANDARD)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    quantity_allocated = models.PositiveIntegerField(default=0)
    quantity_backordered = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    expected_date = models.DateField(
        null=True,
        blank=True,
        help_text="Projected date the backordered units will be ready to ship: the confident end of the "
        "range, the date we are 90% sure of (docs/dates.md).",
    )
    expected_earliest_date = models.DateField(
        null=True, blank=True, help_text="The earliest end of the projected range (docs/dates.md)."
    )
    first_promised_date = models.DateField(
        null=True, blank=True, help_text="The date promised at checkout, kept for delay tracking."
    )
    promised_date = models.DateField(
        null=True,
        blank=True,
        help_text="The latest date we told the customer (at checkout or in a delay email). "
        "A projection later than this is a delay.",
    )
    promised_on = models.DateField(
        null=True, blank=True, help_text="The day `promised_date` was told (checkout or the delay email)."
    )
    quantity_backordered_at_placement = models.PositiveIntegerField(
        default=0, help_text="Units that had to wait for stock when the order was placed."
    )
    status = models.CharField(max_length=20, choices=LineStatus.choices, default=LineStatus.BACKORDERED)

    # `.waiting()`, waiting units per variant, and the queue order: orders/querysets.py.
    objects = OrderLineQuerySet.as_manager()

    class Meta:
        ordering = ["order_id", "pk"]
        indexes = [
            # The backorder queue of a variant: waiting lines only.
            models.Index(
                fields=["variant", "id"],
                condition=WAITING,
                name="orderline_waiting_by_variant",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(
                    quantity=F("quantity_allocated")
                    + F("quantity_backordered")
                    + F("quantity_shipped")
                    + F("quantity_cancelled")
                ),
                name="orderline_quantities_add_up",
            ),
            models.CheckConstraint(
                condition=Q(quantity_at_backorder_price__lte=F("quantity")),
                name="orderline_discounted_units_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"

    def price_of_units(self, start: int, count: int) -> Decimal:
        """Price of units [start, start + count) of the line; the last units carry the backorder price."""
        full_price_units = self.quantity - self.quantity_at_backorder_price
        end = start + count
        full = max(0, min(end, full_price_units) - start)
        discounted = count - full
        return self.unit_price * full + self.backorder_unit_price * discounted

    @property
    def total(self) -> Decimal:
        return self.price_of_units(0, self.quantity)

    @property
    def quantity_open(self) -> int:
        """Units neither shipped nor cancelled."""
        return self.quantity_allocated + self.quantity_backordered


class OrderEvent(models.Model):
    """The order's timeline, shown to the customer and to staff."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=OrderEventKind.choices)
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # partial index below: most events have no staff user
    )
    visible_to_customer = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["user"], condition=Q(user__isnull=False), name="orderevent_user")]

    def __str__(self) -> str:
        return f"{self.order.number}: {self.message}"


class AllocationFollowUp(models.Model):
    """A batch of the auto-allocation pass whose orders are not brought up to date yet.

    The pass's batch transaction allocates stock to order lines and writes this row; a
    second transaction then gives the batch's orders their new status, one timeline event
    and one "your backordered items are allocated" email each, and deletes the row. On
    PostgreSQL that second transaction runs beside the pass's next batch, on another
    connection. A row left behind (the worker died between the two) is found by the
    sweep and by the next pass, which do the same work: nothing is lost or done twice.
    """

    run_id = models.CharField(max_length=32)
    lines = models.JSONField()  # {"lines": [order line ids], "takes": [units allocated to each]}
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"allocation {self.run_id}: {len(self.lines.get('lines', []))} lines"


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2, help_text="Value of the goods shipped.")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Shipment {self.pk} of {self.order.number}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="shipment_lines")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="shipmentline_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × line {self.order_line_id}"


class Payment(models.Model):
    """One authorization for an order, and what became of it."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="payment")
    gateway = models.CharField(max_length=20)
    reference = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)
    amount_authorized = models.DecimalField(max_digits=12, decimal_places=2)
    amount_captured = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    amount_voided = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    amount_refunded = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.AUTHORIZED)
    # Card payments through Stripe (gateway "card"): `reference` is the Stripe customer, this the
    # saved card, `plan` when waiting units are paid; each PaymentIntent is a CardCharge.
    stripe_payment_method = models.CharField(max_length=100, blank=True)
    plan = models.CharField(max_length=10, choices=PaymentPlan.choices, default=PaymentPlan.SHIP)
    deposit_percent = models.PositiveSmallIntegerField(default=0, help_text="The deposit plan's share.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_captured__gte=0, amount_voided__gte=0, amount_refunded__gte=0),
                name="payment_amounts_not_negative",
            ),
            models.CheckConstraint(
                # Rounded to the cent: SQLite adds decimals as floats (29.40 + 64.90 > 94.30 there).
                condition=Q(amount_authorized__gte=Round(F("amount_captured") + F("amount_voided"), 2)),
                name="payment_capture_and_void_within_authorized",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__lte=F("amount_captured")), name="payment_refund_within_captured"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.reference}"

    @property
    def amount_open(self) -> Decimal:
        """Authorized but neither captured nor voided."""
        return self.amount_authorized - self.amount_captured - self.amount_voided


class PaymentTransaction(models.Model):
    """Every call to the payment gateway, successful or not."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(max_length=10, choices=TransactionKind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    success = models.BooleanField()
    gateway_reference = models.CharField(max_length=100, blank=True)
    message = models.CharField(max_length=255, blank=True)
    shipment = models.ForeignKey(Shipment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


class Cart(models.Model):
    """A shopping cart: a guest's (by session) or a customer's (by user)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="cart"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Cart {self.pk}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("shop.Variant", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cartline_one_per_variant"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cartline_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × variant {self.variant_id}"


# --- feedback after fulfilment ------------------------------------------------------------------


class OrderFeedback(models.Model):
    """The one feedback request an order with backorders gets after delivery, and the answer."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="feedback")
    requested_at = models.DateTimeField(auto_now_add=True)
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="1 (very unhappy) to 5 (very happy)."
    )
    comment = models.TextField(blank=True, max_length=2000)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = "feedback"
        verbose_name_plural = "feedback"
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="feedback_rating_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"Feedback on order {self.order_id}"


# --- customer questions ("Ask about this order") --------------------------------------------------


class CustomerQuestion(models.Model):
    """A customer's question about an order, sent from its page, and customer service's answer by email.

    `email` is the order's address when it was asked: the answer goes there, never to an address typed
    into the form. Answered once (`orders.services.customer_question_answer`).
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="questions")
    email = models.EmailField()
    subject = models.CharField(max_length=20, choices=QuestionSubject.choices)
    message = models.TextField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answer = models.TextField(max_length=5000, blank=True)

    class Meta:
        # Unanswered first, the longest waiting on top; then the latest answers.
        ordering = [F("answered_at").desc(nulls_first=True), "created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True, answer="")
                | (Q(answered_at__isnull=False) & ~Q(answer="")),
                name="question_answer_has_its_date",
            ),
        ]

    def __str__(self) -> str:
        return f"Question {self.pk} on order {self.order_id}"


from .card_models import CardCharge, StripeEvent  # noqa: E402,F401  (the card payments' tables)
from .delay_models import DelayNotice, LineDelay  # noqa: E402,F401  (the delay emails' tables)
