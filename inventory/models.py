"""Inventory: warehouses, stock levels, the append-only ledger, backorder policy,
suppliers and purchase orders.

Only `inventory.services` writes to StockItem and StockMovement. Database
constraints back the invariants, so a bug elsewhere fails loudly instead of
silently corrupting the numbers.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Warehouse(models.Model):
    name = models.CharField(max_length=120)
    code = models.SlugField(max_length=20, unique=True, help_text="Short code, e.g. 'MAIN'.")
    priority = models.PositiveIntegerField(
        default=0, help_text="Stock is taken from warehouses with lower numbers first."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class StockItemQuerySet(models.QuerySet):
    def with_free_units(self) -> "StockItemQuerySet":
        """Stock items in active warehouses with units not promised to orders (`on_hand > allocated`):
        stock that could serve a waiting line now."""
        return self.filter(warehouse__is_active=True, on_hand__gt=F("allocated"))


class StockItem(models.Model):
    """How many units of one variant a warehouse holds, and how many are promised.

    `allocated` units belong to order lines and are waiting to ship; the free
    quantity is `on_hand - allocated`. Backordered units are never stock: they
    live on order lines until stock arrives and is allocated to them.
    """

    variant = models.ForeignKey("shop.Variant", on_delete=models.PROTECT, related_name="stock_items")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_items")
    on_hand = models.IntegerField(default=0)
    # Staff read "set aside for orders" wherever this number shows (lists, forms, messages).
    allocated = models.IntegerField(default=0, verbose_name="set aside for orders")
    updated_at = models.DateTimeField(auto_now=True)

    objects = StockItemQuerySet.as_manager()

    class Meta:
        # One name for staff: the admin index, the list, breadcrumbs and the console say "Stock levels".
        verbose_name = "stock level"
        verbose_name_plural = "stock levels"
        ordering = ["variant_id", "warehouse__priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "warehouse"], name="stockitem_one_per_variant_warehouse"
            ),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stockitem_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(allocated__gte=0), name="stockitem_allocated_not_negative"),
            models.CheckConstraint(
                condition=Q(allocated__lte=F("on_hand")), name="stockitem_allocated_within_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant.sku} @ {self.warehouse.code}"

    @property
    def free(self) -> int:
        return self.on_hand - self.allocated


class Allocation(models.Model):
    """Units of one stock item held for one order line until they ship."""

    # No index of its own: the unique (order_line, stock_item) constraint's index serves lookups by line.
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="allocations")
    quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order_line_id", "stock_item_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order_line", "stock_item"], name="allocation_one_per_line_stock_item"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of {self.stock_item_id} for line {self.order_line_id}"


class AllocationRequest(models.Model):
    """A variant whose waiting backorders should be served from free stock.

    Written (idempotently) in the same transaction as whatever made stock grow;
    removed by the allocation pass that serves it. Ten receipts in a second
    leave one row, so they cause one effective pass; a row left behind by a
    lost message is found by the periodic sweep.
    """

    variant = models.OneToOneField("shop.Variant", on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"allocate {self.variant_id}"


class MovementReason(models.TextChoices):
    RECEIVED = "received", "Received from supplier"
    ADJUSTED = "adjusted", "Adjusted by staff"
    ALLOCATED = "allocated", "Allocated to an order"
    DEALLOCATED = "deallocated", "Allocation released"
    SHIPPED = "shipped", "Shipped to customer"
    RETURNED = "returned", "Returned by customer"
    COUNTED = "counted", "Stock count"


class StockMovementQuerySet(models.QuerySet):
    """The ledger is append-only: bulk updates and deletes are refused."""

    def update(self, **kwargs):
        raise TypeError("stock movements are append-only; write a correcting movement instead")

    def delete(self):
        raise TypeError("stock movements are append-only; write a correcting movement instead")


class StockMovement(models.Model):
    """One change to one stock item. The sums of the deltas equal the stock levels."""

    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="movements")
    # Indexes are few on purpose: every stock change writes a row here, and each index is one
    # more entry per row. `variant` is served by the (variant, created_at) index; the optional
    # references have partial indexes that leave out the rows without them.
    variant = models.ForeignKey(
        "shop.Variant", on_delete=models.PROTECT, related_name="stock_movements", db_index=False
    )
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_movements")
    on_hand_delta = models.IntegerField(default=0)
    allocated_delta = models.IntegerField(default=0)
    reason = models.CharField(max_length=20, choices=MovementReason.choices)
    po_line = models.ForeignKey(
        "inventory.PurchaseOrderLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
        db_index=False,
    )
    order_line = models.ForeignKey(
        "orders.OrderLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stock_movements",
        db_index=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = StockMovementQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["variant", "created_at"]),
            models.Index(fields=["reason", "created_at"]),
            models.Index(fields=["po_line"], condition=Q(po_line__isnull=False), name="movement_po_line"),
            models.Index(
                fields=["order_line"], condition=Q(order_line__isnull=False), name="movement_order_line"
            ),
            models.Index(fields=["user"], condition=Q(user__isnull=False), name="movement_user"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(on_hand_delta=0, allocated_delta=0), name="stockmovement_changes_something"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: on hand {self.on_hand_delta:+d}, allocated {self.allocated_delta:+d}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("stock movements are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("stock movements are append-only")


class BackorderMode(models.TextChoices):
    DENY = "deny", "Sell stock only"
    ALLOW = "allow", "Sell beyond stock (backorder)"


class PaymentPlan(models.TextChoices):
    """When a card pays for units that wait for stock (orders/services/cards.py, docs/payments.md).
    A policy's plan applies to orders whose waiting units it governs; the strictest wins (NOW, then
    DEPOSIT, then SHIP)."""

    SHIP = "ship", "Pay when it ships"
    DEPOSIT = "deposit", "Deposit now, the rest when stock arrives"
    NOW = "now", "Pay everything now"


class BackorderPolicy(models.Model):
    """How one variant may be sold beyond its stock. Variants without a row use the shop defaults
    (settings INVENTORY_DEFAULT_BACKORDER_MODE, INVENTORY_DEFAULT_LEAD_TIME_DAYS,
    INVENTORY_LOW_STOCK_THRESHOLD)."""

    variant = models.OneToOneField("shop.Variant", on_delete=models.CASCADE, related_name="backorder_policy")
    mode = models.CharField(max_length=10, choices=BackorderMode.choices, default=BackorderMode.DENY)
    backorder_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most units that may wait on backorder at once. Empty: no limit."
    )
    lead_time_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days until restock when no purchase order covers a backorder."
    )
    discontinued = models.BooleanField(
        default=False,
        help_text="No restock expected: remaining stock sells, then the item is no longer available.",
    )
    backorder_discount_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Discount for customers who agree to wait for backordered units.",
    )
    low_stock_threshold = models.PositiveIntegerField(
        null=True, blank=True, help_text="'Only N left' is shown at or below this many units."
    )
    payment_plan = models.CharField(
        max_length=10,
        choices=PaymentPlan.choices,
        blank=True,
        help_text="When a card pays for these units while they wait. Empty: the shop's default "
        "(PAYMENT_PLAN_DEFAULT).",
    )
    deposit_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="With a deposit: the share of the waiting units' price paid at checkout. Empty: the "
        "shop's default (PAYMENT_DEPOSIT_PERCENT).",
    )

    class Meta:
        verbose_name = "backorder policy"
        verbose_name_plural = "backorder policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(backorder_discount_percent__isnull=True)
                | Q(
                    backorder_discount_percent__gte=Decimal("0"),
                    backorder_discount_percent__lte=Decimal("100"),
                ),
                name="backorderpolicy_discount_is_percentage",
            ),
            models.CheckConstraint(
                condition=Q(deposit_percent__isnull=True)
                | Q(deposit_percent__gte=1, deposit_percent__lte=99),
                name="backorderpolicy_deposit_is_percentage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} for {self.variant_id}"


class Supplier(models.Model):
    name = models.CharField(max_length=200, unique=True)
    contact_email = models.EmailField(blank=True)
    lead_time_days = models.PositiveIntegerField(default=14, help_text="Usual days from order to delivery.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ORDERED = "ordered", "Ordered"
    PARTIALLY_RECEIVED = "partially_received", "Partially received"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


OPEN_PO_STATUSES = (PurchaseOrderStatus.ORDERED, PurchaseOrderStatus.PARTIALLY_RECEIVED)


class PurchaseOrder(models.Model):
    """Stock ordered from a supplier for one warehouse. Its lines are what we expect to receive."""

    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="purchase_orders")
    reference = models.CharField(max_length=40, unique=True)
    status = models.CharField(
        max_length=20, choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.DRAFT
    )
    expected_date = models.DateField(
        null=True, blank=True, help_text="When the supplier says it will arrive."
    )
    notes = models.TextField(blank=True)
    # The supplier's answer to the emailed order (inventory.services.supplier_answers): when they last
    # gave a date, and which. Awaiting confirmation: open, and confirmed_date is not the expected date.
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    confirmed_date = models.DateField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Who sent it to the supplier and who cancelled it, and when (set by inventory.services).
    ordered_at = models.DateTimeField(null=True, blank=True)
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The expected date when it was ordered (or the first one given after): what the supplier's
    # habits are measured against (inventory.selectors.suppliers). Set by inventory.services.
    promised_date_at_order = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "expected_date"])]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_PO_STATUSES


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("shop.Variant", on_delete=models.PROTECT, related_name="purchase_order_lines")
    quantity_ordered = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["purchase_order_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "variant"], name="poline_one_per_variant"),
            models.CheckConstraint(condition=Q(quantity_ordered__gt=0), name="poline_ordered_positive"),
            # Over-receipt is refused (see docs/inventory.md): extra units are a stock adjustment.
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity_ordered")),
                name="poline_received_within_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order.reference}: {self.quantity_ordered} × {self.variant.sku}"

    @property
    def quantity_outstanding(self) -> int:
        return self.quantity_ordered - self.quantity_received


class DateChangeSource(models.TextChoices):
    STAFF = "staff", "Staff"
    SUPPLIER = "supplier", "Supplier (from the emailed link)"


class PurchaseOrderDateChange(models.Model):
    """History of a purchase order's expected date; delay notifications read it."""

    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="date_changes")
    old_date = models.DateField(null=True, blank=True)
    new_date = models.DateField(null=True, blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=10, choices=DateChangeSource.choices, default=DateChangeSource.STAFF)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.purchase_order.reference}: {self.old_date} → {self.new_date}"


from .calendar_models import ShopClosure  # noqa: E402, F401  (the staff closures: inventory/calendar.py)
