"""The cart: add, change, remove, merge a guest's cart into the customer's."""

import logging

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from inventory.selectors import AvailabilityStatus, availability_for_variants
from shop.models import Variant

from ..locks import cart_lock, carts_lock
from ..models import (
    Cart,
    CartLine,
)
from ..selectors.quote import MAX_LINE_QUANTITY

logger = logging.getLogger(__name__)


# --- carts -------------------------------------------------------------------------------------
#
# A cart holds only variant ids and quantities; prices, stock and dates are read again whenever
# the cart is shown (`orders.selectors.cart_summary`) and when the order is placed. A cart change
# is checked against the same availability answer the product page shows, so the cart never
# holds more of a variant than may be ordered at that moment.


class CartError(Exception):
    """A cart change that is not possible; the message is for the customer. The cart is unchanged."""


def _orderable_cap(availability) -> int:
    """The most units of a variant one order line may take now (0: none at all)."""
    if availability is None:
        return 0
    if availability.max_orderable is None:
        return MAX_LINE_QUANTITY
    return min(availability.max_orderable, MAX_LINE_QUANTITY)


def _cart_check_quantity(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise CartError(_("Choose a quantity between 1 and %(max)s.") % {"max": MAX_LINE_QUANTITY})


def _cart_check_orderable(*, variant: Variant, quantity: int, in_cart: int = 0) -> None:
    """Raise CartError, saying how many can be ordered, when `quantity` units may not be ordered now."""
    availability = availability_for_variants(variant_ids=[variant.pk]).get(variant.pk)
    cap = _orderable_cap(availability)
    if quantity <= cap:
        return
    if cap == 0:
        # "it is out of stock": the availability's label as it reads inside a sentence
        label = (
            AvailabilityStatus.IN_A_SENTENCE[availability.status]
            if availability
            else pgettext("it is …", "not available")
        )
        raise CartError(
            _("%(item)s cannot be ordered right now: it is %(availability)s.")
            % {"item": variant, "availability": label}
        )
    message = _("Only %(count)s of %(item)s can be ordered.") % {"count": cap, "item": variant}
    if in_cart:
        message += " " + _("Your cart already has %(count)s.") % {"count": in_cart}
    raise CartError(message)


def _cart_sellable_variant(variant_id: int) -> Variant:
    variant = (
        Variant.objects.select_related("product")
        .filter(pk=variant_id, is_active=True, product__is_active=True)
        .first()
    )
    if variant is None:
        raise CartError(_("Sorry, that item is no longer sold."))
    return variant


def _cart_lock(cart_id: int) -> Cart:
    """Lock the cart row: changes to one cart (a double click, two tabs) happen one after the other."""
    cart = cart_lock(cart_id)
    if cart is None:
        raise CartError(_("Your cart has expired. Please add the items again."))
    return cart


def cart_get_or_create(*, user_id: int | None, cart_id: int | None = None) -> Cart:
    """The customer's cart (by user) or the guest cart `cart_id`; a new cart when there is none.

    A guest cart id (from the session) only ever finds a cart without a user.
    """
    if user_id is not None:
        cart, _created = Cart.objects.get_or_create(user_id=user_id)
        return cart
    if cart_id is not None:
        cart = Cart.objects.filter(pk=cart_id, user__isnull=True).first()
        if cart is not None:
            return cart
    return Cart.objects.create()


def cart_add(
    *, cart_id: int | None, variant_id: int, quantity: int, variant: Variant | None = None
) -> CartLine:
    """Add `quantity` units of a variant (to its line if the cart has one).

    `cart_id` None: a guest's first item; the cart is created with its line (the
    line's `cart_id` says which), and only when the item may be added.
    Refused with a CartError, leaving the cart as it was, when the variant is not
    sold or the line would hold more than policy and the backorder limit allow.
    `variant`: the sellable variant with its product when the caller just read it (the add-to-cart
    form), so it is not read again.
    """
    _cart_check_quantity(quantity)
    if variant is None or variant.pk != variant_id:
        variant = _cart_sellable_variant(variant_id)
    if cart_id is None:
        # Reads only, then two inserts, no transaction around them: a line that failed would leave an
        # empty cart no session points to, which the carts' retention removes like any abandoned one.
        _cart_check_orderable(variant=variant, quantity=quantity)
        return CartLine.objects.create(cart=Cart.objects.create(), variant=variant, quantity=quantity)
    return _cart_add_to(cart_id=cart_id, variant=variant, quantity=quantity)


@transaction.atomic
def _cart_add_to(*, cart_id: int, variant: Variant, quantity: int) -> CartLine:
    """`cart_add` to an existing cart, under its lock."""
    cart = _cart_lock(cart_id)
    line = CartLine.objects.filter(cart=cart, variant=variant).first()
    in_cart = line.quantity if line else 0
    if in_cart + quantity > MAX_LINE_QUANTITY:
        raise CartError(
            _("You can order at most %(max)s of %(item)s at once. Your cart already has %(count)s.")
            % {"max": MAX_LINE_QUANTITY, "item": variant, "count": in_cart}
        )
    _cart_check_orderable(variant=variant, quantity=in_cart + quantity, in_cart=in_cart)
    if line is None:
        line = CartLine.objects.create(cart=cart, variant=variant, quantity=quantity)
    else:
        line.quantity = in_cart + quantity
        line.save(update_fields=["quantity"])
    cart.save(update_fields=["updated_at"])
    return line


@transaction.atomic
def cart_set_quantity(*, cart_id: int, line_id: int, quantity: int) -> CartLine:
    """Change a line's quantity; refused (the old quantity kept) when that many may not be ordered."""
    _cart_check_quantity(quantity)
    cart = _cart_lock(cart_id)
    line = CartLine.objects.filter(cart=cart, pk=line_id).first()
    if line is None:
        raise CartError(_("That item is not in your cart any more."))
    if line.quantity == quantity:
        return line
    variant = _cart_sellable_variant(line.variant_id)
    _cart_check_orderable(variant=variant, quantity=quantity)
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    cart.save(update_fields=["updated_at"])
    line.variant = variant
    return line


@transaction.atomic
def cart_remove(*, cart_id: int, line_id: int) -> CartLine | None:
    """Remove a line; returns the removed line (with its variant), or None when it was already gone."""
    cart = _cart_lock(cart_id)
    line = CartLine.objects.select_related("variant__product").filter(cart=cart, pk=line_id).first()
    if line is None:
        return None
    line.delete()
    cart.save(update_fields=["updated_at"])
    return line


@transaction.atomic
def cart_merge(*, source_cart_id: int, user_id: int) -> list[str]:
    """Move a guest cart into the customer's cart at login or sign-up; the guest cart is deleted.

    Quantities of the same variant are added, capped at what may be ordered now
    (policy, backorder limit, MAX_LINE_QUANTITY). Units the customer already had in
    the account's cart are never taken away. Returns one message for each line that
    could not be added in full. One availability call for all the lines.
    """
    target = cart_get_or_create(user_id=user_id)
    if source_cart_id == target.pk:
        return []
    locked = {cart.pk: cart for cart in carts_lock([source_cart_id, target.pk])}
    source = locked.get(source_cart_id)
    if source is None or source.user_id is not None:
        return []
    guest_lines = list(source.lines.select_related("variant__product"))
    existing = {line.variant_id: line for line in CartLine.objects.filter(cart=target)}
    availability = availability_for_variants(variant_ids=[line.variant_id for line in guest_lines])
    notes: list[str] = []
    to_create, to_update = [], []
    for guest_line in guest_lines:
        variant = guest_line.variant
        own = existing.get(variant.pk)
        had = own.quantity if own else 0
        sellable = variant.is_active and variant.product.is_active
        cap = _orderable_cap(availability.get(variant.pk)) if sellable else 0
        wanted = had + guest_line.quantity
        quantity = max(had, min(wanted, cap))
        if quantity < wanted:
            if not sellable:
                notes.append(
                    _("%(item)s is no longer sold, so it was not added to your cart.") % {"item": variant}
                )
            elif cap == 0:
                notes.append(
                    _("%(item)s cannot be ordered right now, so it was not added to your cart.")
                    % {"item": variant}
                )
            else:
                notes.append(
                    _("Only %(count)s of %(item)s can be ordered: your cart now has %(quantity)s.")
                    % {"count": cap, "item": variant, "quantity": quantity}
                )
        if own is None and quantity:
            to_create.append(CartLine(cart=target, variant=variant, quantity=quantity))
        elif own is not None and quantity != had:
            own.quantity = quantity
            to_update.append(own)
    CartLine.objects.bulk_create(to_create)
    CartLine.objects.bulk_update(to_update, ["quantity"], batch_size=500)
    source.delete()
    target.save(update_fields=["updated_at"])
    return notes
