"""What a customer reads about an order: where it stands, and what happened to their money.

One function per thing said, one sentence per case, so that a page, a flash message and an email
never say it two ways, and never say something untrue for the way the customer pays:

* money: `money_released_text` (cancelled units: what was voided, refunded, or not released),
  `money_charged_text` (a parcel), `when_charged_text` (waiting units are paid when they ship),
  `cancel_money_text` (what cancelling will do), `payment_terms_text` (checkout). A card payment
  (the `test_card` gateway) reserves the order's amount at checkout and charges each parcel; an
  invoice reserves nothing, and each parcel is invoiced. With no payment method known yet (cart,
  checkout terms, product page) the sentence is true of both. `amount_due`: the order's total less
  what its cancellations released, for the order page's totals.
* progress: `order_status_text` (the order as a whole) and `line_status_text` (one line's units),
  each status said once.

Pure functions of their arguments: no queries. Templates reach them through
`orders.templatetags.order_words`; views and email builders call them directly.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from shop.formatting import money, ships_in_words

from .models import Order, OrderEvent, OrderEventKind, OrderLine, OrderStatus, ShipPolicy

CARD = "test_card"  # the test gateway: the whole order reserved at checkout, each parcel charged
STRIPE_CARD = "card"  # Stripe, pay when it ships: a hold when stock is set aside, charged as it ships
STRIPE_CARD_NOW = "card_now"  # Stripe, pay now: the whole order charged at checkout
STRIPE_CARD_DEPOSIT = "card_deposit"  # Stripe, a deposit at checkout, the balance as for STRIPE_CARD
CARDS = frozenset({CARD, STRIPE_CARD, STRIPE_CARD_NOW, STRIPE_CARD_DEPOSIT})
INVOICE = "invoice"
ZERO = Decimal("0")
_BANK_DELAY = gettext_lazy(" (your bank may take a few days to show it)")


def payment_method_of(order: Order) -> str | None:
    """How the order is paid (`test_card`, `invoice`, Stripe's `card` or `card_now`), None if unknown.

    Reads `order.payment`: a query unless the caller selected it with the order.
    """
    try:
        payment = order.payment
    except ObjectDoesNotExist:
        return None
    if payment.gateway == STRIPE_CARD and payment.plan == "now":
        return STRIPE_CARD_NOW
    if payment.gateway == STRIPE_CARD and payment.plan == "deposit":
        return STRIPE_CARD_DEPOSIT
    return payment.gateway


# --- money ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoneyReleased:
    """What cancelling units did with their price, as the payment's numbers moved.

    `voided`: taken off what was reserved and never charged (a card's hold released; for an
    invoice: never invoiced). `refunded`: given back from what had been charged (a card refund;
    for an invoice, a credit note). `unreleased`: the gateway refused; staff follow it up.
    """

    gateway: str | None
    currency: str
    voided: Decimal = ZERO
    refunded: Decimal = ZERO
    unreleased: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        """The price of the cancelled units (what cancelling set out to release)."""
        return self.voided + self.refunded + self.unreleased

    def as_data(self) -> dict:
        """For an email's context or a timeline event (JSON)."""
        return {
            "amount": str(self.total),
            "voided": str(self.voided),
            "refunded": str(self.refunded),
            "unreleased": str(self.unreleased),
        }

    @classmethod
    def from_data(cls, data: dict, *, gateway: str | None, currency: str) -> "MoneyReleased":
        """Back from `as_data`. Data written before the split was recorded has only `amount`,
        which was always released from what was reserved (voided)."""
        if "voided" not in data:
            return cls(gateway=gateway, currency=currency, voided=Decimal(data.get("amount", "0")))
        return cls(
            gateway=gateway,
            currency=currency,
            voided=Decimal(data["voided"]),
            refunded=Decimal(data.get("refunded", "0")),
            unreleased=Decimal(data.get("unreleased", "0")),
        )


def stored_words():
    """A context in which words stored in the database (an order's timeline events) are written:
    the shop's language (English), whatever page the change came from; staff read them in the admin,
    and the customer's timeline translates their titles (docs/i18n.md)."""
    return translation.override(settings.LANGUAGE_CODE)


def money_released_text(released: MoneyReleased) -> str:
    """After units were cancelled: what the customer pays for them (nothing) and why, truthfully.

    Card: "You pay nothing for the cancelled items: the €51.45 reserved on your card for them has
    been released (your bank may take a few days to show it)." Invoice: "You pay nothing for the
    cancelled items: €51.45 will not be invoiced." A refund of what was charged, or an amount
    the gateway refused, is said as such.
    """

    def m(value: Decimal) -> str:
        return money(value, released.currency)

    voided, refunded = {"amount": m(released.voided)}, {"amount": m(released.refunded)}
    if released.gateway in CARDS:
        done = [
            _("the %(amount)s reserved on your card for them has been released") % voided
            if released.voided
            else "",
            _("the %(amount)s already charged to your card has been refunded") % refunded
            if released.refunded
            else "",
        ]
        tail = str(_BANK_DELAY)
    elif released.gateway == INVOICE:
        done = [
            _("%(amount)s will not be invoiced") % voided if released.voided else "",
            _("we will send you a credit note for the %(amount)s already invoiced") % refunded
            if released.refunded
            else "",
        ]
        tail = ""
    else:
        done = [
            _("%(amount)s will not be charged") % voided if released.voided else "",
            _("the %(amount)s already paid has been refunded") % refunded if released.refunded else "",
        ]
        tail = ""
    done = [part for part in done if part]
    sentences = []
    if done:
        sentences.append(
            _("You pay nothing for the cancelled items: %(what_happened)s%(bank_delay)s.")
            % {"what_happened": _(" and ").join(done), "bank_delay": tail}
        )
    if released.unreleased:
        sentences.append(
            _("We could not release %(amount)s yet: we are looking into it and will email you.")
            % {"amount": m(released.unreleased)}
        )
    if not sentences:
        sentences.append(_("There was nothing to pay for the cancelled items."))
    return " ".join(sentences)


def money_charged_text(
    *, gateway: str | None, amount: Decimal, currency: str, shipping: Decimal = ZERO
) -> str:
    """What a parcel costs the customer, as it was charged: card "€54.90 has been charged to your
    card for this parcel, including €4.90 shipping."; invoice "We will invoice you €54.90 for this
    parcel, ...". `shipping`: the part of `amount` that is the order's shipping charge."""
    if not amount:
        return _("There is nothing more to pay for this parcel.")
    including = (
        _(", including %(shipping)s shipping") % {"shipping": money(shipping, currency)} if shipping else ""
    )
    values = {"amount": money(amount, currency), "including_shipping": including}
    if gateway in CARDS:
        return _("%(amount)s has been charged to your card for this parcel%(including_shipping)s.") % values
    if gateway == INVOICE:
        return _("We will invoice you %(amount)s for this parcel%(including_shipping)s.") % values
    return _("This parcel costs %(amount)s%(including_shipping)s.") % values


def when_charged_text(
    *, gateway: str | None, what: str = "items waiting for stock", one: bool = False
) -> str:
    """When units that wait are paid for: when they ship. `what` names them; `one`: a single item.

    Card: "Your card is charged for items waiting for stock only when they ship; until then the
    amount is only reserved." Invoice: "Items waiting for stock are invoiced only when they ship."
    No method yet: "You pay for items waiting for stock only when they ship."
    """
    what = str(_WHAT.get(what, what))
    values = {"what": what, "What": capfirst(what)}
    if one:
        sentences = {
            STRIPE_CARD: _(
                "Your card is charged for %(what)s only when it ships: we place a hold on your card for it when stock arrives."
            ),
            STRIPE_CARD_NOW: _("%(What)s is paid for; it ships as soon as stock arrives."),
            STRIPE_CARD_DEPOSIT: _(
                "You paid a deposit for %(what)s; the rest is charged when it ships: we place a hold on your card for it when stock arrives."
            ),
            CARD: _(
                "Your card is charged for %(what)s only when it ships; until then the amount is only reserved."
            ),
            INVOICE: _("%(What)s is invoiced only when it ships."),
        }
        return sentences.get(gateway, _("You pay for %(what)s only when it ships.")) % values
    sentences = {
        STRIPE_CARD: _(
            "Your card is charged for %(what)s only when they ship: we place a hold on your card for them when stock arrives."
        ),
        STRIPE_CARD_NOW: _("%(What)s are paid for; they ship as soon as stock arrives."),
        STRIPE_CARD_DEPOSIT: _(
            "You paid a deposit for %(what)s; the rest is charged when they ship: we place a hold on your card for it when stock arrives."
        ),
        CARD: _(
            "Your card is charged for %(what)s only when they ship; until then the amount is only reserved."
        ),
        INVOICE: _("%(What)s are invoiced only when they ship."),
    }
    return sentences.get(gateway, _("You pay for %(what)s only when they ship.")) % values


# The things `when_charged_text` may name (its `what`), for the translator: they sit inside its sentences.
_WHAT = {
    "items waiting for stock": pgettext_lazy("paid for when they ship", "items waiting for stock"),
    "these items": pgettext_lazy("paid for when they ship", "these items"),
    "backordered items": pgettext_lazy("paid for when they ship", "backordered items"),
    "it": pgettext_lazy("paid for when it ships", "it"),
}


def payment_terms_text(*, card: str | None = None, grace_days: int = 3, deposit_percent: int = 0) -> str:
    """At checkout, before the customer chooses how to pay: what each way means for waiting units.
    `card`: how a card pays here (STRIPE_CARD, STRIPE_CARD_NOW; None: the test gateway)."""
    values = {"days": grace_days, "percent": deposit_percent}
    if card == STRIPE_CARD:
        return (
            _(
                "You pay for backordered items only when they ship. Paying by card, we hold what ships now "
                "on your card; when stock arrives for a backordered item, we place a hold for its price and "
                "charge it as it ships. If your bank declines then, we email you and keep the item for you "
                "for %(days)s days while you pay. Paying by invoice, we invoice each parcel as it ships."
            )
            % values
        )
    if card == STRIPE_CARD_DEPOSIT:
        return (
            _(
                "Paying by card, you pay now for what ships now and a %(percent)s%% deposit on each "
                "backordered item; when its stock arrives we place a hold for the rest of its price and "
                "charge it as it ships. If your bank declines then, we email you and keep the item for you "
                "for %(days)s days while you pay. Cancel a backordered item and its deposit is refunded "
                "to your card. Paying by invoice, we invoice each parcel as it ships."
            )
            % values
        )
    if card == STRIPE_CARD_NOW:
        return _(
            "Paying by card, you pay for the whole order now, backordered items included; anything you "
            "cancel is refunded to your card. Paying by invoice, we invoice each parcel as it ships."
        )
    return _(
        "You pay for backordered items only when they ship: paying by card, we reserve the order's "
        "amount on your card now and charge each parcel as it ships; paying by invoice, we invoice "
        "each parcel as it ships."
    )


def money_released_staff_text(released: MoneyReleased) -> str:
    """The same facts for staff, in the admin's plain amounts, e.g. "27.55 EUR card hold released"."""

    def m(value: Decimal) -> str:
        return money(value, released.currency, plain=True)

    if released.gateway in CARDS:
        parts = [
            f"{m(released.voided)} card hold released" if released.voided else "",
            f"{m(released.refunded)} refunded to the card" if released.refunded else "",
        ]
    elif released.gateway == INVOICE:
        parts = [
            f"{m(released.voided)} will not be invoiced" if released.voided else "",
            f"a credit note is due for {m(released.refunded)} already invoiced" if released.refunded else "",
        ]
    else:
        parts = [
            f"{m(released.voided)} not charged" if released.voided else "",
            f"{m(released.refunded)} refunded" if released.refunded else "",
        ]
    if released.unreleased:
        parts.append(f"the gateway refused to release {m(released.unreleased)}: follow it up")
    parts = [part for part in parts if part]
    return "; ".join(parts) if parts else "no money to release"


def cancel_money_text(*, gateway: str | None) -> str:
    """What cancelling waiting units does to the money, said before the customer cancels."""
    if gateway == STRIPE_CARD:
        return _(
            "You pay nothing for what you cancel: nothing is taken from your card for items still waiting."
        )
    if gateway == STRIPE_CARD_NOW:
        return _("You pay nothing for what you cancel: what you paid for it is refunded to your card.")
    if gateway == STRIPE_CARD_DEPOSIT:
        return _("You pay nothing for what you cancel: its deposit is refunded to your card.")
    if gateway == CARD:
        return _("You pay nothing for what you cancel: the amount reserved on your card for it is released.")
    if gateway == INVOICE:
        return _("You pay nothing for what you cancel: it is not invoiced.")
    return _("You pay nothing for what you cancel.")


@dataclass(frozen=True)
class AmountDue:
    """An order's total, less what its cancellations released: what the customer pays in the end."""

    ordered: Decimal
    released: Decimal

    @property
    def to_pay(self) -> Decimal:
        return self.ordered - self.released


def amount_due(order: Order, events: Iterable[OrderEvent]) -> AmountDue:
    """`order.total` and what its cancellations released, from the payment events of its timeline
    (`events`: the order's events, as the order page has them; no query)."""
    released = sum(
        (Decimal(event.data.get("amount", "0")) for event in events if event.kind == OrderEventKind.REFUNDED),
        ZERO,
    )
    return AmountDue(ordered=order.total, released=released)


# --- progress ---------------------------------------------------------------------------------


def _waits_together(order: Order, lines: Sequence[OrderLine]) -> bool:
    return order.ship_policy == ShipPolicy.TOGETHER and any(line.quantity_backordered for line in lines)


def line_status_text(line: OrderLine, *, order: Order, lines: Sequence[OrderLine]) -> list[str]:
    """Where a line's units are, each state said once: one phrase when they are all in the same
    state ("Waiting for stock, expected to ship 4–6 January 2027"), else one per state with its
    units ("1 shipped", "2 waiting for stock, expected by ..."). Units in stock of an order that ships together while others wait are "reserved for
    you, ship with the rest", not "ready to ship". `lines`: all the order's lines."""
    ready = _("reserved for you, ship with the rest") if _waits_together(order, lines) else _("ready to ship")
    waiting = _("waiting for stock")
    if line.expected_date:
        waiting = _("waiting for stock, %(when)s") % {
            "when": ships_in_words(line.expected_earliest_date, line.expected_date)
        }
    states = [
        (line.quantity_shipped, pgettext_lazy("units of an order line", "shipped")),
        (line.quantity_allocated, ready),
        (line.quantity_backordered, waiting),
        (line.quantity_cancelled, pgettext_lazy("units of an order line", "cancelled")),
    ]
    present = [(units, str(words)) for units, words in states if units]
    if len(present) == 1:
        return [capfirst(present[0][1])]
    return [_("%(units)s %(state)s") % {"units": units, "state": words} for units, words in present]


def order_status_text(order: Order, lines: Sequence[OrderLine]) -> str:
    """The order as a whole, in one sentence that adds what its status means for the customer."""
    status = order.status
    if status == OrderStatus.WAITING:
        if _waits_together(order, lines):
            return _("Waiting for stock: you asked for one parcel, so it ships when the last item arrives.")
        return _("Waiting for stock: each item ships as soon as it arrives.")
    if status == OrderStatus.PARTIALLY_READY:
        return _("Partly ready to ship: what is in stock ships now, the rest as it arrives.")
    if status == OrderStatus.READY:
        return _("Ready to ship: everything is in stock and reserved for you, and leaves soon.")
    if status == OrderStatus.PARTIALLY_SHIPPED:
        if any(line.quantity_backordered for line in lines):
            return _("Partly shipped: the rest follows as it arrives.")
        return _("Partly shipped: the rest is ready and leaves soon.")
    if status == OrderStatus.SHIPPED:
        if any(line.quantity_cancelled for line in lines):
            return _("Shipped: everything you did not cancel is on its way to you.")
        return _("Shipped: everything is on its way to you.")
    if status == OrderStatus.CANCELLED:
        return _("Cancelled: nothing of this order will ship.")
    return order.get_status_display()


__all__ = [
    "AmountDue",
    "CARD",
    "INVOICE",
    "MoneyReleased",
    "amount_due",
    "cancel_money_text",
    "line_status_text",
    "money_charged_text",
    "money_released_text",
    "order_status_text",
    "payment_method_of",
    "payment_terms_text",
    "when_charged_text",
]
