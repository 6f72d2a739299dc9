"""Orders and their lines.

A line's quantities always add up: ordered = allocated + backordered + shipped
+ cancelled (a database constraint). Allocated units are held in stock for the
line; backordered units wait for stock to arrive. The line's status is derived
from the quantities by `orders.lifecycle` — it is never set by hand.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class ShipPolicy(models.TextChoices):
    SPLIT = "split", "Ship what is available now, the rest as it arrives"
    TOGETHER = "together", "Ship everything together"


class OrderStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for stock"
    PARTIALLY_READY = "partially_ready", "Partly ready to ship"
    READY = "ready", "Ready to ship"
    PARTIALLY_SHIPPED = "partially_shipped", "Partly shipped"
    SHIPPED = "shipped", "Shipped"
    CANCELLED = "cancelled", "Cancelled"


class LineStatus(models.TextChoices):
    BACKORDERED = "backordered", "Waiting for stock"
    PARTIALLY_ALLOCATED = "partially_allocated", "Partly in stock"
    ALLOCATED = "allocated", "Ready to ship"
    PARTIALLY_SHIPPED = "partially_shipped", "Partly shipped"
    SHIPPED = "shipped", "Shipped"
    CANCELLED = "cancelled", "Cancelled"


class Order(models.Model):
    number = models.CharField(max_length=20, unique=True)
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

    class Meta:
        ordering = ["-placed_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("shop.Variant", on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField(max_length=64)
    product_name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    backorder_discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    quantity = models.PositiveIntegerField()
    quantity_allocated = models.PositiveIntegerField(default=0)
    quantity_backordered = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    expected_date = models.DateField(
        null=True, blank=True, help_text="Projected date the backordered units will be ready to ship."
    )
    status = models.CharField(max_length=20, choices=LineStatus.choices, default=LineStatus.BACKORDERED)

    class Meta:
        ordering = ["order_id", "pk"]
        indexes = [
            # The backorder queue of a variant: waiting lines only.
            models.Index(
                fields=["variant", "id"],
                condition=Q(quantity_backordered__gt=0),
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
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"
