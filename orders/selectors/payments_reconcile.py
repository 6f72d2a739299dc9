"""The payments check: every order's payment against its gateway calls, its card charges and its
parcels. `payments_reconcile` (a management command) asks it; a healthy shop has no difference.

Reads only, no locks. Six queries however many orders: each table is read once, grouped by
payment or order (`payment_sums`), and the numbers are compared in Python; with `--stripe`, one
Stripe call per card charge on top. Measured on 10,000 orders (a third each card, test card and
invoice; 23,006 transactions, 6,346 card charges): 0.45 s on SQLite, 0.36 s on PostgreSQL 15
(1.4 s and 1.1 s while other test runs loaded the machine). The first version, one query with a
correlated subquery per sum, took 2.4 s on SQLite and 30 s on PostgreSQL, 12 s of it compiling
the plan with JIT.

The checks, per payment (all amounts to the cent):

1. **Transactions.** Every gateway call is a `PaymentTransaction`; the payment's sums are the
   successful ones by kind: `amount_authorized` = Σ authorize, `amount_captured` = Σ capture,
   `amount_voided` = Σ void, `amount_refunded` = Σ refund. This holds exactly for the old
   gateways (`test_card`, `invoice`: checkout records the authorization, each parcel its
   capture, a cancellation its void and refund, and the payment moves only on success). Card
   payments too: a charge made at shipment writes its authorization and its capture, and a hold
   captured for less writes the void of the rest.
2. **Card charges** (gateway `card`): the payment's four sums equal those of its `CardCharge`
   rows that Stripe held or charged (`authorized_at` set: `orders.services.cards.card_payment_amounts`,
   the same sums in SQL; a charge let go before it was held counts for nothing).
3. **What shipped.** Old gateways (authorize everything, capture per parcel): every capture
   belongs to a parcel (`amount_captured` = Σ captures with a shipment) and
   captured − refunded = Σ `Shipment.amount`. Card payments, by the money rule of
   `orders.services.cards`: plan `ship`: captured − refunded = Σ `Shipment.amount` (nothing is
   captured before it ships); plan `now`: captured − refunded = Σ `Shipment.amount` + the price
   of the open units (allocated and waiting) + the shipping charge while nothing has shipped and
   some unit is open; plan `deposit` has no equality here (its credit mixes deposits and what
   shipped), only check 4.
4. **Cancelled units hold nothing** (card): open holds (`CardCharge.amount_open`) + credit
   (captured − refunded − shipped) ≤ what the open units need (`cards.card_needed`: allocated
   units, and under plan `now` waiting ones too, under plan `deposit` their deposits, plus the
   shipping while nothing has shipped).
   Less is allowed: a charge that failed or is not sent yet holds nothing.
5. **At Stripe** (`card_charges_at_stripe`, optional): each charge's PaymentIntent has the
   charge's amount and the status its row says (authorized: `requires_capture`; captured:
   `succeeded`; released: `canceled`). Only the PaymentIntent is compared: localstripe reports a
   partial capture as a refund of the rest on its charge, Stripe as an uncaptured remainder.
"""

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Greatest, Least

from .. import stripe_api
from ..models import (
    CardCharge,
    ChargeStatus,
    OrderLine,
    Payment,
    PaymentPlan,
    PaymentTransaction,
    Shipment,
    TransactionKind,
)
from .card_money import waiting_reserve

CARD = "card"  # orders.services.cards.CARD (a selector does not import services)
MONEY = DecimalField(max_digits=14, decimal_places=2)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PaymentDifference:
    order_number: str
    payment_id: int
    check: str  # transactions, charges, shipped, holds, stripe
    message: str

    def __str__(self) -> str:
        return f"{self.order_number} (payment {self.payment_id}, {self.check}): {self.message}"


@dataclass(frozen=True)
class Reconciliation:
    payments: Counter = field(default_factory=Counter)  # payments checked, by gateway
    differences: list[PaymentDifference] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return sum(self.payments.values())


def _total(expression, **condition) -> Sum:
    """Σ `expression` over the group's rows that meet `condition` (all of them without one)."""
    if condition:
        expression = Case(When(then=expression, **condition), default=Value(ZERO), output_field=MONEY)
    return Sum(expression, output_field=MONEY, default=Value(ZERO))


def _price_of_units(start, count) -> ExpressionWrapper:
    """`OrderLine.price_of_units(start, count)` in SQL: the last `quantity_at_backorder_price` units
    of a line carry the backorder price."""
    full_price_units = F("quantity") - F("quantity_at_backorder_price")
    full = Greatest(Value(0), Least(start + count, full_price_units) - start)
    return ExpressionWrapper(
        F("unit_price") * full + F("backorder_unit_price") * (count - full), output_field=MONEY
    )


def _grouped(queryset: QuerySet, key: str, **sums) -> dict[int, dict]:
    """{key: {name: sum}}: one GROUP BY over the whole table."""
    rows = queryset.order_by().values(key).annotate(**sums)
    return {row.pop(key): row for row in rows.iterator(chunk_size=5000)}


def _transaction_sums() -> dict:
    return {
        "tx_authorized": _total(F("amount"), kind=TransactionKind.AUTHORIZE),
        "tx_captured": _total(F("amount"), kind=TransactionKind.CAPTURE),
        "tx_voided": _total(F("amount"), kind=TransactionKind.VOID),
        "tx_refunded": _total(F("amount"), kind=TransactionKind.REFUND),
        "tx_captured_for_parcels": _total(F("amount"), kind=TransactionKind.CAPTURE, shipment__isnull=False),
    }


def _charge_sums() -> dict:
    return {
        "ch_authorized": _total(F("amount")),
        "ch_captured": _total(F("amount_captured")),
        "ch_released": _total(F("amount_released")),
        "ch_refunded": _total(F("amount_refunded")),
        "ch_open": _total(
            F("amount") - F("amount_captured") - F("amount_released"), status=ChargeStatus.AUTHORIZED
        ),
    }


def _line_sums() -> dict:
    return {
        "allocated_value": _total(_price_of_units(F("quantity_shipped"), F("quantity_allocated"))),
        "open_value": _total(
            _price_of_units(F("quantity_shipped"), F("quantity_allocated") + F("quantity_backordered"))
        ),
        "open_units": Sum(F("quantity_allocated") + F("quantity_backordered")),
    }


@dataclass
class PaymentSums:
    """A payment's four amounts, and the sums the checks compare them with (to the cent)."""

    pk: int
    order_number: str
    gateway: str
    plan: str
    amount_authorized: Decimal
    amount_captured: Decimal
    amount_voided: Decimal
    amount_refunded: Decimal
    shipping_cost: Decimal
    has_shipment: bool = False
    open_units: int = 0
    tx_authorized: Decimal = ZERO
    tx_captured: Decimal = ZERO
    tx_voided: Decimal = ZERO
    tx_refunded: Decimal = ZERO
    tx_captured_for_parcels: Decimal = ZERO
    ch_authorized: Decimal = ZERO
    ch_captured: Decimal = ZERO
    ch_released: Decimal = ZERO
    ch_refunded: Decimal = ZERO
    ch_open: Decimal = ZERO
    shipped: Decimal = ZERO
    allocated_value: Decimal = ZERO
    open_value: Decimal = ZERO
    deposit_reserve: Decimal = ZERO  # plan deposit: what its waiting units keep (card_money)

    @property
    def shipping_held(self) -> Decimal:
        """The shipping charge is held while some unit is open and nothing has shipped."""
        return self.shipping_cost if self.open_units and not self.has_shipment else ZERO


def _deposit_reserves() -> dict[int, Decimal]:
    """Per order paid with a deposit: what its waiting units keep (their deposit, to the cent per
    line, as the services compute it: `card_money.waiting_reserve`). One query, deposit orders only."""
    reserves: dict[int, Decimal] = defaultdict(lambda: ZERO)
    lines = OrderLine.objects.filter(
        order__payment__gateway=CARD, order__payment__plan=PaymentPlan.DEPOSIT, quantity_backordered__gt=0
    ).select_related("order__payment")
    for line in lines.iterator(chunk_size=2000):
        payment = line.order.payment
        reserves[line.order_id] += waiting_reserve(line, payment.plan, payment.deposit_percent)
    return dict(reserves)


def payment_sums() -> Iterator[PaymentSums]:
    """Every payment, in pk order, with what the checks compare: six queries however many orders,
    each reading one table grouped by payment or order (and deposit orders' waiting lines)."""
    transactions = _grouped(
        PaymentTransaction.objects.filter(success=True), "payment_id", **_transaction_sums()
    )
    # As card_payment_amounts: a charge counts once Stripe held or charged it (authorized_at).
    charges = _grouped(CardCharge.objects.filter(authorized_at__isnull=False), "payment_id", **_charge_sums())
    shipments = _grouped(Shipment.objects.all(), "order_id", shipped=_total(F("amount")))
    lines = _grouped(OrderLine.objects.all(), "order_id", **_line_sums())
    deposits = _deposit_reserves()
    payments = Payment.objects.order_by("pk").values_list(
        "pk",
        "order_id",
        "order__number",
        "gateway",
        "plan",
        "amount_authorized",
        "amount_captured",
        "amount_voided",
        "amount_refunded",
        "order__shipping_cost",
    )
    for pk, order_id, number, gateway, plan, *amounts, shipping in payments.iterator(chunk_size=5000):
        row = PaymentSums(pk, number, gateway, plan, *amounts, shipping_cost=shipping)
        row.has_shipment = order_id in shipments
        sums = {
            **transactions.get(pk, {}),
            **charges.get(pk, {}),
            **shipments.get(order_id, {}),
            **lines.get(order_id, {}),
        }
        if order_id in deposits:
            sums["deposit_reserve"] = deposits[order_id]
        row.open_units = sums.pop("open_units", 0) or 0
        for name, value in sums.items():  # to the cent: SQLite sums decimals as floats
            setattr(row, name, Decimal(value).quantize(CENT))
        yield row


def _differences_of(p: PaymentSums) -> Iterator[tuple[str, str]]:
    card = p.gateway == CARD
    # 1. the gateway calls
    expected = {
        "authorized": p.tx_authorized,
        "captured": p.tx_captured,
        "voided": p.tx_voided,
        "refunded": p.tx_refunded,
    }
    for name, want in expected.items():
        have = getattr(p, f"amount_{name}")
        if have != want:
            yield "transactions", f"{name} {have} but its transactions say {want}"
    credit = p.amount_captured - p.amount_refunded - p.shipped
    if not card:
        # 3. the old rule: authorize everything, capture per parcel
        if p.amount_captured != p.tx_captured_for_parcels:
            yield (
                "shipped",
                f"captured {p.amount_captured} but its parcels' captures sum to {p.tx_captured_for_parcels}",
            )
        if credit != 0:
            yield (
                "shipped",
                f"captured − refunded {p.amount_captured - p.amount_refunded} but shipped {p.shipped}",
            )
        return
    # 2. the card charges
    charges = {
        "authorized": p.ch_authorized,
        "captured": p.ch_captured,
        "voided": p.ch_released,
        "refunded": p.ch_refunded,
    }
    for name, want in charges.items():
        have = getattr(p, f"amount_{name}")
        if have != want:
            yield "charges", f"{name} {have} but its card charges say {want}"
    # 3. and 4. the money rule
    if p.plan == PaymentPlan.NOW:
        needed = p.open_value + p.shipping_held
        if credit != needed:
            yield (
                "shipped",
                f"captured − refunded {p.amount_captured - p.amount_refunded} but shipped {p.shipped} "
                f"+ open units {p.open_value} + shipping held {p.shipping_held}",
            )
    else:
        needed = p.allocated_value + p.shipping_held + p.deposit_reserve
        if p.plan == PaymentPlan.SHIP and credit != 0:
            yield (
                "shipped",
                f"captured − refunded {p.amount_captured - p.amount_refunded} but shipped {p.shipped}",
            )
    if p.ch_open + credit > needed:
        yield "holds", f"holds {p.ch_open} + credit {credit} but the open units need {needed}"


def payment_differences() -> Reconciliation:
    """Every payment checked (checks 1-4 of the module); what differs, in payment order."""
    result = Reconciliation()
    for payment in payment_sums():
        result.payments[payment.gateway] += 1
        for check, message in _differences_of(payment):
            result.differences.append(PaymentDifference(payment.order_number, payment.pk, check, message))
    return result


STRIPE_STATUS = {
    ChargeStatus.AUTHORIZED: "requires_capture",
    ChargeStatus.CAPTURED: "succeeded",
    ChargeStatus.RELEASED: "canceled",
}


def _stripe_differences(stripe_id: str, status: str, amount: Decimal, currency: str) -> list[str]:
    try:
        intent = stripe_api.payment_intent_get(stripe_id)
    except (stripe_api.StripeDeclined, stripe_api.StripeUnavailable) as exc:
        return [f"could not be read at Stripe: {exc}"]
    messages = []
    if intent.status != STRIPE_STATUS[status]:
        messages.append(f"{status} here but {intent.status} at Stripe")
    if intent.amount != stripe_api.to_minor(amount, currency):
        messages.append(
            f"{amount} {currency} here but {stripe_api.from_minor(intent.amount, currency)} at Stripe"
        )
    return messages


def card_charges_at_stripe() -> list[PaymentDifference]:
    """Check 5: each card charge sent to Stripe against its PaymentIntent (one call per charge)."""
    differences = []
    charges = (
        CardCharge.objects.filter(status__in=list(STRIPE_STATUS))
        .exclude(stripe_id="")
        .values_list(
            "pk", "stripe_id", "status", "amount", "payment_id", "payment__currency", "payment__order__number"
        )
        .order_by("pk")
    )
    for pk, stripe_id, status, amount, payment_id, currency, number in charges.iterator(chunk_size=2000):
        for message in _stripe_differences(stripe_id, status, amount, currency):
            differences.append(
                PaymentDifference(number, payment_id, "stripe", f"charge {pk} ({stripe_id}): {message}")
            )
    return differences
