"""Writes for orders: placing, shipping, cancelling, priority.

Every stock change goes through inventory.services; every payment call is
recorded as a PaymentTransaction; every transition is an OrderEvent; every
email is an outbox row created in the same transaction.
"""

import logging
import secrets
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory.selectors import Availability, availability_for_variants, date_in_words
from inventory.services import (
    BackorderRefused,
    Demand,
    PlannedLine,
    StockError,
    allocation_record,
    allocation_reserve,
    allocation_ship,
)
from notifications.models import NotificationKind
from notifications.services import back_in_stock_close_for_buyer, notification_create
from shop.cache import availability_changed
from shop.models import Variant
from shop.submissions import submission_claim

from .lifecycle import Move, line_apply, order_status, shippable_quantities
from .models import (
    AllocationFollowUp,
    Cart,
    CartLine,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderLine,
    Payment,
    PaymentStatus,
    PaymentTransaction,
    Shipment,
    ShipmentLine,
    ShipPolicy,
    TransactionKind,
)
from .payments import gateway_get

logger = logging.getLogger(__name__)

MAX_LINE_QUANTITY = 999
CENT = Decimal("0.01")


class CheckoutError(Exception):
    """The order cannot be placed as asked; the message is for the customer."""

    def __init__(self, message: str, *, variant_id: int | None = None):
        super().__init__(message)
        self.variant_id = variant_id


class BackorderTermsRequired(CheckoutError):
    """Some units would wait for stock, and the customer has not accepted the backorder terms."""


class OrderActionError(Exception):
    """A staff or customer action on an order that is not possible; the message says why."""


@dataclass(frozen=True)
class ShippingOption:
    code: str
    label: str
    cost: Decimal


def shipping_options() -> dict[str, ShippingOption]:
    """Flat-rate shipping choices (settings.SHOP_SHIPPING_OPTIONS)."""
    raw = getattr(
        settings,
        "SHOP_SHIPPING_OPTIONS",
        {
            "standard": ("Standard delivery (3-5 working days)", "4.90"),
            "express": ("Express (next day)", "12.90"),
        },
    )
    return {code: ShippingOption(code, label, Decimal(cost)) for code, (label, cost) in raw.items()}


def backorder_price(unit_price: Decimal, discount_percent: Decimal | None) -> Decimal:
    if not discount_percent:
        return unit_price
    return (unit_price * (Decimal(100) - discount_percent) / Decimal(100)).quantize(
        CENT, rounding=ROUND_HALF_UP
    )


# --- quotes: what the customer sees before paying ---------------------------------------


@dataclass
class QuoteLine:
    variant: Variant
    quantity: int
    ship_now: int
    backorder: int
    expected_date: date | None
    unit_price: Decimal
    backorder_unit_price: Decimal
    discount_percent: Decimal
    total: Decimal
    message: str = ""
    availability: Availability | None = field(default=None, repr=False)  # what the split was made from


@dataclass
class Quote:
    lines: list[QuoteLine]
    subtotal: Decimal
    discount_total: Decimal
    shipping_cost: Decimal
    total: Decimal
    problems: list[str] = field(default_factory=list)

    @property
    def has_backorders(self) -> bool:
        return any(line.backorder for line in self.lines)


def order_quote(
    *,
    items: list[tuple[int, int]],
    shipping_method: str = "standard",
    variants: dict[int, Variant] | None = None,
) -> Quote:
    """Price a list of (variant id, quantity) from the database, never from the client.

    Constant number of queries: the variants with their products (unless the
    caller just read them: `variants`, by id) and one availability call. Lines
    that cannot be ordered as asked are kept with a message in `problems`;
    `order_place` refuses a quote with problems.
    """
    if variants is None:
        variants = Variant.objects.select_related("product").in_bulk([vid for vid, _ in items])
    availability = availability_for_variants(variant_ids=[vid for vid, _ in items])
    lines, problems = [], []
    for variant_id, quantity in items:
        variant = variants.get(variant_id)
        if variant is None or not variant.is_active or not variant.product.is_active:
            problems.append("An item in your cart is no longer sold.")
            continue
        a = availability[variant_id]
        message = ""
        if not 1 <= quantity <= MAX_LINE_QUANTITY:
            message = f"Choose a quantity between 1 and {MAX_LINE_QUANTITY}."
            now, later = 0, 0
        else:
            try:
                now, later = a.split(quantity)
            except ValueError:
                now, later = 0, 0
                message = (
                    f"Only {a.max_orderable} of {variant} can be ordered."
                    if a.max_orderable
                    else f"{variant} is {a.label.lower()}."
                )
        if message:
            problems.append(message)
        discount = a.discount_percent or Decimal("0") if later else Decimal("0")
        bo_price = backorder_price(variant.price, discount)
        lines.append(
            QuoteLine(
                variant=variant,
                quantity=quantity,
                ship_now=now,
                backorder=later,
                expected_date=a.backorder_date(later),
                unit_price=variant.price,
                backorder_unit_price=bo_price,
                discount_percent=discount,
                total=variant.price * now + bo_price * later,
                message=message,
                availability=a,
            )
        )
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    total_goods = sum((line.total for line in lines), Decimal("0"))
    option = shipping_options().get(shipping_method)
    shipping = option.cost if option else Decimal("0")
    return Quote(
        lines=lines,
        subtotal=subtotal,
        discount_total=subtotal - total_goods,
        shipping_cost=shipping,
        total=total_goods + shipping,
        problems=problems,
    )


# --- placing an order --------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceResult:
    order: Order
    created: bool  # False: the idempotency key matched an order placed before


def _same_checkout(order: Order, *, email: str, user_id: int | None) -> PlaceResult:
    """A repeated submit returns its first order, but only to the same customer.

    The key identifies one checkout; someone else presenting it (a leaked or
    guessed key) gets an error, never another customer's order.
    """
    if order.email.lower() != email.lower() or order.user_id != user_id:
        raise CheckoutError("This checkout has already been used. Please start again from your cart.")
    return PlaceResult(order, created=False)


def _new_order_number() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "BO-" + "".join(secrets.choice(alphabet) for _ in range(8))


def _record_transaction(payment: Payment, kind: str, amount: Decimal, result, *, shipment=None, user_id=None):
    PaymentTransaction.objects.create(
        payment=payment,
        kind=kind,
        amount=amount,
        success=result.success,
        gateway_reference=result.reference,
        message=result.message[:255],
        shipment=shipment,
        user_id=user_id,
    )


def order_place(
    *,
    items: list[tuple[int, int]],
    email: str,
    address: dict,
    shipping_method: str,
    ship_policy: str,
    payment_method: str,
    card_number: str = "",
    accept_backorder_terms: bool = False,
    idempotency_key: str,
    user_id: int | None = None,
    cart_id: int | None = None,
) -> PlaceResult:
    """Place an order: re-read prices and stock, authorize payment, allocate, backorder the rest.

    Nothing from the client is trusted but the variant ids and quantities. A
    declined payment leaves no order and no stock change. A repeated submit with
    the same idempotency key returns the first order. Stock is allocated under
    locks (inventory.services.allocation_reserve), so concurrent checkouts never
    oversell or overfill the backorder limit. `cart_id`: the cart the items come
    from; its lines are removed in the transaction that creates the order.

    Availability is read once, for the quote (before the payment is authorized);
    under the variant locks only the numbers a concurrent checkout can change are
    read again, and only the writes that depend on them happen there
    (`_order_create`), so a hot variant's lock is held as briefly as possible.
    """
    existing = Order.objects.filter(idempotency_key=idempotency_key).first()
    if existing:
        return _same_checkout(existing, email=email, user_id=user_id)
    if not items:
        raise CheckoutError("Your cart is empty.")
    if ship_policy not in ShipPolicy.values:
        raise CheckoutError("Choose how the order should be shipped.")
    if shipping_method not in shipping_options():
        raise CheckoutError("Choose a delivery option.")
    merged: dict[int, int] = {}
    for variant_id, quantity in items:
        merged[variant_id] = merged.get(variant_id, 0) + quantity
    items = sorted(merged.items())

    quote = order_quote(items=items, shipping_method=shipping_method)
    if quote.problems:
        raise CheckoutError(" ".join(quote.problems))
    if quote.has_backorders and not accept_backorder_terms:
        raise BackorderTermsRequired(
            "Some items will be backordered: please read and accept the backorder terms."
        )

    try:
        gateway = gateway_get(payment_method)
    except ValueError:
        raise CheckoutError("Choose a payment method.") from None
    auth = gateway.authorize(amount=quote.total, currency=settings.SHOP_CURRENCY, card_number=card_number)
    if not auth.success:
        raise CheckoutError(auth.message or "The payment was declined.")

    try:
        order = None
        for _ in range(5):
            number = _new_order_number()
            try:
                order = _order_create(
                    number=number,
                    items=items,
                    quote=quote,
                    email=email,
                    address=address,
                    shipping_method=shipping_method,
                    ship_policy=ship_policy,
                    accept_backorder_terms=accept_backorder_terms,
                    idempotency_key=idempotency_key,
                    user_id=user_id,
                    gateway_code=gateway.code,
                    auth=auth,
                    cart_id=cart_id,
                )
                break
            except IntegrityError:
                # Another order has this number (one chance in a trillion): try the next. Anything
                # else, such as this checkout's key taken by a submit that won, is handled below.
                if Order.objects.filter(number=number).exclude(idempotency_key=idempotency_key).exists():
                    continue
                raise
        if order is None:
            raise RuntimeError("could not find a free order number")
    except IntegrityError:
        # The same checkout was submitted twice at once: the other submit won.
        gateway.void(reference=auth.reference, amount=quote.total)
        existing = Order.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return _same_checkout(existing, email=email, user_id=user_id)
        raise
    except BackorderRefused as exc:
        gateway.void(reference=auth.reference, amount=quote.total)
        raise CheckoutError(
            f"Sorry, availability changed while you were checking out. {exc}", variant_id=exc.variant_id
        ) from exc
    except StockError as exc:
        gateway.void(reference=auth.reference, amount=quote.total)
        raise CheckoutError(str(exc)) from exc
    except Exception:
        gateway.void(reference=auth.reference, amount=quote.total)
        raise

    payment = order.payment
    excess = payment.amount_authorized - order.total
    if excess > 0:
        _payment_void(payment_id=payment.pk, amount=excess, note="backorder discount applied at placement")
    return PlaceResult(order, created=True)


def _order_lines(order: Order, quote: Quote, plans: list[PlannedLine]) -> list[OrderLine]:
    """The order's lines (not saved) for these plans, priced from the quote."""
    quoted = {line.variant.pk: line for line in quote.lines}
    lines = []
    for plan in plans:
        q = quoted[plan.variant_id]
        # Units that wait carry the backorder price; if fewer wait than quoted, the customer keeps the
        # quoted discount (never charged more than authorized).
        discounted = max(plan.backorder, q.backorder) if q.discount_percent else 0
        line = OrderLine(
            order=order,
            variant_id=plan.variant_id,
            sku=q.variant.sku,
            product_name=q.variant.product.name,
            options_label=q.variant.options_label,
            unit_price=q.unit_price,
            backorder_discount_percent=q.discount_percent,
            backorder_unit_price=q.backorder_unit_price,
            quantity_at_backorder_price=discounted,
            quantity=plan.quantity,
            quantity_allocated=plan.allocate,
            quantity_backordered=plan.backorder,
            expected_date=plan.expected_date,
            first_promised_date=plan.expected_date,
            promised_date=plan.expected_date,
            promised_on=timezone.localdate() if plan.backorder else None,
            quantity_backordered_at_placement=plan.backorder,
        )
        line_apply(line, Move())  # derive the status from the quantities
        lines.append(line)
    return lines


def _order_set_totals(order: Order, lines: list[OrderLine]) -> tuple:
    """Set the order's money and status from its lines; returns them, to compare."""
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    goods = sum((line.total for line in lines), Decimal("0"))
    order.subtotal = subtotal
    order.discount_total = subtotal - goods
    order.total = goods + order.shipping_cost
    order.status = order_status(lines, ship_policy=order.ship_policy)
    return order.subtotal, order.discount_total, order.total, order.status


@transaction.atomic(durable=True)
def _order_create(
    *,
    number,
    items,
    quote,
    email,
    address,
    shipping_method,
    ship_policy,
    accept_backorder_terms,
    idempotency_key,
    user_id,
    gateway_code,
    auth,
    cart_id,
) -> Order:
    """One transaction, in two parts. First everything that does not depend on the stock numbers,
    with no lock taken: the order (its totals as quoted), the payment, the emptied cart, the
    subscriptions closed, the confirmation email. Then the variants are locked
    (`allocation_reserve`) and only what depends on the locked numbers is written: the lines, the
    allocations and ledger rows, the timeline, and the order's totals again if the split differs
    from the quote. The lock is released by the commit right after.

    The order is the first row written, so a double submit fails here (unique idempotency key)
    before it waits for any lock.
    """
    option = shipping_options()[shipping_method]
    order = Order(
        number=number,
        email=email,
        user_id=user_id,
        ship_policy=ship_policy,
        placed_at=timezone.now(),
        idempotency_key=idempotency_key,
        full_name=address.get("full_name", ""),
        address_line1=address.get("address_line1", ""),
        address_line2=address.get("address_line2", ""),
        city=address.get("city", ""),
        postcode=address.get("postcode", ""),
        country=address.get("country", ""),
        shipping_method=option.label,
        currency=settings.SHOP_CURRENCY,
        shipping_cost=option.cost,
    )
    quoted = {line.variant.pk: line for line in quote.lines}
    as_quoted = [
        PlannedLine(
            variant_id=v,
            quantity=q,
            allocate=quoted[v].ship_now,
            backorder=quoted[v].backorder,
            expected_date=quoted[v].expected_date,
            picks=(),
        )
        for v, q in items
    ]
    totals = _order_set_totals(order, _order_lines(order, quote, as_quoted))
    order.save(force_insert=True)
    payment = Payment.objects.create(
        order=order,
        gateway=gateway_code,
        reference=auth.reference,
        currency=order.currency,
        amount_authorized=quote.total,
    )
    _record_transaction(payment, TransactionKind.AUTHORIZE, quote.total, auth, user_id=user_id)
    if cart_id is not None:
        CartLine.objects.filter(cart_id=cart_id).delete()
    # Whoever bought a variant is not told again that it is back in stock.
    back_in_stock_close_for_buyer(variant_ids=[v for v, _ in items], email=email)
    notification_create(
        kind=NotificationKind.ORDER_CONFIRMED,
        recipient=email,
        dedupe_key=f"order-confirmed:{order.pk}",
        context={"order_id": order.pk},
    )

    # --- the variants are locked from here to the commit
    reservation = allocation_reserve(
        demands=[Demand(variant_id=v, quantity=q) for v, q in items],
        allow_backorder=accept_backorder_terms,
        seen={v: quoted[v].availability for v, _ in items},
    )
    lines = _order_lines(order, quote, [plan for _, plan in sorted(reservation.lines.items())])
    if _order_set_totals(order, lines) != totals:
        order.save(update_fields=["subtotal", "discount_total", "total", "status"])
    OrderLine.objects.bulk_create(lines)
    allocation_record(reservation=reservation, line_ids={line.variant_id: line.pk for line in lines})

    waiting = [line for line in lines if line.quantity_backordered]
    message = "Order placed."
    if waiting:
        message += " Waiting for stock: " + "; ".join(
            f"{line.quantity_backordered} × {line.product_name} (expected {date_in_words(line.expected_date)})"
            for line in waiting
        )
    events = [OrderEvent(order=order, kind=OrderEventKind.PLACED, message=message[:500], user_id=user_id)]
    allocated_now = [line for line in lines if line.quantity_allocated]
    if allocated_now:
        events.append(
            OrderEvent(
                order=order,
                kind=OrderEventKind.ALLOCATED,
                message=(
                    "In stock and reserved: "
                    + ", ".join(f"{line.quantity_allocated} × {line.product_name}" for line in allocated_now)
                )[:500],
            )
        )
    OrderEvent.objects.bulk_create(events)
    return order


# --- payments --------------------------------------------------------------------------------


@transaction.atomic
def _payment_void(*, payment_id: int, amount: Decimal, note: str = "", user_id: int | None = None) -> Decimal:
    """Release `amount` of the authorization; refund whatever part of it was already captured."""
    payment = Payment.objects.select_for_update(no_key=True).get(pk=payment_id)
    gateway = gateway_get(payment.gateway)
    to_void = min(amount, payment.amount_open)
    to_refund = min(amount - to_void, payment.amount_captured - payment.amount_refunded)
    if to_void > 0:
        result = gateway.void(reference=payment.reference, amount=to_void)
        _record_transaction(payment, TransactionKind.VOID, to_void, result, user_id=user_id)
        if result.success:
            payment.amount_voided += to_void
    if to_refund > 0:
        result = gateway.refund(reference=payment.reference, amount=to_refund)
        _record_transaction(payment, TransactionKind.REFUND, to_refund, result, user_id=user_id)
        if result.success:
            payment.amount_refunded += to_refund
    payment.status = _payment_status(payment)
    payment.save()
    return to_void + to_refund


def _payment_status(payment: Payment) -> str:
    if payment.amount_open == 0 and payment.amount_captured == 0:
        return PaymentStatus.VOIDED
    if payment.amount_open == 0:
        return PaymentStatus.CAPTURED
    if payment.amount_captured > 0:
        return PaymentStatus.PARTIALLY_CAPTURED
    return PaymentStatus.AUTHORIZED


# --- shipping ------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def order_ship(*, order_id: int, user_id: int | None = None, submission_key: str | None = None) -> Shipment:
    """Ship every allocated unit the ship policy allows; capture exactly their price.

    With `submission_key` (a staff form's one-time key) a second submission of the
    same form raises AlreadySubmitted and ships nothing.
    """
    if submission_key is not None:
        submission_claim(key=submission_key, action="order_ship", user_id=user_id)
    order = Order.objects.select_related("payment").get(pk=order_id)
    lines = list(order.lines.all())
    to_ship = shippable_quantities(lines, ship_policy=order.ship_policy)
    if not to_ship:
        if order.ship_policy == ShipPolicy.TOGETHER and any(line.quantity_backordered for line in lines):
            raise OrderActionError(f"{order.number} ships together and still waits for stock.")
        raise OrderActionError(f"{order.number} has nothing allocated to ship.")
    allocation_ship(quantities=to_ship, user_id=user_id)  # locks stock items first
    locked = {
        line.pk: line
        for line in OrderLine.objects.select_for_update(no_key=True).filter(order=order).order_by("pk")
    }
    amount = Decimal("0")
    shipped = []
    for line_id, qty in to_ship.items():
        line = locked[line_id]
        amount += line.price_of_units(line.quantity_shipped, qty)
        line_apply(line, Move(ship=qty))
        shipped.append((line, qty))
    OrderLine.objects.bulk_update(
        [line for line, _ in shipped], ["quantity_allocated", "quantity_shipped", "status"], batch_size=500
    )
    shipment = Shipment.objects.create(order=order, created_by_id=user_id, amount=amount)
    ShipmentLine.objects.bulk_create(
        [ShipmentLine(shipment=shipment, order_line=line, quantity=qty) for line, qty in shipped]
    )
    if not order.shipments.exclude(pk=shipment.pk).exists():
        # The first shipment also carries the shipping charge.
        amount += order.shipping_cost
        shipment.amount = amount
        shipment.save(update_fields=["amount"])
    payment = Payment.objects.select_for_update(no_key=True).get(pk=order.payment.pk)
    capture = min(amount, payment.amount_open)
    result = gateway_get(payment.gateway).capture(reference=payment.reference, amount=capture)
    _record_transaction(payment, TransactionKind.CAPTURE, capture, result, shipment=shipment, user_id=user_id)
    if not result.success:
        raise OrderActionError(f"The payment capture failed: {result.message}")
    payment.amount_captured += capture
    payment.status = _payment_status(payment)
    payment.save()
    order.status = order_status(list(locked.values()), ship_policy=order.ship_policy)
    order.save(update_fields=["status"])
    OrderEvent.objects.create(
        order=order,
        kind=OrderEventKind.SHIPPED,
        message=("Shipped: " + ", ".join(f"{qty} × {line.product_name}" for line, qty in shipped))[:500],
        data={"shipment_id": shipment.pk, "captured": str(capture)},
        user_id=user_id,
    )
    notification_create(
        kind=NotificationKind.ORDER_SHIPPED,
        recipient=order.email,
        dedupe_key=f"order-shipped:{shipment.pk}",
        context={"order_id": order.pk, "shipment_id": shipment.pk},
    )
    return shipment


# --- cancelling waiting units -------------------------------------------------------------


@transaction.atomic(durable=True)
def order_cancel_backordered(
    *,
    order_id: int,
    quantities: dict[int, int] | None = None,
    user_id: int | None = None,
    by_staff: bool = False,
    submission_key: str | None = None,
) -> Decimal:
    """Cancel units that still wait for stock: {line id: units}, or all of them when None.

    Allocated and shipped units are never touched. Voids (or refunds) exactly the
    price of the cancelled units and emails a confirmation. Returns the amount.
    With `submission_key` a second submission of the same staff form raises
    AlreadySubmitted and cancels nothing.
    """
    if submission_key is not None:
        submission_claim(key=submission_key, action="order_cancel_backordered", user_id=user_id)
    return _order_cancel_backordered(
        order_id=order_id, quantities=quantities, user_id=user_id, by_staff=by_staff
    )


@transaction.atomic
def _order_cancel_backordered(
    *, order_id: int, quantities: dict[int, int] | None, user_id: int | None, by_staff: bool
) -> Decimal:
    """`order_cancel_backordered` inside a caller's transaction (the delay email's cancel link
    records the use of its link in the same transaction). Locks the order's lines, then the payment."""
    order = Order.objects.select_related("payment").get(pk=order_id)
    locked = {
        line.pk: line
        for line in OrderLine.objects.select_for_update(no_key=True).filter(order=order).order_by("pk")
    }
    if quantities is None:
        quantities = {
            pk: line.quantity_backordered for pk, line in locked.items() if line.quantity_backordered
        }
    if not quantities or not any(quantities.values()):
        raise OrderActionError("Nothing is waiting to be cancelled.")
    amount = Decimal("0")
    cancelled = []
    for line_id, qty in sorted(quantities.items()):
        line = locked.get(line_id)
        if line is None:
            raise OrderActionError("That item is not part of this order.")
        if not isinstance(qty, int) or qty < 0:
            raise OrderActionError("Enter a whole number of units to cancel.")
        if qty == 0:
            continue
        if qty > line.quantity_backordered:
            waiting = line.quantity_backordered
            raise OrderActionError(
                f"Only {waiting} of {line.product_name} {'is' if waiting == 1 else 'are'} still waiting "
                "and can be cancelled."
            )
        # Cancelled units are the last units of the line (those sold at the backorder price).
        end = line.quantity - line.quantity_cancelled
        amount += line.price_of_units(end - qty, qty)
        line_apply(line, Move(cancel=qty))
        cancelled.append((line, qty))
    if not cancelled:
        raise OrderActionError("Nothing is waiting to be cancelled.")
    OrderLine.objects.bulk_update(
        [line for line, _ in cancelled],
        ["quantity_backordered", "quantity_cancelled", "status"],
        batch_size=500,
    )
    # Fewer units wait: the backorder limit has room again, so listing badges are recomputed.
    availability_changed(variant_ids=[line.variant_id for line, _ in cancelled])
    lines = list(locked.values())
    order.status = order_status(lines, ship_policy=order.ship_policy)
    if all(line.quantity_shipped == 0 for line in lines) and order.status == "cancelled":
        amount += order.shipping_cost  # nothing will ever ship: the shipping charge goes back too
    order.save(update_fields=["status"])
    released = _payment_void(payment_id=order.payment.pk, amount=amount, user_id=user_id)
    who = "by staff" if by_staff else "at the customer's request"
    OrderEvent.objects.create(
        order=order,
        kind=OrderEventKind.CANCELLED,
        message=(f"Cancelled {who}: " + ", ".join(f"{qty} × {line.product_name}" for line, qty in cancelled))[
            :500
        ],
        data={"lines": {str(line.pk): qty for line, qty in cancelled}},
        user_id=user_id,
    )
    OrderEvent.objects.create(
        order=order,
        kind=OrderEventKind.REFUNDED,
        message=f"{released} {order.currency} released back to the customer's payment method.",
        data={"amount": str(released)},
        user_id=user_id,
    )
    event_count = order.events.filter(kind=OrderEventKind.CANCELLED).count()
    notification_create(
        kind=NotificationKind.ORDER_CANCELLED,
        recipient=order.email,
        dedupe_key=f"order-cancelled:{order.pk}:{event_count}",
        context={
            "order_id": order.pk,
            "lines": {str(line.pk): qty for line, qty in cancelled},
            "amount": str(released),
        },
    )
    return released


@transaction.atomic
def order_set_priority(*, order_id: int, is_priority: bool, user_id: int | None = None) -> bool:
    """Mark or unmark an order as priority for auto-allocation. Returns True when it changed."""
    changed = (
        Order.objects.filter(pk=order_id).exclude(is_priority=is_priority).update(is_priority=is_priority)
    )
    if changed:
        OrderEvent.objects.create(
            order_id=order_id,
            kind=OrderEventKind.PRIORITY,
            message="Marked as priority" if is_priority else "Priority removed",
            user_id=user_id,
            visible_to_customer=False,
        )
        # The queue changed order: other customers' lines (or, when priority is removed, this
        # order's own) may now wait longer. Checked after commit.
        variant_ids = sorted(
            set(
                OrderLine.objects.filter(order_id=order_id, quantity_backordered__gt=0).values_list(
                    "variant_id", flat=True
                )
            )
        )
        if variant_ids:
            from .tasks import check_delays

            check_delays.delay_on_commit(variant_ids=variant_ids, cause="queue_priority")
    return bool(changed)


# --- after an auto-allocation batch ------------------------------------------------------------


# Mirrors orders.lifecycle.order_status for many orders at once (PostgreSQL); a test checks parity.
# Id lists come in as one array literal (text), which costs the client far less than a list of
# thousands of Python ints adapted one by one.
_ORDER_STATUS_SQL = """
UPDATE orders_order o SET status = CASE
    WHEN a.open_lines = 0 THEN 'cancelled'
    WHEN a.allocated = 0 AND a.backordered = 0 THEN 'shipped'
    WHEN a.shipped > 0 THEN 'partially_shipped'
    WHEN a.backordered = 0 THEN 'ready'
    WHEN a.allocated > 0 AND o.ship_policy = 'split' THEN 'partially_ready'
    ELSE 'waiting' END
FROM (
    SELECT order_id,
           COUNT(*) FILTER (WHERE status <> 'cancelled') AS open_lines,
           COALESCE(SUM(quantity_allocated) FILTER (WHERE status <> 'cancelled'), 0) AS allocated,
           COALESCE(SUM(quantity_backordered) FILTER (WHERE status <> 'cancelled'), 0) AS backordered,
           COALESCE(SUM(quantity_shipped) FILTER (WHERE status <> 'cancelled'), 0) AS shipped
    FROM orders_orderline WHERE order_id = ANY(%(orders)s::bigint[]) GROUP BY order_id
) a
-- The id list again, for the orders table: without it the planner may hash-join the whole
-- table (every order ever placed) instead of looking the batch's orders up by primary key.
WHERE o.id = a.order_id AND o.id = ANY(%(orders)s::bigint[])
RETURNING o.id, o.email
"""

_ORDERS_LOCK_SQL = (
    "SELECT 1 FROM orders_order WHERE id = ANY(%(orders)s::bigint[]) ORDER BY id FOR NO KEY UPDATE"
)

# A served batch's orders brought up to date in one statement (PostgreSQL): one timeline event
# per order naming what this batch reserved, the statuses (above), and one email per order per
# pass (the dedupe key carries the pass id, so several batches of one pass send one email).
_ORDERS_ALLOCATED_SQL = (
    """
WITH batch(line_id, take) AS (SELECT * FROM unnest(%(lines)s::bigint[], %(takes)s::int[])),
events AS (
    INSERT INTO orders_orderevent (order_id, kind, message, data, visible_to_customer, created_at)
    SELECT l.order_id, 'allocated',
           LEFT('Stock arrived and is reserved for you: '
                || string_agg(b.take || ' × ' || l.product_name, ', ' ORDER BY l.id), 500),
           jsonb_build_object('run', %(run)s::text, 'lines', jsonb_object_agg(l.id::text, b.take)), true, now()
    FROM batch b JOIN orders_orderline l ON l.id = b.line_id
    GROUP BY l.order_id
),
updated AS ("""
    + _ORDER_STATUS_SQL
    + """),
emails AS (
    INSERT INTO notifications_notification (kind, recipient, context, dedupe_key, status, attempts, last_error,
                                            created_at)
    SELECT 'backorder_allocated', email, jsonb_build_object('order_id', id, 'run_id', %(run)s::text),
           'backorder-allocated:' || id || ':' || %(run)s::text, 'pending', 0, '', now()
    FROM updated
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id
)
SELECT id FROM emails ORDER BY id
"""
)


def _pg_array(ids) -> str:
    """An array literal for `%s::bigint[]`: '{1,2,3}'."""
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


def order_lines_allocated(
    *, order_ids: set[int], takes: dict[int, int], run_id: str, follow_up_id: int | None = None
) -> bool:
    """Bring orders up to date after the auto-allocation pass allocated stock to their lines.

    Runs inside a transaction of the caller's: the batch's own, or (PostgreSQL) a
    second one that follows the batch's commit. Recomputes the order statuses,
    adds one timeline event per order naming what the batch reserved, and one
    "your backordered items are allocated" email per order per pass (the dedupe
    key carries the pass id, so several batches of one pass send one email). A
    constant number of queries, whatever the number of orders.

    `follow_up_id`: the batch's `AllocationFollowUp` row, deleted here. Returns
    False, changing nothing, when that row is gone: another transaction (the
    sweep, or the pass's own follow-up) has already done this work.
    """
    from django.db import connection

    from notifications.services import notification_create_many, notifications_enqueue_on_commit

    if follow_up_id is not None and not AllocationFollowUp.objects.filter(pk=follow_up_id).delete()[0]:
        return False
    if connection.vendor == "postgresql":
        orders = _pg_array(sorted(order_ids))
        lines = sorted(takes)
        with connection.cursor() as cursor:
            # Lock the orders first, in a statement of their own. The statement that follows then
            # starts (READ COMMITTED) after every other transaction that held one of these orders
            # has committed, so it sees their lines: another worker's pass serving another variant
            # of the same order, a shipment, a cancellation. Were the lock taken by the UPDATE
            # itself, its snapshot would predate the wait and the status could be stale.
            cursor.execute(_ORDERS_LOCK_SQL, {"orders": orders})
            cursor.execute(
                _ORDERS_ALLOCATED_SQL,
                {
                    "orders": orders,
                    "lines": _pg_array(lines),
                    "takes": _pg_array(takes[line] for line in lines),
                    "run": run_id,
                },
            )
            notifications_enqueue_on_commit([row[0] for row in cursor.fetchall()])
        return True
    recipients = _order_statuses_refresh_python(order_ids=order_ids, takes=takes, run_id=run_id)
    notification_create_many(
        rows=[
            {
                "kind": NotificationKind.BACKORDER_ALLOCATED,
                "recipient": email,
                "dedupe_key": f"backorder-allocated:{order_id}:{run_id}",
                "context": {"order_id": order_id, "run_id": run_id},
            }
            for order_id, email in sorted(recipients)
        ]
    )
    return True


def order_allocation_follow_ups_finish(*, limit: int = 100) -> int:
    """Do the order work of served batches whose follow-up was left behind (the sweep).

    A worker that died between a batch's commit and its follow-up's leaves the
    `AllocationFollowUp` row: the lines are allocated, but their orders lack the
    new status, the timeline event and the email. Each row is done in its own
    transaction, exactly as the pass would have done it; a row that the pass's
    own follow-up is doing at the same moment is waited for and then skipped.
    Returns the number of batches done (at most `limit` per call).
    """
    done = 0
    for pk in AllocationFollowUp.objects.order_by("pk").values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            row = AllocationFollowUp.objects.select_for_update(no_key=True).filter(pk=pk).first()
            if row is None:
                continue
            lines = [int(i) for i in row.lines.get("lines", [])]
            takes = dict(zip(lines, (int(t) for t in row.lines.get("takes", [])), strict=True))
            order_ids = set(OrderLine.objects.filter(pk__in=lines).values_list("order_id", flat=True))
            done += order_lines_allocated(
                order_ids=order_ids, takes=takes, run_id=row.run_id, follow_up_id=pk
            )
    if done:
        logger.warning("Finished the order updates of %s auto-allocation batch(es) left behind.", done)
    return done


def _order_statuses_refresh_python(*, order_ids: set[int], takes: dict[int, int], run_id: str) -> list:
    orders = list(Order.objects.filter(pk__in=order_ids).prefetch_related("lines").order_by("pk"))
    changed, events = [], []
    for order in orders:
        lines = list(order.lines.all())
        status = order_status(lines, ship_policy=order.ship_policy)
        if status != order.status:
            order.status = status
            changed.append(order)
        served = [line for line in lines if line.pk in takes]
        events.append(
            OrderEvent(
                order=order,
                kind=OrderEventKind.ALLOCATED,
                message=(
                    "Stock arrived and is reserved for you: "
                    + ", ".join(f"{takes[line.pk]} × {line.product_name}" for line in served)
                )[:500],
                data={"run": run_id, "lines": {str(line.pk): takes[line.pk] for line in served}},
            )
        )
    Order.objects.bulk_update(changed, ["status"], batch_size=1000)
    OrderEvent.objects.bulk_create(events, batch_size=1000)
    return [(order.pk, order.email) for order in orders]


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
        raise CartError(f"Choose a quantity between 1 and {MAX_LINE_QUANTITY}.")


def _cart_check_orderable(*, variant: Variant, quantity: int, in_cart: int = 0) -> None:
    """Raise CartError, saying how many can be ordered, when `quantity` units may not be ordered now."""
    availability = availability_for_variants(variant_ids=[variant.pk]).get(variant.pk)
    cap = _orderable_cap(availability)
    if quantity <= cap:
        return
    if cap == 0:
        label = availability.label.lower() if availability else "not available"
        raise CartError(f"{variant} cannot be ordered right now: it is {label}.")
    message = f"Only {cap} of {variant} can be ordered."
    if in_cart:
        message += f" Your cart already has {in_cart}."
    raise CartError(message)


def _cart_sellable_variant(variant_id: int) -> Variant:
    variant = (
        Variant.objects.select_related("product")
        .filter(pk=variant_id, is_active=True, product__is_active=True)
        .first()
    )
    if variant is None:
        raise CartError("Sorry, that item is no longer sold.")
    return variant


def _cart_lock(cart_id: int) -> Cart:
    """Lock the cart row: changes to one cart (a double click, two tabs) happen one after the other."""
    cart = Cart.objects.select_for_update(no_key=True).filter(pk=cart_id).first()
    if cart is None:
        raise CartError("Your cart has expired. Please add the items again.")
    return cart


def cart_get_or_create(*, user_id: int | None, cart_id: int | None = None) -> Cart:
    """The customer's cart (by user) or the guest cart `cart_id`; a new cart when there is none.

    A guest cart id (from the session) only ever finds a cart without a user.
    """
    if user_id is not None:
        cart, _ = Cart.objects.get_or_create(user_id=user_id)
        return cart
    if cart_id is not None:
        cart = Cart.objects.filter(pk=cart_id, user__isnull=True).first()
        if cart is not None:
            return cart
    return Cart.objects.create()


@transaction.atomic
def cart_add(*, cart_id: int | None, variant_id: int, quantity: int) -> CartLine:
    """Add `quantity` units of a variant (to its line if the cart has one).

    `cart_id` None: a guest's first item; the cart is created with its line (the
    line's `cart_id` says which), and only when the item may be added.
    Refused with a CartError, leaving the cart as it was, when the variant is not
    sold or the line would hold more than policy and the backorder limit allow.
    """
    _cart_check_quantity(quantity)
    if cart_id is None:
        variant = _cart_sellable_variant(variant_id)
        _cart_check_orderable(variant=variant, quantity=quantity)
        return CartLine.objects.create(cart=Cart.objects.create(), variant=variant, quantity=quantity)
    cart = _cart_lock(cart_id)
    variant = _cart_sellable_variant(variant_id)
    line = CartLine.objects.filter(cart=cart, variant=variant).first()
    in_cart = line.quantity if line else 0
    if in_cart + quantity > MAX_LINE_QUANTITY:
        raise CartError(
            f"You can order at most {MAX_LINE_QUANTITY} of {variant} at once. Your cart already has {in_cart}."
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
        raise CartError("That item is not in your cart any more.")
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
    locked = {
        cart.pk: cart
        for cart in Cart.objects.select_for_update(no_key=True)
        .filter(pk__in=[source_cart_id, target.pk])
        .order_by("pk")
    }
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
                notes.append(f"{variant} is no longer sold, so it was not added to your cart.")
            elif cap == 0:
                notes.append(f"{variant} cannot be ordered right now, so it was not added to your cart.")
            else:
                notes.append(f"Only {cap} of {variant} can be ordered: your cart now has {quantity}.")
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
