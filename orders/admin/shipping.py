"""Shipping from the admin: the order list's "Ship ready items" action and the order page's button of
the same name, with its confirmation page. Both call `orders.services.order_ship` (which ships every
allocated unit the ship policy allows and captures exactly their price) with the page's one-time
submission key, so a page sent twice ships once (shop/submissions.py)."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from inventory.services import StockError
from orders.lifecycle import TransitionError, shippable_quantities
from orders.models import Order, OrderLine, PaymentTransaction, Shipment, ShipPolicy, TransactionKind
from orders.services import OrderActionError, order_ship
from shop.formatting import money, units
from shop.submissions import OUT_OF_DATE, AlreadySubmitted, SubmissionKeyForm, submission_key_new

# What a service may refuse with: the message says why, and nothing was written.
REFUSALS = (OrderActionError, StockError, TransitionError)

SHIP_LABEL = "Ship ready items"


def about(number: str, exc: Exception) -> str:
    """A refusal message that names the order once."""
    text = str(exc)
    return text if text.startswith(number) else f"{number}: {text}"


@dataclass(frozen=True)
class ShipPreview:
    """What "Ship ready items" would ship on one order now, and the amount of that shipment.

    Reads what `order_ship` reads: the units the ship policy lets leave (`shippable_quantities`),
    each priced by `OrderLine.price_of_units` from the units already shipped, plus the shipping
    charge on the order's first shipment. The service decides again under its locks.
    """

    order: Order
    lines: list[tuple[OrderLine, int, Decimal]]  # (line, units to ship, their price)
    shipping: Decimal  # the shipping charge, carried by the first shipment
    nothing_because: str  # why nothing can ship now ("" when something can)

    @property
    def amount(self) -> Decimal:
        return sum((price for _, _, price in self.lines), self.shipping)

    def money(self, value: Decimal) -> str:
        return money(value, self.order.currency, plain=True)

    @classmethod
    def of(cls, order: Order) -> "ShipPreview":
        lines = list(order.lines.order_by("pk"))
        to_ship = shippable_quantities(lines, ship_policy=order.ship_policy)
        shipping = order.shipping_cost if to_ship and not order.shipments.exists() else Decimal("0")
        because = ""
        if not to_ship:
            waiting = any(line.quantity_backordered for line in lines)
            because = (
                "it ships together and some items still wait for stock"
                if waiting and order.ship_policy == ShipPolicy.TOGETHER
                else "nothing is set aside for it in stock"
            )
        return cls(
            order=order,
            lines=[
                (line, to_ship[line.pk], line.price_of_units(line.quantity_shipped, to_ship[line.pk]))
                for line in lines
                if line.pk in to_ship
            ],
            shipping=shipping,
            nothing_because=because,
        )


def shipped_message(shipment: Shipment, *, number: str, currency: str, shipping_cost: Decimal) -> str:
    """'ORD-1: shipped 2 units (shipment #7); captured 64.90 EUR, including 4.90 EUR shipping.'"""
    shipped = shipment.lines.aggregate(units=Sum("quantity"))["units"]
    captured = PaymentTransaction.objects.get(shipment=shipment, kind=TransactionKind.CAPTURE).amount
    first = not Shipment.objects.filter(order_id=shipment.order_id).exclude(pk=shipment.pk).exists()
    note = (
        f", including {money(shipping_cost, currency, plain=True)} shipping"
        if first and shipping_cost
        else ""
    )
    return (
        f"{number}: shipped {units(shipped)} (shipment #{shipment.pk}); "
        f"captured {money(captured, currency, plain=True)}{note}."
    )


class OrderShippingMixin:
    """OrderAdmin's shipping: the list action, the order page's button and its confirmation page."""

    def has_ship_permission(self, request) -> bool:
        """Shipping needs "change order" or "add shipment" (the Warehouse role: it ships, never refunds)."""
        return request.user.has_perm("orders.change_order") or request.user.has_perm("orders.add_shipment")

    def _ship_one(self, request, order: Order, key: str) -> bool:
        """Ship one order under `key` (one claim per order); one message either way. True if shipped."""
        try:
            shipment = order_ship(
                order_id=order.pk, user_id=request.user.pk, submission_key=f"{key}:{order.pk}"
            )
        except AlreadySubmitted as exc:
            self.message_user(request, about(order.number, exc), messages.WARNING)
            return False
        except REFUSALS as exc:
            self.message_user(request, about(order.number, exc), messages.ERROR)
            return False
        text = shipped_message(
            shipment, number=order.number, currency=order.currency, shipping_cost=order.shipping_cost
        )
        self.message_user(request, text, messages.SUCCESS)
        return True

    @admin.action(description=SHIP_LABEL, permissions=["ship"])
    def ship_action(self, request, queryset):
        key = self._submission_key(request)
        if key is None:
            return None
        for order in queryset.order_by("pk").only("pk", "number", "currency", "shipping_cost"):
            self._ship_one(request, order, key)
        return None

    def get_urls(self):
        return [
            path(
                "<path:object_id>/ship/",
                self.admin_site.admin_view(self.ship_view),
                name="orders_order_ship",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {})}
        if self.has_ship_permission(request):
            extra_context["ship_url"] = reverse("admin:orders_order_ship", args=[quote(unquote(object_id))])
            extra_context["ship_label"] = SHIP_LABEL
        return super().change_view(request, object_id, form_url, extra_context)

    def ship_view(self, request, object_id):
        """GET: what would ship and its amount, with a fresh one-time key. POST: ship once, back to the order."""
        if not self.has_ship_permission(request):
            raise PermissionDenied
        order = self.get_object(request, unquote(object_id))
        if order is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        change_url = reverse("admin:orders_order_change", args=[quote(order.pk)])
        if request.method == "POST":
            key = self._submission_key(request)
            if key is not None:
                self._ship_one(request, order, key)
            return HttpResponseRedirect(change_url)
        preview = ShipPreview.of(order)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": order,
            "title": f"{SHIP_LABEL} of {order.number}",
            "preview": preview,
            "rows": [(line, qty, preview.money(price)) for line, qty, price in preview.lines],
            "shipping": preview.money(preview.shipping) if preview.shipping else "",
            "amount": preview.money(preview.amount),
            "submission_key": submission_key_new(),
            "change_url": change_url,
            "button": SHIP_LABEL,
        }
        return TemplateResponse(request, "admin/orders/order/ship.html", context)

    def _submission_key(self, request) -> str | None:
        """The posted one-time key; None, with an error message, if it is missing or bad."""
        form = SubmissionKeyForm(request.POST)
        if form.is_valid():
            return form.cleaned_data["submission_key"]
        self.message_user(request, OUT_OF_DATE, messages.ERROR)
        return None
