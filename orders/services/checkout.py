"""Placing an order: stock reserved under lock, lines, payment authorized, emails, in one transaction."""

import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from inventory.services import (
    BackorderRefused,
    Demand,
    PlannedLine,
    StockError,
    allocation_record,
    allocation_reserve,
)
from shop.formatting import date_range_in_words, money
from tax.rules import vat_number_check

from ..event_words import event_words_build, event_words_items, iso
from ..events import order_placed, payment_captured
from ..lifecycle import Move, line_apply, order_status
from ..locks import order_lines_of_order_lock, payment_lock
from ..models import (
    Order,
    OrderEvent,
    OrderEventKind,
    OrderLine,
    Payment,
    ShipPolicy,
    TransactionKind,
)
from ..payments import gateway_get
from ..selectors.quote import Quote, TaxDestination, order_quote, shipping_options
from .cards import (
    CARD,
    CardAuth,
    card_checkout_authorize,
    card_checkout_undo,
    card_payment_create,
    card_settle,
)
from .charges import _payment_void, payment_transaction_build
from .checkout_writes import lines_events_insert, order_payment_insert, order_side_rows_write
from .errors import BackorderTermsRequired, CheckoutError, TotalChanged
from .need_by import NeedBy, need_by_check

logger = logging.getLogger(__name__)


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
        raise CheckoutError(_("This checkout has already been used. Please start again from your cart."))
    return PlaceResult(order, created=False)


def _total_changed_message(quote: Quote) -> str:
    if quote.reverse_charge:
        why = _("VAT reverse charged")
    elif quote.export:
        why = _("export: no VAT")
    else:
        why = _("VAT of the delivery country")
    return _(
        "Your total for this delivery address is %(total)s (%(why)s). Please check it and place your order again."
    ) % {"total": money(quote.total), "why": why}


def _new_order_number() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "BO-" + "".join(secrets.choice(alphabet) for _ in range(8))


def order_place(
    *,
    items: list[tuple[int, int]],
    email: str,
    address: dict,
    shipping_method: str,
    ship_policy: str,
    payment_method: str,
    card_number: str = "",
    card_setup_intent: str = "",
    card_payment_intent: str = "",
    accept_backorder_terms: bool = False,
    idempotency_key: str,
    user_id: int | None = None,
    cart_id: int | None = None,
    need_by: NeedBy | None = None,
    language: str = "",
    company_name: str = "",
    vat_number: str = "",
    expected_total: Decimal | None = None,
    variants: dict | None = None,
) -> PlaceResult:
    """Place an order: re-read prices and stock, authorize payment, allocate, backorder the rest.

    Nothing from the client is trusted but the variant ids and quantities. A
    declined payment leaves no order and no stock change. A repeated submit with
    the same idempotency key returns the first order. Stock is allocated under
    locks (inventory.services.allocation_reserve), so concurrent checkouts never
    oversell or overfill the backorder limit. `cart_id`: the cart the items come
    from; its lines are removed in the transaction that creates the order. `need_by`: the date the
    customer needs the waiting items by and what to do if we cannot make it (`need_by_check`).
    `company_name`, `vat_number`: a business buyer's (docs/tax.md); the quote prices every line for the
    address's country and this number (VAT of the destination, reverse charge or export), and each
    line keeps its tax class and the rate charged. `expected_total`: the total the page showed for
    another destination; if this one's differs, `TotalChanged` (before any payment). `variants`: the
    items' variants with their products, by id, when the caller just read them (the cart's query).

    A repeated submit is looked up first only when `items` is empty (the first submit emptied the
    cart) or the payment is by card (its authorization is not one to make and void again).
    Otherwise the order's insert finds it by the unique key: the second payment is voided and the
    first order returned, as for two submits at once; one read fewer for every order placed.

    Availability is read once, for the quote (before the payment is authorized);
    under the variant locks only the numbers a concurrent checkout can change are
    read again, and only the writes that depend on them happen there
    (`_order_create`), so a hot variant's lock is held as briefly as possible.
    """
    if not items or payment_method == CARD:
        existing = Order.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return _same_checkout(existing, email=email, user_id=user_id)
    if not items:
        raise CheckoutError(_("Your cart is empty."))
    if ship_policy not in ShipPolicy.values:
        raise CheckoutError(_("Choose how the order should be shipped."))
    if shipping_method not in shipping_options():
        raise CheckoutError(_("Choose a delivery option."))
    merged: dict[int, int] = {}
    for variant_id, quantity in items:
        merged[variant_id] = merged.get(variant_id, 0) + quantity
    items = sorted(merged.items())

    vat_ok, vat_message = vat_number_check(vat_number) if vat_number else (True, "")
    if not vat_ok:
        raise CheckoutError(vat_message)
    destination = TaxDestination(country=address.get("country", ""), vat_number=vat_number)
    quote = order_quote(
        items=items,
        shipping_method=shipping_method,
        destination=destination,
        variants=variants if variants and all(v in variants for v, _ in items) else None,
    )
    if quote.problems:
        raise CheckoutError(" ".join(quote.problems))
    if expected_total is not None and quote.total != expected_total:
        raise TotalChanged(_total_changed_message(quote))
    if quote.has_backorders and not accept_backorder_terms:
        raise BackorderTermsRequired(
            "Some items will be backordered: please read and accept the backorder terms."
        )
    need_by = need_by_check(need_by=need_by, quote=quote)

    if payment_method == CARD:
        if not settings.STRIPE_ENABLED:
            raise CheckoutError(
                _("Card payments are not available right now: please choose another way to pay.")
            )
        gateway = None
        auth = card_checkout_authorize(
            quote=quote,
            setup_intent_id=card_setup_intent,
            payment_intent_id=card_payment_intent,
            idempotency_key=idempotency_key,
        )
    else:
        if payment_method == "test_card" and not settings.PAYMENT_TEST_GATEWAY:
            raise CheckoutError(_("Choose a payment method."))
        try:
            gateway = gateway_get(payment_method)
        except ValueError:
            raise CheckoutError(_("Choose a payment method.")) from None
        auth = gateway.authorize(amount=quote.total, currency=settings.SHOP_CURRENCY, card_number=card_number)
        if not auth.success:
            raise CheckoutError(auth.message or "The payment was declined.")

    def undo() -> None:
        if gateway is None:
            card_checkout_undo(auth, idempotency_key=idempotency_key)
        else:
            gateway.void(reference=auth.reference, amount=quote.total)

    try:
        order = None
        for _attempt in range(5):
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
                    gateway_code=gateway.code if gateway else CARD,
                    auth=auth,
                    cart_id=cart_id,
                    need_by=need_by,
                    language=language,
                    company_name=company_name,
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
        undo()
        existing = Order.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return _same_checkout(existing, email=email, user_id=user_id)
        raise
    except BackorderRefused as exc:
        undo()
        raise CheckoutError(
            _("Sorry, availability changed while you were checking out. %(problem)s") % {"problem": exc},
            variant_id=exc.variant_id,
        ) from exc
    except StockError as exc:
        undo()
        raise CheckoutError(str(exc)) from exc
    except Exception:
        undo()
        raise

    payment = order.payment
    if gateway is None:
        _card_settle_placed(order, user_id=user_id)
        return PlaceResult(order, created=True)
    excess = payment.amount_authorized - order.total
    if excess > 0:
        _payment_void(payment_id=payment.pk, amount=excess, note="backorder discount applied at placement")
    return PlaceResult(order, created=True)


@transaction.atomic
def _card_settle_placed(order: Order, *, user_id: int | None) -> None:
    """Fewer units shipped now than quoted (stock went to a checkout that won): the checkout's
    hold is reduced to what the allocated units need (they come first on the lock order)."""
    lines = list(order_lines_of_order_lock(order.pk))
    card_settle(order=order, payment=payment_lock(order.payment.pk), lines=lines, user_id=user_id)


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
            expected_earliest_date=plan.expected_earliest,
            first_promised_date=plan.expected_date,
            promised_date=plan.expected_date,
            promised_on=timezone.localdate() if plan.backorder else None,
            quantity_backordered_at_placement=plan.backorder,
            tax_class=q.tax_class,
            tax_rate=q.tax_rate,
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
    need_by=None,
    language="",
    company_name="",
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
        need_by=need_by.date if need_by else None,
        need_by_action=need_by.action if need_by else "",
        full_name=address.get("full_name", ""),
        address_line1=address.get("address_line1", ""),
        address_line2=address.get("address_line2", ""),
        city=address.get("city", ""),
        postcode=address.get("postcode", ""),
        country=address.get("country", ""),
        shipping_method=option.label,
        currency=settings.SHOP_CURRENCY,
        shipping_cost=quote.shipping_cost,  # as quoted for the destination (docs/tax.md)
        company_name=company_name.strip()[:200],
        vat_number=quote.vat_number,
        reverse_charge=quote.reverse_charge,
        # The checkout page's language (request.LANGUAGE_CODE): every email of the order is in it.
        language=language if language in dict(settings.LANGUAGES) else "",
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
            expected_earliest=quoted[v].expected_earliest,
        )
        for v, q in items
    ]
    totals = _order_set_totals(order, _order_lines(order, quote, as_quoted))
    # With the order: its payment, the emptied cart, the buyer's back-in-stock subscriptions closed
    # (whoever bought a variant is not told again that it is back in stock), the confirmation email.
    variant_ids = [v for v, _ in items]
    if isinstance(auth, CardAuth):
        order.save(force_insert=True)
        payment = card_payment_create(order=order, auth=auth, user_id=user_id)
        order_side_rows_write(order=order, cart_id=cart_id, variant_ids=variant_ids)
    else:
        payment = Payment(
            order=order,
            gateway=gateway_code,
            reference=auth.reference,
            currency=order.currency,
            amount_authorized=quote.total,
        )
        authorization = payment_transaction_build(
            payment,
            TransactionKind.AUTHORIZE,
            quote.total,
            auth.success,
            auth.reference,
            auth.message,
            user_id,
        )
        order_payment_insert(
            order=order,
            payment=payment,
            authorization=authorization,
            cart_id=cart_id,
            variant_ids=variant_ids,
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
    lines_events_insert(lines=lines, events=_placed_events(order, lines, user_id=user_id))
    allocation_record(reservation=reservation, line_ids={line.variant_id: line.pk for line in lines})
    if payment.amount_captured:
        # Paid now or a deposit: taken before anything ships (a prepayment invoice, invoices.apps).
        payment_captured.send(order_id=order.pk, amount=payment.amount_captured)
    order_placed.send(order_id=order.pk)
    return order


def _placed_events(order: Order, lines: list[OrderLine], *, user_id: int | None) -> list[OrderEvent]:
    """The timeline's first events: placed (with what waits, until when) and what was reserved."""
    waiting = [line for line in lines if line.quantity_backordered]
    message = "Order placed."
    if waiting:
        with translation.override(settings.LANGUAGE_CODE):  # the event's stored words are English
            message += " Waiting for stock: " + "; ".join(
                f"{line.quantity_backordered} × {line.product_name} (expected {date_range_in_words(line.expected_earliest_date, line.expected_date)})"
                for line in waiting
            )
    # The customer's timeline says them in the reader's language, from the words (orders.event_words).
    placed_words = event_words_build(
        key="placed",
        waiting=[
            {
                "count": line.quantity_backordered,
                "name": line.product_name,
                "earliest": iso(line.expected_earliest_date),
                "latest": iso(line.expected_date),
            }
            for line in waiting
        ],
    )
    events = [
        OrderEvent(
            order=order,
            kind=OrderEventKind.PLACED,
            message=message[:500],
            data={"words": placed_words},
            user_id=user_id,
        )
    ]
    allocated_now = [line for line in lines if line.quantity_allocated]
    if allocated_now:
        reserved = [(line.quantity_allocated, line.product_name) for line in allocated_now]
        events.append(
            OrderEvent(
                order=order,
                kind=OrderEventKind.ALLOCATED,
                message=("In stock and reserved: " + ", ".join(f"{n} × {name}" for n, name in reserved))[
                    :500
                ],
                data={"words": event_words_build(key="reserved", items=event_words_items(reserved))},
            )
        )
    return events
