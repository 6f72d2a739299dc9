"""Shared setup for the delay tests: a frozen shop clock, a backorderable item, purchase orders, waiting orders."""

import email
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory
from orders.models import Order
from orders.tests.helpers import allow_backorders, place
from shop.tests.factories import VariantFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 2 March 2026, 09:00 shop time (TIME_ZONE is UTC)
TODAY = T0.date()
LEAD_TIME = 21
DELAY_SUBJECT = "later than we said"


def day(n: int) -> date:
    return TODAY + timedelta(days=n)


def backorderable(name: str = "Alpine Tent", price: str = "100.00", **policy):
    variant = VariantFactory(product__name=name, price=Decimal(price))
    allow_backorders(variant, lead_time_days=policy.pop("lead_time_days", LEAD_TIME), **policy)
    return variant


def purchase_order(variant, quantity: int, expected: date | None, **fields):
    po = PurchaseOrderFactory(expected_date=expected, **fields)
    PurchaseOrderLineFactory(purchase_order=po, variant=variant, quantity_ordered=quantity)
    return po


def waiting_order(variant, quantity: int, *, email: str, **kwargs) -> Order:
    return place([(variant, quantity)], email=email, **kwargs).order


def delay_emails(mailbox) -> list:
    """The delay emails among the messages sent (Django mail objects)."""
    return [m for m in mailbox if DELAY_SUBJECT in m.subject]


def text_of(message) -> str:
    """The text part of a Django EmailMessage or of an email.message.Message received over SMTP."""
    if hasattr(message, "body"):
        return message.body
    if isinstance(message, bytes | str):
        message = (
            email.message_from_string(message)
            if isinstance(message, str)
            else email.message_from_bytes(message)
        )
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
            return text.replace("\r\n", "\n")  # SMTP carries CRLF line endings
    raise AssertionError("no text part")


def link_in(text: str, kind: str) -> str:
    """The path of the first link to a `kind` page (keep-waiting, cancel, feedback...) in an email's text."""
    match = re.search(rf"https?://[^/\s]+(/orders/[^\s]*{kind}[^\s]*)", text)
    assert match, f"no {kind} link in:\n{text}"
    return match.group(1)
