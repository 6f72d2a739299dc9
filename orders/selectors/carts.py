"""The visitor's cart: its lines priced and split by `order_quote`, what checkout needs, the navbar's count."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet, Sum

from shop.models import Variant

from ..models import Cart, CartLine
from .quote import Quote, QuoteLine, TaxDestination, order_quote


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


@dataclass(frozen=True)
class CartItems:
    """What `order_place` needs of the visitor's cart: its id, its (variant id, quantity) lines and
    their variants with their products (by id), so that the quote does not read them again."""

    cart_id: int | None
    items: list[tuple[int, int]]
    variants: dict[int, Variant]


def cart_items(*, user, cart_id: int | None) -> CartItems:
    """The visitor's cart id, its lines and their variants with their products, in one query; no id
    and no lines when the cart is empty or there is none (no query without a cart)."""
    lines = _cart_lines(user=user, cart_id=cart_id)
    if lines is None:
        return CartItems(cart_id=None, items=[], variants={})
    rows = list(lines.select_related("variant__product").order_by("added_at", "pk"))
    return CartItems(
        cart_id=rows[0].cart_id if rows else None,
        items=[(line.variant_id, line.quantity) for line in rows],
        variants={line.variant_id: line.variant for line in rows},
    )


def cart_summary(
    *, user, cart_id: int | None, shipping_method: str = "standard", destination: TaxDestination | None = None
) -> CartSummary:
    """The visitor's cart lines, each priced and split into ships-now / backordered with its date.

    Everything comes from `order_quote` (the same answer checkout and `order_place`
    use), so the cart, the checkout page and the order never disagree. Queries: the
    lines with their variants and products, then one availability call for all
    lines (2): 3, whatever the number of lines; only the quote's availability (none)
    when there is no cart. `destination` (the checkout page): priced with its VAT, one query more.
    """
    lines_query = _cart_lines(user=user, cart_id=cart_id)
    if lines_query is None:
        return CartSummary(lines=[], quote=order_quote(items=[], shipping_method=shipping_method))
    lines = list(lines_query.select_related("variant__product").order_by("added_at", "pk"))
    quote = order_quote(
        items=[(line.variant_id, line.quantity) for line in lines],
        shipping_method=shipping_method,
        variants={line.variant_id: line.variant for line in lines},
        destination=destination,
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
