"""The card payment page's read: a charge that failed off-session, and where it stands now.

The page (orders.views.card_payment) and its services (orders.services.card_payment) agree on one
rule, `card_payment_state`: a charge the bank refused or asked the customer to confirm can be paid
until its grace ends (`grace_ends_at`); after that the units go to the next customer in line
(orders.services.allocation_release), even if the sweep has not run yet.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from ..models import CardCharge, ChargeStatus, Order, OrderLine

DUE, PAID, RELEASED, EXPIRED, PENDING = "due", "paid", "released", "expired", "pending"


def card_payment_state(charge: CardCharge, *, now: datetime | None = None) -> str:
    """'due' (the customer may pay), 'paid', 'released', 'expired' (grace over, not released yet)
    or 'pending' (not sent to the bank yet: nothing for the customer to do)."""
    if charge.status in (ChargeStatus.AUTHORIZED, ChargeStatus.CAPTURED):
        return PAID
    if charge.status == ChargeStatus.RELEASED:
        return RELEASED
    if charge.status == ChargeStatus.PENDING:
        return PENDING
    if charge.grace_ends_at is not None and charge.grace_ends_at <= (now or timezone.now()):
        return EXPIRED
    return DUE


@dataclass(frozen=True)
class CardPaymentPage:
    """What the payment page shows."""

    charge: CardCharge
    order: Order
    line: OrderLine | None
    state: str

    @property
    def amount(self) -> Decimal:
        return self.charge.amount

    @property
    def currency(self) -> str:
        return self.order.currency

    @property
    def item(self) -> str:
        """'1 × Alpine Tent (Large / Green)'."""
        if self.line is None:
            return "your items"
        options = f" ({self.line.options_label})" if self.line.options_label else ""
        return f"{self.charge.units} × {self.line.product_name}{options}"

    @property
    def uses_saved_card(self) -> bool:
        return bool(self.charge.payment.stripe_payment_method)


def card_payment_page(*, charge_id: int) -> CardPaymentPage | None:
    """The charge behind a payment link with its order, line and payment (one query); None when gone."""
    charge = CardCharge.objects.filter(pk=charge_id).select_related("payment__order", "order_line").first()
    if charge is None:
        return None
    order = charge.payment.order
    return CardPaymentPage(
        charge=charge, order=order, line=charge.order_line, state=card_payment_state(charge)
    )
