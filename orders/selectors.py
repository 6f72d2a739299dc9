"""Reads for orders, scoped by who is asking."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from .models import (
    Cart,
    CartLine,
    DelayNotice,
    DelayNoticeStatus,
    LineDelay,
    Order,
    OrderEvent,
    OrderFeedback,
    OrderLine,
)
from .services import Quote, QuoteLine, order_quote
from .tokens import read_order_token


def order_get_for_customer(*, number: str, user, token: str | None) -> Order:
    """The order if `user` owns it or `token` is its valid signed access token; else Http404.

    Staff see orders in the admin, not here. Lines, events and the payment are
    loaded with the order (a constant number of queries).
    """
    queryset = Order.objects.select_related("payment").prefetch_related(
        "lines",
        Prefetch(
            "events",
            queryset=OrderEvent.objects.filter(visible_to_customer=True).order_by("created_at", "pk"),
        ),
    )
    order = queryset.filter(number=number).first()
    if order is None:
        raise Http404("No such order.")
    owns = user is not None and user.is_authenticated and order.user_id == user.pk
    signed = bool(token) and read_order_token(token) == order.number
    if not (owns or signed):
        raise Http404("No such order.")
    return order


def order_list_for_user(*, user) -> QuerySet[Order]:
    """A signed-in customer's orders, newest first."""
    if not user.is_authenticated:
        return Order.objects.none()
    return Order.objects.filter(user=user).prefetch_related("lines").order_by("-placed_at", "-pk")


# --- carts and checkout ------------------------------------------------------------------------


@dataclass
class CartSummaryLine:
    """One cart line as the customer sees it; `quote` is None when the variant is no longer sold."""

    line: CartLine
    quote: QuoteLine | None

    @property
    def problem(self) -> str:
        if self.quote is None:
            return "This item is no longer sold. Please remove it from your cart."
        return self.quote.message


@dataclass
class CartSummary:
    lines: list[CartSummaryLine]
    quote: Quote

    @property
    def count(self) -> int:
        """Units in the cart (the navbar's number)."""
        return sum(entry.line.quantity for entry in self.lines)

    @property
    def goods_total(self) -> Decimal:
        """What the items cost, backorder discounts taken off, before delivery."""
        return self.quote.subtotal - self.quote.discount_total

    @property
    def has_problems(self) -> bool:
        return bool(self.quote.problems)

    @property
    def waiting_lines(self) -> list[QuoteLine]:
        """Quote lines with units that will be backordered (for the backorder terms)."""
        return [line for line in self.quote.lines if line.backorder]


def cart_get(*, user, cart_id: int | None) -> Cart | None:
    """The signed-in customer's cart, or the guest cart kept in the session; None when there is none."""
    if user is not None and user.is_authenticated:
        return Cart.objects.filter(user=user).first()
    if cart_id is None:
        return None
    return Cart.objects.filter(pk=cart_id, user__isnull=True).first()


def _cart_lines(*, user, cart_id: int | None) -> QuerySet[CartLine] | None:
    """The lines of the signed-in customer's cart, or of the guest cart kept in the session."""
    if user is not None and user.is_authenticated:
        return CartLine.objects.filter(cart__user=user)
    if cart_id is None:
        return None
    return CartLine.objects.filter(cart_id=cart_id, cart__user__isnull=True)


def cart_items(*, user, cart_id: int | None) -> tuple[int | None, list[tuple[int, int]]]:
    """The visitor's cart id and its (variant id, quantity) lines, in one query: what `order_place`
    needs. (None, []) when the cart is empty or there is none."""
    lines = _cart_lines(user=user, cart_id=cart_id)
    if lines is None:
        return None, []
    rows = list(lines.order_by("added_at", "pk").values_list("cart_id", "variant_id", "quantity"))
    return (rows[0][0] if rows else None), [(variant_id, quantity) for _, variant_id, quantity in rows]


def cart_summary(*, user, cart_id: int | None, shipping_method: str = "standard") -> CartSummary:
    """The visitor's cart lines, each priced and split into ships-now / backordered with its date.

    Everything comes from `order_quote` (the same answer checkout and `order_place`
    use), so the cart, the checkout page and the order never disagree. Queries: the
    lines with their variants and products, then one availability call for all
    lines (2): 3, whatever the number of lines; only the quote's availability (none)
    when there is no cart.
    """
    lines_query = _cart_lines(user=user, cart_id=cart_id)
    if lines_query is None:
        return CartSummary(lines=[], quote=order_quote(items=[], shipping_method=shipping_method))
    lines = list(lines_query.select_related("variant__product").order_by("added_at", "pk"))
    quote = order_quote(
        items=[(line.variant_id, line.quantity) for line in lines],
        shipping_method=shipping_method,
        variants={line.variant_id: line.variant for line in lines},
    )
    quoted = {q.variant.pk: q for q in quote.lines}
    return CartSummary(
        lines=[CartSummaryLine(line=line, quote=quoted.get(line.variant_id)) for line in lines],
        quote=quote,
    )


def cart_count(*, user, cart_id: int | None) -> int:
    """Units in the visitor's cart, in one query (none for a guest without a cart)."""
    if user is not None and user.is_authenticated:
        lines = CartLine.objects.filter(cart__user=user)
    elif cart_id is not None:
        lines = CartLine.objects.filter(cart_id=cart_id, cart__user__isnull=True)
    else:
        return 0
    return lines.aggregate(units=Sum("quantity"))["units"] or 0


# --- delays ------------------------------------------------------------------------------------


def escalated_cutoff(*, today: date) -> date:
    """Lines first promised before this day and still waiting are escalated to staff."""
    return today - timedelta(days=getattr(settings, "DELAY_ESCALATE_AFTER_DAYS", 14))


def escalated_lines(*, today: date | None = None) -> QuerySet[OrderLine]:
    """Waiting lines more than DELAY_ESCALATE_AFTER_DAYS past their first promised date, oldest promise first."""
    cutoff = escalated_cutoff(today=today or timezone.localdate())
    return (
        OrderLine.objects.filter(quantity_backordered__gt=0, first_promised_date__lt=cutoff)
        .select_related("order")
        .order_by("first_promised_date", "order__placed_at", "pk")
    )


def delay_notice_for_link(*, notice_id: int) -> DelayNotice | None:
    """A delay notice that was emailed, with its order and delayed lines (for the link pages); else None."""
    return (
        DelayNotice.objects.filter(pk=notice_id, status=DelayNoticeStatus.SENT)
        .select_related("order")
        .prefetch_related(
            Prefetch(
                "line_delays",
                queryset=LineDelay.objects.filter(status=DelayNoticeStatus.SENT).select_related("line"),
                to_attr="delays",
            )
        )
        .first()
    )


@dataclass(frozen=True)
class CancelPreviewLine:
    line: OrderLine
    units: int
    amount: Decimal


def delay_cancel_preview(*, notice: DelayNotice) -> list[CancelPreviewLine]:
    """What "Cancel these items" would cancel now: the waiting units of the notice's lines and their price.

    The same arithmetic as `order_cancel_backordered` (cancelled units are the
    last units of the line), so the page shows the exact amount released.
    """
    preview = []
    for delay in notice.delays:
        line = delay.line
        units = line.quantity_backordered
        if units:
            end = line.quantity - line.quantity_cancelled
            preview.append(
                CancelPreviewLine(line=line, units=units, amount=line.price_of_units(end - units, units))
            )
    return preview


def feedback_get(*, feedback_id: int) -> OrderFeedback | None:
    return OrderFeedback.objects.select_related("order").filter(pk=feedback_id).first()
