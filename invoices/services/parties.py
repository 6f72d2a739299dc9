"""What a document says about the seller and the buyer, and which VAT rate its lines carry."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext

from orders.models import Order, OrderLine
from tax.rules import TaxRateMissing, is_eu
from tax.selectors import tax_rate_table_load

ZERO = Decimal("0")


def seller_snapshot() -> dict:
    """The shop as the law asks an invoice to name it (SHOP_LEGAL_NAME, SHOP_LEGAL_ADDRESS,
    SHOP_VAT_ID), kept on the document as it was on the day of issue."""
    return {
        "name": settings.SHOP_LEGAL_NAME,
        "address": [part.strip() for part in settings.SHOP_LEGAL_ADDRESS.split(",") if part.strip()],
        "vat_id": settings.SHOP_VAT_ID,
    }


def buyer_snapshot(order: Order) -> dict:
    """The customer as the order names them (the delivery address is the invoice address)."""
    address = [
        order.address_line1,
        order.address_line2,
        " ".join(p for p in (order.postcode, order.city) if p),
    ]
    return {
        "name": order.full_name,
        "company": order.company_name,
        "address": [part for part in address if part],
        "country": order.country,
        "vat_number": order.vat_number,
        "email": order.email,
    }


def vat_free_notes(order: Order) -> list[str]:
    """Why an order's documents carry no VAT, in the words the law asks for (the active language)."""
    if order.reverse_charge:
        return [
            gettext(
                "Reverse charge: VAT is owed by the recipient (Article 196, Council Directive 2006/112/EC). "
                "Buyer's VAT number: %(vat_number)s."
            )
            % {"vat_number": order.vat_number}
        ]
    if order.country and not is_eu(order.country):
        return [
            gettext("Export outside the EU: exempt from VAT (Article 146, Council Directive 2006/112/EC).")
        ]
    return []


def line_rate_finder(order: Order, *, on: date) -> Callable[[OrderLine], Decimal]:
    """A function giving each of the order's lines its VAT percent on `on` (the tax point): 0 under
    the reverse charge and for an export, else the rates table's rate for the destination and the
    line's tax class (one query for the whole document). With no rate in force for a class that
    day the line keeps the rate it was sold at (`OrderLine.tax_rate`): the table has a gap that
    staff must close, and a shipment is not refused for it."""
    if order.reverse_charge or not is_eu(order.country):
        return lambda line: ZERO
    table = tax_rate_table_load(countries=[order.country])

    def rate_of(line: OrderLine) -> Decimal:
        try:
            return table.rate(country=order.country, tax_class=line.tax_class, on=on)
        except TaxRateMissing:
            return line.tax_rate

    return rate_of


def line_description(line: OrderLine) -> str:
    return f"{line.product_name} ({line.options_label})" if line.options_label else line.product_name
