"""The payments check: every order's payment against its gateway calls, its card charges and its
parcels. `payments_reconcile` (a management command) asks it; a healthy shop has no difference.
Reads only, no locks; one query for every payment however many orders (correlated subqueries,
rounded to the cent in SQL: SQLite sums decimals as floats), plus, with `--stripe`, one Stripe call
per card charge. 10,000 orders (a third each card, test card and invoice): 0.9 s on SQLite,
1.1 s on PostgreSQL 16, one query (docs/payments.md, "Reconciling payments").

The checks, per payment (all amounts to the cent):

1. **Transactions.** Every gateway call is a `PaymentTransaction`; the payment's sums are the
   successful ones by kind: `amount_authorized` = Σ authorize, `amount_captured` = Σ capture,
   `amount_voided` = Σ void, `amount_refunded` = Σ refund. This holds exactly for the old
   gateways (`test_card`, `invoice`: checkout records the authorization, each parcel its
   capture, a cancellation its void and refund, and the payment moves only on success). Card
   payments record two amounts with no row of their own, so for them
   `amount_authorized` = Σ authorize + Σ charges made at shipment (one off-session call that
   authorizes and captures: only its capture is written), and
   `amount_voided` = Σ void + what each captured hold let go with its capture (its amount, less
   what it captured, less the voids recorded against it earlier).
2. **Card charges** (gateway `card`): the payment's four sums equal those of its `CardCharge`
   rows (`orders.services.cards.card_payment_amounts`, the same sums in SQL).
3. **What shipped.** Old gateways (authorize everything, capture per parcel): every capture
   belongs to a parcel (`amount_captured` = Σ captures with a shipment) and
   captured − refunded = Σ `Shipment.amount`. Card payments, by the money rule of
   `orders.services.cards`: plan `ship`: captured − refunded = Σ `Shipment.amount` (nothing is
   captured before it ships); plan `now`: captured − refunded = Σ `Shipment.amount` + the price
   of the open units (allocated and waiting) + the shipping charge while nothing has shipped and
   some unit is open. Another plan has no rule here yet and is not checked.
4. **Cancelled units hold nothing** (card): open holds (`CardCharge.amount_open`) + credit
   (captured − refunded − shipped) ≤ what the open units need (`cards.card_needed`: allocated
   units, and under plan `now` waiting ones too, plus the shipping while nothing has shipped).
   Less is allowed: a charge that failed or is not sent yet holds nothing.
5. **At Stripe** (`card_charges_at_stripe`, optional): each charge's PaymentIntent has the
   charge's amount and the status its row says (authorized: `requires_capture`; captured:
   `succeeded`; released: `canceled`). Only the PaymentIntent is compared: localstripe reports a
   partial capture as a refund of the rest on its charge, Stripe as an uncaptured remainder.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least, Round

from .. import stripe_api
from ..models import (
    CardCharge,
    ChargePurpose,
    ChargeStatus,
    OrderLine,
    Payment,
    PaymentPlan,
    PaymentTransaction,
    Shipment,
    TransactionKind,
)

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


def _sum(queryset: QuerySet, expression, *, fk: str, outer: str) -> Coalesce:
    """Σ `expression` over the rows of `queryset` whose `fk` is the outer row's `outer` (0 if none)."""
    rows = (
        queryset.filter(**{fk: OuterRef(outer)})
        .order_by()
        .values(fk)
        .annotate(total=Sum(expression, output_field=MONEY))
        .values("total")
    )
    return Round(Coalesce(Subquery(rows, output_field=MONEY), Value(ZERO), output_field=MONEY), 2)


def _price_of_units(start, count) -> ExpressionWrapper:
    """`OrderLine.price_of_units(start, count)` in SQL: the last `quantity_at_backorder_price` units
    of a line carry the backorder price."""
    full_price_units = F("quantity") - F("quantity_at_backorder_price")
    full = Greatest(Value(0), Least(start + count, full_price_units) - start)
    return ExpressionWrapper(
        F("unit_price") * full + F("backorder_unit_price") * (count - full), output_field=MONEY
    )


def _transactions(kind: str, **filters) -> QuerySet:
    return PaymentTransaction.objects.filter(kind=kind, success=True, **filters)


def payments_with_sums() -> QuerySet[Payment]:
    """Every payment with what the checks compare, as annotations (one query)."""
    charges = CardCharge.objects.all()
    lines = OrderLine.objects.all()
    voids_on_captured_holds = _transactions(TransactionKind.VOID).filter(
        Exists(
            CardCharge.objects.filter(
                payment_id=OuterRef("payment_id"),
                stripe_id=OuterRef("gateway_reference"),
                status=ChargeStatus.CAPTURED,
                capture_manual=True,
            )
        )
    )
    by_payment = {"fk": "payment", "outer": "pk"}
    by_order = {"fk": "order", "outer": "order_id"}
    return (
        Payment.objects.select_related(None)
        .annotate(
            order_number=F("order__number"),
            shipping_cost=F("order__shipping_cost"),
            tx_authorized=_sum(_transactions(TransactionKind.AUTHORIZE), F("amount"), **by_payment),
            tx_captured=_sum(_transactions(TransactionKind.CAPTURE), F("amount"), **by_payment),
            tx_voided=_sum(_transactions(TransactionKind.VOID), F("amount"), **by_payment),
            tx_refunded=_sum(_transactions(TransactionKind.REFUND), F("amount"), **by_payment),
            tx_captured_for_parcels=_sum(
                _transactions(TransactionKind.CAPTURE, shipment__isnull=False), F("amount"), **by_payment
            ),
            tx_voided_on_captured_holds=_sum(voids_on_captured_holds, F("amount"), **by_payment),
            ch_authorized=_sum(
                charges.filter(
                    status__in=[ChargeStatus.AUTHORIZED, ChargeStatus.CAPTURED, ChargeStatus.RELEASED]
                ),
                F("amount"),
                **by_payment,
            ),
            ch_captured=_sum(charges, F("amount_captured"), **by_payment),
            ch_released=_sum(charges, F("amount_released"), **by_payment),
            ch_refunded=_sum(charges, F("amount_refunded"), **by_payment),
            ch_open=_sum(
                charges.filter(status=ChargeStatus.AUTHORIZED),
                F("amount") - F("amount_captured") - F("amount_released"),
                **by_payment,
            ),
            ch_charged_at_shipment=_sum(
                charges.filter(purpose=ChargePurpose.SHIPMENT, status=ChargeStatus.CAPTURED),
                F("amount"),
                **by_payment,
            ),
            ch_let_go_at_capture=_sum(
                charges.filter(status=ChargeStatus.CAPTURED, capture_manual=True),
                F("amount") - F("amount_captured"),
                **by_payment,
            ),
            shipped=_sum(Shipment.objects.all(), F("amount"), **by_order),
            has_shipment=Exists(Shipment.objects.filter(order=OuterRef("order_id"))),
            allocated_value=_sum(
                lines, _price_of_units(F("quantity_shipped"), F("quantity_allocated")), **by_order
            ),
            open_value=_sum(
                lines,
                _price_of_units(F("quantity_shipped"), F("quantity_allocated") + F("quantity_backordered")),
                **by_order,
            ),
            any_open=Exists(
                OrderLine.objects.filter(order=OuterRef("order_id")).filter(
                    Q(quantity_allocated__gt=0) | Q(quantity_backordered__gt=0)
                )
            ),
        )
        .annotate(
            shipping_held=Case(
                When(any_open=True, has_shipment=False, then=F("shipping_cost")),
                default=Value(ZERO),
                output_field=MONEY,
            )
        )
        .order_by("pk")
    )


SUMS = (
    "tx_authorized",
    "tx_captured",
    "tx_voided",
    "tx_refunded",
    "tx_captured_for_parcels",
    "tx_voided_on_captured_holds",
    "ch_authorized",
    "ch_captured",
    "ch_released",
    "ch_refunded",
    "ch_open",
    "ch_charged_at_shipment",
    "ch_let_go_at_capture",
    "shipped",
    "allocated_value",
    "open_value",
    "shipping_held",
)


def _differences_of(p: Payment) -> Iterator[tuple[str, str]]:
    for name in SUMS:  # to the cent, as the columns are (SQLite hands back float-like decimals)
        setattr(p, name, Decimal(getattr(p, name)).quantize(CENT))
    card = p.gateway == CARD
    # 1. the gateway calls
    expected = {
        "authorized": p.tx_authorized + (p.ch_charged_at_shipment if card else ZERO),
        "captured": p.tx_captured,
        "voided": p.tx_voided + ((p.ch_let_go_at_capture - p.tx_voided_on_captured_holds) if card else ZERO),
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
        needed = p.allocated_value + p.shipping_held
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
    for payment in payments_with_sums().iterator(chunk_size=2000):
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
