"""Orders placed, shipped and cancelled through the real services, for the documents' tests."""

import uuid
from decimal import Decimal

from invoices.models import Document, DocumentKind
from orders.models import OrderLine
from orders.services import order_place
from shop.tests.factories import VariantFactory
from tax.models import TaxClass

ADDRESSES = {
    "DE": {
        "full_name": "Anna Schmidt",
        "address_line1": "Hauptstraße 5",
        "city": "Köln",
        "postcode": "50667",
        "country": "DE",
    },
    "FR": {
        "full_name": "Jean Dupont",
        "address_line1": "5 rue de la Paix",
        "city": "Paris",
        "postcode": "75002",
        "country": "FR",
    },
    "AT": {
        "full_name": "Eva Huber",
        "address_line1": "Ring 1",
        "city": "Wien",
        "postcode": "1010",
        "country": "AT",
    },
    "US": {
        "full_name": "Ann Lee",
        "address_line1": "1 Main St",
        "city": "Boston",
        "postcode": "02108",
        "country": "US",
    },
}


def variant(price: str, tax_class: str = TaxClass.STANDARD, **kwargs):
    made = VariantFactory(price=Decimal(price), **kwargs)
    made.product.tax_class = tax_class
    made.product.save(update_fields=["tax_class"])
    return made


def place_test_card(items, *, country="DE", policy="split", **kwargs):
    """An order paid with the test card (authorized at checkout, captured per parcel)."""
    order = order_place(
        items=[(v.pk, qty) for v, qty in items],
        email="anna@example.com",
        address=ADDRESSES[country],
        shipping_method="standard",
        ship_policy=policy,
        payment_method="test_card",
        card_number="4242 4242 4242 4242",
        accept_backorder_terms=True,
        idempotency_key=uuid.uuid4().hex,
        **kwargs,
    ).order
    _classes_as_sold(order)
    return order


def _classes_as_sold(order) -> None:
    """Each line's tax class is its product's (checkout records it; set here too, so that these
    tests state the class they rely on whatever the checkout of the day stores)."""
    for line in order.lines.select_related("variant__product"):
        if line.tax_class != line.variant.product.tax_class:
            OrderLine.objects.filter(pk=line.pk).update(tax_class=line.variant.product.tax_class)


def documents_of(order, kind=None) -> list[Document]:
    found = Document.objects.filter(order=order).order_by("pk")
    if kind:
        found = found.filter(kind=kind)
    return list(found)


def invoices_of(order) -> list[Document]:
    return documents_of(order, DocumentKind.INVOICE)


def as_tuples(totals: list[dict]) -> list[tuple[str, str, str, str]]:
    """Totals per rate as (rate, net, vat, gross) strings, to compare exactly."""
    return [(t["rate"], t["net"], t["vat"], t["gross"]) for t in totals]


def place_card(stripe, items, *, country="DE", policy="split"):
    """A card order placed as the checkout page places it (orders.tests.cards), delivered to `country`."""
    from orders.services.cards import PaymentActionRequired
    from orders.tests.cards import card_setup

    key = uuid.uuid4().hex
    params = dict(
        items=[(v.pk, qty) for v, qty in items],
        email="anna@example.com",
        address=ADDRESSES[country],
        shipping_method="standard",
        ship_policy=policy,
        payment_method="card",
        card_setup_intent=card_setup(stripe, email="anna@example.com", key=key),
        accept_backorder_terms=True,
        idempotency_key=key,
    )
    try:
        order = order_place(**params).order
    except PaymentActionRequired:  # pragma: no cover - the test card needs no 3-D Secure
        raise
    _classes_as_sold(order)
    return order
