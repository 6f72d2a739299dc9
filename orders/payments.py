"""Payment gateways: authorize at checkout, capture on shipment, void or refund cancellations.

A gateway is a small object with four calls. Two are built in:

* `test_card`: a card gateway for development and tests, with documented test
  numbers (see TEST_CARDS) that decline deterministically.
* `invoice`: pay by invoice; every call succeeds (the invoice is the promise).

`orders.services` records every call as a PaymentTransaction row.
"""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class GatewayResult:
    success: bool
    reference: str = ""
    message: str = ""


class PaymentGateway(Protocol):
    code: str
    label: str

    def authorize(self, *, amount: Decimal, currency: str, card_number: str = "") -> GatewayResult: ...

    def capture(self, *, reference: str, amount: Decimal) -> GatewayResult: ...

    def void(self, *, reference: str, amount: Decimal) -> GatewayResult: ...

    def refund(self, *, reference: str, amount: Decimal) -> GatewayResult: ...


# Test card numbers and what they do. Any other number that passes the Luhn check is accepted.
TEST_CARDS = {
    "4242424242424242": None,
    "4000000000000002": "Your card was declined.",
    "4000000000009995": "Your card has insufficient funds.",
    "4000000000000069": "Your card has expired.",
}


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class TestCardGateway:
    code = "test_card"
    label = gettext_lazy("Card (test mode)")

    def authorize(self, *, amount: Decimal, currency: str, card_number: str = "") -> GatewayResult:
        number = "".join(card_number.split())
        if not luhn_valid(number):
            return GatewayResult(False, message="That card number is not valid.")
        decline = TEST_CARDS.get(number)
        if decline:
            return GatewayResult(False, message=decline)
        return GatewayResult(
            True, reference=f"auth_{uuid.uuid4().hex[:16]}", message=f"card ending {number[-4:]}"
        )

    def capture(self, *, reference: str, amount: Decimal) -> GatewayResult:
        return GatewayResult(True, reference=f"cap_{uuid.uuid4().hex[:16]}")

    def void(self, *, reference: str, amount: Decimal) -> GatewayResult:
        return GatewayResult(True, reference=f"void_{uuid.uuid4().hex[:16]}")

    def refund(self, *, reference: str, amount: Decimal) -> GatewayResult:
        return GatewayResult(True, reference=f"ref_{uuid.uuid4().hex[:16]}")


class InvoiceGateway:
    code = "invoice"
    label = gettext_lazy("Pay by invoice")

    def authorize(self, *, amount: Decimal, currency: str, card_number: str = "") -> GatewayResult:
        return GatewayResult(True, reference=f"inv_{uuid.uuid4().hex[:16]}", message="invoice")

    def capture(self, *, reference: str, amount: Decimal) -> GatewayResult:
        return GatewayResult(True, reference=reference, message="invoiced")

    def void(self, *, reference: str, amount: Decimal) -> GatewayResult:
        return GatewayResult(True, reference=reference, message="not invoiced")

    def refund(self, *, reference: str, amount: Decimal) -> GatewayResult:
        return GatewayResult(True, reference=reference, message="credit note")


GATEWAYS: dict[str, PaymentGateway] = {g.code: g for g in (TestCardGateway(), InvoiceGateway())}


def gateway_get(code: str) -> PaymentGateway:
    try:
        return GATEWAYS[code]
    except KeyError:
        raise ValueError(f"unknown payment method {code!r}") from None
