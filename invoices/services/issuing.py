"""Issuing documents: an invoice per shipment, a prepayment invoice per payment taken before
anything ships, a credit note per refund (docs/tax.md, "Invoices and credit notes").

Each runs inside the transaction of the change it documents (the receivers of orders' hooks,
invoices/receivers.py), takes its number last (`document_number_take`: the counter stays locked
until that transaction commits) and writes one immutable row. What was sold is read from the
order's rows under the locks the shipment or refund holds; the amounts are exactly the money
that moved: an invoice's total is the shipment's `amount`, a prepayment invoice's the amount
captured, a credit note's the amount refunded.
"""

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext

from orders.models import Order, OrderLine, PaymentTransaction, Shipment, TransactionKind
from orders.selectors.card_money import waiting_reserve

from ..amounts import ZERO, amount_split, amount_str, rate_str, totals_per_rate
from ..events import document_issued
from ..models import SERIES_OF_KIND, Document, DocumentKind
from ..selectors.balances import prepayment_balance
from .numbering import document_number_take
from .parties import buyer_snapshot, line_description, line_rate_finder, seller_snapshot, vat_free_notes


def _language(order: Order) -> str:
    return order.language or "en"


def _document_create(
    *,
    kind: str,
    order: Order,
    lines: list[dict],
    tax_point,
    shipment: Shipment | None = None,
    refers_to: Document | None = None,
    prepayment_deducted: Decimal = ZERO,
    notes: list[str] | None = None,
) -> Document:
    """Number and write one document (the number last: its counter is locked from here to the commit)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Documents are issued inside the transaction of the change they document.")
    total = sum((Decimal(line["gross"]) for line in lines), ZERO)
    now = timezone.now()
    taken = document_number_take(series=SERIES_OF_KIND[kind], year=timezone.localdate(now).year)
    document = Document.objects.create(
        kind=kind,
        series=taken.series,
        number=taken.number,
        year=taken.year,
        sequence=taken.sequence,
        order=order,
        shipment=shipment,
        refers_to=refers_to,
        issued_at=now,
        tax_point=tax_point,
        language=_language(order),
        currency=order.currency,
        seller=seller_snapshot(),
        buyer=buyer_snapshot(order),
        reverse_charge=order.reverse_charge,
        lines=lines,
        totals=totals_per_rate(lines),
        total_gross=total,
        prepayment_deducted=prepayment_deducted,
        amount_payable=total - prepayment_deducted,
        notes=notes or [],
    )
    document_issued.send(document_id=document.pk, kind=document.kind)  # its PDF after commit, an email
    return document


def _line(*, description: str, sku: str, quantity: int, unit_gross: Decimal, rate, tax_class: str) -> dict:
    return {
        "description": description,
        "sku": sku,
        "quantity": quantity,
        "unit_gross": amount_str(unit_gross),
        "gross": amount_str(unit_gross * quantity),
        "rate": rate_str(rate),
        "tax_class": tax_class,
    }


# --- an invoice per shipment --------------------------------------------------------------------


def shipment_invoice_issue(*, shipment_id: int) -> Document:
    """The invoice of a shipment, in the shipment's transaction: each shipped unit at the price its
    line charges it (`OrderLine.price_of_units`; full-price and backorder-price units on separate
    lines), the shipping charge on the first parcel, VAT at the rates in force on the shipment's
    date. Its total is `Shipment.amount`. The prepayment it uses (money taken before it shipped)
    is deducted: what this shipment did not capture itself, up to the order's prepayment balance."""
    shipment = Shipment.objects.select_related("order").get(pk=shipment_id)
    order = shipment.order
    tax_point = timezone.localdate(shipment.created_at)
    rate_of = line_rate_finder(order, on=tax_point)
    shipped = shipment.lines.select_related("order_line").order_by("order_line_id")
    with translation.override(_language(order)):
        lines = []
        goods_by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
        for shipment_line in shipped:
            line = shipment_line.order_line
            rate = rate_of(line)
            for part in _priced_units(line, shipment_line.quantity):
                lines.append(_line(rate=rate, tax_class=line.tax_class, **part))
                goods_by_rate[rate] += Decimal(lines[-1]["gross"])
        shipping = Decimal(shipment.amount) - sum(goods_by_rate.values(), ZERO)
        if shipping < 0:
            raise ValueError(f"Shipment {shipment.pk}: its amount is less than the goods it ships.")
        if shipping:
            for rate, share in sorted(
                amount_split(amount=shipping, weights=goods_by_rate).items(), reverse=True
            ):
                lines.append(
                    _line(
                        description=pgettext("invoice line", "Shipping"),
                        sku="",
                        quantity=1,
                        unit_gross=share,
                        rate=rate,
                        tax_class="",
                    )
                )
        notes = vat_free_notes(order)
        deducted, prepayment = _prepayment_used(order, shipment)
        if deducted:
            notes.append(
                gettext("Prepayment deducted: %(amount)s %(currency)s (prepayment invoice %(number)s).")
                % {"amount": amount_str(deducted), "currency": order.currency, "number": prepayment.number}
            )
        return _document_create(
            kind=DocumentKind.INVOICE,
            order=order,
            lines=lines,
            tax_point=tax_point,
            shipment=shipment,
            refers_to=prepayment,
            prepayment_deducted=deducted,
            notes=notes,
        )


def _priced_units(line: OrderLine, quantity: int) -> list[dict]:
    """The shipment's `quantity` units of `line` (the last ones shipped: the line is already saved
    with them) as invoice lines: the full-price units, then those at the backorder price."""
    start = line.quantity_shipped - quantity
    full_units = line.quantity - line.quantity_at_backorder_price
    full = max(0, min(start + quantity, full_units) - start)
    parts = []
    if full:
        parts.append(
            {
                "description": line_description(line),
                "sku": line.sku,
                "quantity": full,
                "unit_gross": line.unit_price,
            }
        )
    if quantity - full:
        parts.append(
            {
                "description": gettext("%(item)s (backorder price)") % {"item": line_description(line)},
                "sku": line.sku,
                "quantity": quantity - full,
                "unit_gross": line.backorder_unit_price,
            }
        )
    return parts


def _prepayment_used(order: Order, shipment: Shipment) -> tuple[Decimal, Document | None]:
    """What of the shipment's amount was paid before it shipped: its amount less what its own
    capture took (the successful captures recorded with it), at most the order's prepayment
    balance; and the newest prepayment invoice, which the invoice refers to."""
    captured = (
        PaymentTransaction.objects.filter(
            shipment=shipment, kind=TransactionKind.CAPTURE, success=True
        ).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    balance = prepayment_balance(order_id=order.pk)
    deducted = min(balance, max(ZERO, Decimal(shipment.amount) - captured))
    if deducted <= 0:
        return ZERO, None
    prepayment = Document.objects.filter(order=order, kind=DocumentKind.PREPAYMENT).order_by("-pk").first()
    return deducted, prepayment


# --- a prepayment invoice per payment before shipment --------------------------------------------


def prepayment_invoice_issue(*, order_id: int, amount: Decimal) -> Document:
    """The invoice of money taken before anything ships (pay now, a deposit, a card charged at
    once): in the EU a payment received before the supply is taxed when it is received, at that
    day's rate. Its lines are the amount split over the tax classes of what it pays for, in
    proportion: the open units the plan asks to be paid now (`waiting_reserve`: all of a waiting
    unit's price under *pay now*, its deposit under *a deposit*) and those set aside to ship."""
    order = Order.objects.select_related("payment").get(pk=order_id)
    amount = Decimal(amount)
    tax_point = timezone.localdate()
    rate_of = line_rate_finder(order, on=tax_point)
    order_lines = list(order.lines.all())
    by_class = _prepaid_by_class(order, order_lines)
    rate_of_class = {line.tax_class: rate_of(line) for line in order_lines}
    with translation.override(_language(order)):
        lines = []
        weights = {(rate_of_class[tax_class], tax_class): weight for tax_class, weight in by_class.items()}
        for (rate, tax_class), share in _split_by_key(amount, weights):
            lines.append(
                _line(
                    description=gettext("Prepayment for order %(number)s: %(items)s")
                    % {"number": order.number, "items": _items_of_class(order_lines, tax_class)},
                    sku="",
                    quantity=1,
                    unit_gross=share,
                    rate=rate,
                    tax_class=tax_class,
                )
            )
        return _document_create(
            kind=DocumentKind.PREPAYMENT,
            order=order,
            lines=lines,
            tax_point=tax_point,
            notes=[
                *vat_free_notes(order),
                gettext("The goods are invoiced when they ship; this payment is deducted."),
            ],
        )


def _prepaid_by_class(order: Order, lines: list[OrderLine]) -> dict[str, Decimal]:
    """What the payment pays for, per tax class: units set aside to ship at their price, waiting
    units at what the plan keeps for them. None of that (a payment the plan did not ask for): the
    price of every open unit."""
    payment = order.payment
    weights: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        weights[line.tax_class] += line.price_of_units(line.quantity_shipped, line.quantity_allocated)
        weights[line.tax_class] += waiting_reserve(line, payment.plan, payment.deposit_percent)
    if not any(weights.values()):
        for line in lines:
            weights[line.tax_class] += line.price_of_units(line.quantity_shipped, line.quantity_open)
    if not any(weights.values()):
        for line in lines:
            weights[line.tax_class] += Decimal("1")
    return dict(weights)


def _items_of_class(lines: list[OrderLine], tax_class: str) -> str:
    return ", ".join(
        f"{line.quantity} × {line_description(line)}" for line in lines if line.tax_class == tax_class
    )


def _split_by_key(amount: Decimal, weights: dict[tuple, Decimal]) -> list[tuple[tuple, Decimal]]:
    """`amount` over the keys of `weights` in proportion (the remainder to the largest share),
    highest rate first; zero shares dropped. Keys are (rate, tax class)."""
    keys = sorted(weights, key=lambda key: (-key[0], key[1]))
    index = {Decimal(i): key for i, key in enumerate(keys)}  # amount_split takes one number per share
    shares = amount_split(amount=amount, weights={i: weights[key] for i, key in index.items()})
    return [(index[i], shares[i]) for i in sorted(shares)]


# --- a credit note per refund ------------------------------------------------------------------


def credit_note_issue(
    *, order_id: int, amount: Decimal, cancelled: dict[int, int] | None = None
) -> list[Document]:
    """The credit note of a refund, equal to it, in the refund's transaction. It corrects the
    prepayment invoice while the order has a prepayment balance (money refunded before it was
    used by a shipment), else the newest invoice; a refund larger than the balance is two notes,
    one for each. Its VAT follows the document it corrects: the rates that document charged,
    split in proportion to what was cancelled (`cancelled`: {line id: units}) or, with no
    cancellation behind it (a refund made in Stripe's dashboard), to that document's own amounts."""
    order = Order.objects.get(pk=order_id)
    amount = Decimal(amount)
    balance = prepayment_balance(order_id=order.pk)
    prepayment = Document.objects.filter(order=order, kind=DocumentKind.PREPAYMENT).order_by("-pk").first()
    invoice = Document.objects.filter(order=order, kind=DocumentKind.INVOICE).order_by("-pk").first()
    parts: list[tuple[Decimal, Document | None]] = []
    from_prepayment = min(balance, amount) if prepayment else ZERO
    if from_prepayment > 0:
        parts.append((from_prepayment, prepayment))
    if amount - from_prepayment > 0:
        parts.append((amount - from_prepayment, invoice or prepayment))
    cancelled_lines = _cancelled_value(order, cancelled)
    with translation.override(_language(order)):
        return [
            _credit_note_create(order=order, amount=part, corrects=corrects, cancelled_lines=cancelled_lines)
            for part, corrects in parts
        ]


def _cancelled_value(order: Order, cancelled: dict[int, int] | None) -> list[tuple[OrderLine, int, Decimal]]:
    """(line, units, their price) of a cancellation: the line's last units (already cancelled)."""
    if not cancelled:
        return []
    lines = OrderLine.objects.filter(order=order, pk__in=list(cancelled)).order_by("pk")
    out = []
    for line in lines:
        units = cancelled[line.pk]
        out.append((line, units, line.price_of_units(line.quantity - line.quantity_cancelled, units)))
    return out


def _credit_note_create(
    *, order: Order, amount: Decimal, corrects: Document | None, cancelled_lines: list
) -> Document:
    tax_point = timezone.localdate()
    class_rates = {line["tax_class"]: Decimal(line["rate"]) for line in (corrects.lines if corrects else [])}
    fallback = line_rate_finder(order, on=corrects.tax_point if corrects else tax_point)
    weights: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    if cancelled_lines:
        for line, _units, value in cancelled_lines:
            rate = class_rates.get(line.tax_class)
            weights[(rate if rate is not None else fallback(line), line.tax_class)] += value
        what = gettext("Refund for cancelled items: %(items)s") % {
            "items": ", ".join(
                f"{units} × {line_description(line)}" for line, units, _value in cancelled_lines
            )
        }
    elif corrects is not None:
        for total in corrects.totals:  # per rate, shipping included
            weights[(Decimal(total["rate"]), "")] += Decimal(total["gross"])
        what = pgettext("credit note line", "Refund")
    else:
        for line in order.lines.all():
            weights[(fallback(line), line.tax_class)] += line.total
        what = pgettext("credit note line", "Refund")
    if corrects is not None:
        what = gettext("%(what)s (corrects %(number)s)") % {"what": what, "number": corrects.number}
    lines = [
        _line(description=what, sku="", quantity=1, unit_gross=share, rate=rate, tax_class=tax_class)
        for (rate, tax_class), share in _split_by_key(amount, dict(weights))
    ]
    return _document_create(
        kind=DocumentKind.CREDIT_NOTE,
        order=order,
        lines=lines,
        tax_point=tax_point,
        refers_to=corrects,
        notes=vat_free_notes(order),
    )
