"""What the customer sees before paying: shipping options, the backorder price, the quote.

A read: the quote is priced from the database and split by the same availability answer the
product page shows. The cart page (`orders.selectors.carts`) shows it and checkout
(`orders.services.checkout`) places the order from it, so the two never disagree.
`MAX_LINE_QUANTITY` is the most units one line may hold (the cart's rule too).

VAT (docs/tax.md): a quote for a destination (`TaxDestination`: the delivery country and the
buyer's VAT number) prices every line and the shipping as `tax.rules` says for that destination and
lists the VAT included per rate; without one (the cart page) it shows the catalog prices as they
are. Checkout quotes the destination the customer chose, so what the page shows is what is charged.
"""

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from inventory.selectors import Availability, AvailabilityStatus, availability_for_variants
from shop.models import Variant
from tax.rules import (
    TaxTreatment,
    VatGroup,
    amount_charged,
    shipping_split,
    tax_country,
    tax_treatment,
    vat_breakdown,
    vat_number_normalize,
)
from tax.selectors import TaxRateMissing, TaxRateTable, tax_rate_table_load

logger = logging.getLogger(__name__)


MAX_LINE_QUANTITY = 999
CENT = Decimal("0.01")
ZERO = Decimal("0")


@dataclass(frozen=True)
class ShippingOption:
    code: str
    label: str
    cost: Decimal


def shipping_options() -> dict[str, ShippingOption]:
    """Flat-rate shipping choices (settings.SHOP_SHIPPING_OPTIONS; the built-in ones' names are
    translated, a deployment's own are shown as configured)."""
    raw = getattr(
        settings,
        "SHOP_SHIPPING_OPTIONS",
        {
            "standard": (gettext_lazy("Standard delivery (3-5 working days)"), "4.90"),
            "express": (gettext_lazy("Express (next day)"), "12.90"),
        },
    )
    return {code: ShippingOption(code, label, Decimal(cost)) for code, (label, cost) in raw.items()}


def backorder_price(unit_price: Decimal, discount_percent: Decimal | None) -> Decimal:
    if not discount_percent:
        return unit_price
    return (unit_price * (Decimal(100) - discount_percent) / Decimal(100)).quantize(
        CENT, rounding=ROUND_HALF_UP
    )


# --- quotes: what the customer sees before paying ---------------------------------------


@dataclass
class QuoteLine:
    variant: Variant
    quantity: int
    ship_now: int
    backorder: int
    expected_date: date | None  # the confident end of the range (docs/dates.md)
    unit_price: Decimal
    backorder_unit_price: Decimal
    discount_percent: Decimal
    total: Decimal
    message: str = ""
    availability: Availability | None = field(default=None, repr=False)  # what the split was made from
    expected_earliest: date | None = None  # the earliest end of the range
    tax_class: str = "standard"  # the product's
    tax_rate: Decimal = Decimal("0")  # the VAT percent charged (0: none due, or no destination yet)


@dataclass(frozen=True)
class TaxDestination:
    """Where the goods go and who buys them, for VAT: the delivery country (ISO code) and the
    buyer's VAT number as typed ("" for a consumer)."""

    country: str
    vat_number: str = ""


@dataclass
class Quote:
    lines: list[QuoteLine]
    subtotal: Decimal
    discount_total: Decimal
    shipping_cost: Decimal
    total: Decimal
    problems: list[str] = field(default_factory=list)
    # VAT, for a quote made for a destination ("" / empty without one).
    country: str = ""
    vat_number: str = ""  # normalized
    treatment: str = ""  # tax.rules.TaxTreatment
    vat_groups: list[VatGroup] = field(default_factory=list)  # the VAT included, per rate
    # How a shipping cost from the catalog becomes what is charged for it (`quote_shipping`):
    # the goods' catalog amounts by the rate that converts them.
    shipping_basis: dict[Decimal, Decimal] = field(default_factory=dict, repr=False)

    @property
    def has_backorders(self) -> bool:
        return any(line.backorder for line in self.lines)

    @property
    def reverse_charge(self) -> bool:
        return self.treatment == TaxTreatment.REVERSE_CHARGE

    @property
    def export(self) -> bool:
        return self.treatment == TaxTreatment.EXPORT

    @property
    def vat_total(self) -> Decimal:
        return sum((group.vat for group in self.vat_groups), Decimal("0"))


@dataclass(frozen=True)
class _Pricing:
    """How catalog amounts become charged ones for one destination on one day (`tax.rules`)."""

    treatment: str
    include_vat: bool  # settings.SHOP_PRICES_INCLUDE_VAT
    export_net: bool  # an export pays the price less the home country's VAT (SHOP_EXPORT_PRICES_NET)

    @classmethod
    def of(cls, treatment: str) -> "_Pricing":
        include_vat = getattr(settings, "SHOP_PRICES_INCLUDE_VAT", True)
        export_net = include_vat and getattr(settings, "SHOP_EXPORT_PRICES_NET", False)
        return cls(treatment, include_vat, treatment == TaxTreatment.EXPORT and export_net)

    def charged(self, amount: Decimal, rate: Decimal) -> Decimal:
        """A catalog amount converted at `rate` (`rates`' second answer)."""
        if self.treatment == TaxTreatment.EXPORT and not self.export_net:
            return amount  # the price as shown; no VAT is charged (docs/tax.md)
        vat_due = TaxTreatment.VAT if self.treatment == TaxTreatment.VAT else TaxTreatment.EXPORT
        return amount_charged(
            catalog_amount=amount, rate=rate, treatment=vat_due, prices_include_vat=self.include_vat
        )


def _rates(pricing: _Pricing, table: TaxRateTable, *, country: str, tax_class: str, on: date):
    """(the VAT percent due, the percent that converts the catalog amount) for a product's class."""
    if pricing.treatment == TaxTreatment.EXPORT:
        if pricing.export_net:
            return ZERO, table.rate(country=tax_country(), tax_class=tax_class, on=on)
        return ZERO, ZERO
    rate = table.rate(country=country, tax_class=tax_class, on=on)
    return (rate if pricing.treatment == TaxTreatment.VAT else ZERO), rate


def quote_shipping(quote: Quote, cost: Decimal) -> Decimal:
    """What a delivery option of catalog price `cost` is charged with this quote's goods: split over
    the goods' rates like them (`tax.rules.shipping_split`), each share converted as the goods are.
    The cost as it is without a destination, without goods, or when nothing converts."""
    if not quote.shipping_basis:
        return cost
    pricing = _Pricing.of(quote.treatment)
    shares = shipping_split(shipping_gross=cost, goods_by_rate=quote.shipping_basis)
    return sum((pricing.charged(share, rate) for rate, share in shares.items()), ZERO)


def order_quote(
    *,
    items: list[tuple[int, int]],
    shipping_method: str = "standard",
    variants: dict[int, Variant] | None = None,
    destination: TaxDestination | None = None,
) -> Quote:
    """Price a list of (variant id, quantity) from the database, never from the client.

    Constant number of queries: the variants with their products (unless the
    caller just read them: `variants`, by id), one availability call, and with a
    `destination` one read of the VAT rates (`tax.selectors.tax_rate_table_load`; none for an export
    charged at the catalog price, which no rate converts).
    Lines that cannot be ordered as asked are kept with a message in `problems`;
    `order_place` refuses a quote with problems. An EU destination without a rate
    in force today is a problem too (staff must add the rate; nothing is guessed).
    """
    if variants is None:
        variants = Variant.objects.select_related("product").in_bulk([vid for vid, _ in items])
    availability = availability_for_variants(variant_ids=[vid for vid, _ in items])
    country = (destination.country or "").upper() if destination else ""
    pricing = _Pricing.of(
        tax_treatment(country=country, vat_number=destination.vat_number) if destination else ""
    )
    if destination is None:
        table = None
    elif pricing.treatment == TaxTreatment.EXPORT and not pricing.export_net:
        table = TaxRateTable()  # an export at the price as shown: no rate is asked (`_rates`), none read
    else:
        table = tax_rate_table_load(countries=[country, tax_country()])
    on = timezone.localdate()
    lines, problems = [], []
    goods_due: dict[Decimal, Decimal] = {}  # charged goods by the rate due: the VAT shown
    basis: dict[Decimal, Decimal] = {}  # catalog goods by converting rate: the shipping's conversion
    for variant_id, quantity in items:
        variant = variants.get(variant_id)
        if variant is None or not variant.is_active or not variant.product.is_active:
            problems.append(_("An item in your cart is no longer sold."))
            continue
        a = availability[variant_id]
        message = ""
        if not 1 <= quantity <= MAX_LINE_QUANTITY:
            message = _("Choose a quantity between 1 and %(max)s.") % {"max": MAX_LINE_QUANTITY}
            now, later = 0, 0
        else:
            try:
                now, later = a.split(quantity)
            except ValueError:
                now, later = 0, 0
                message = (
                    _("Only %(count)s of %(item)s can be ordered.")
                    % {"count": a.max_orderable, "item": variant}
                    if a.max_orderable
                    else _("%(item)s is %(availability)s.")
                    % {"item": variant, "availability": AvailabilityStatus.IN_A_SENTENCE[a.status]}
                )
        if message:
            problems.append(message)
        tax_class = variant.product.tax_class
        rate_due, rate_converting, unit_price = ZERO, ZERO, variant.price
        if table is not None:
            try:
                rate_due, rate_converting = _rates(
                    pricing, table, country=country, tax_class=tax_class, on=on
                )
            except TaxRateMissing as missing:
                logger.error("checkout refused: %s", missing)
                problems.append(
                    _(
                        "Sorry, we cannot take orders for delivery to %(country)s right now. Please contact us."
                    )
                    % {"country": country}
                )
                table = None  # one message; the quote cannot be placed
            else:
                unit_price = pricing.charged(variant.price, rate_converting)
        discount = a.discount_percent or Decimal("0") if later else Decimal("0")
        bo_price = backorder_price(unit_price, discount)
        span = a.backorder_range(later)
        line = QuoteLine(
            variant=variant,
            quantity=quantity,
            ship_now=now,
            backorder=later,
            expected_date=span.confident if span else None,
            expected_earliest=span.earliest if span else None,
            unit_price=unit_price,
            backorder_unit_price=bo_price,
            discount_percent=discount,
            total=unit_price * now + bo_price * later,
            message=message,
            availability=a,
            tax_class=tax_class,
            tax_rate=rate_due,
        )
        lines.append(line)
        goods_due[rate_due] = goods_due.get(rate_due, ZERO) + line.total
        catalog = variant.price * now + backorder_price(variant.price, discount) * later
        basis[rate_converting] = basis.get(rate_converting, ZERO) + catalog
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    total_goods = sum((line.total for line in lines), Decimal("0"))
    option = shipping_options().get(shipping_method)
    quote = Quote(
        lines=lines,
        subtotal=subtotal,
        discount_total=subtotal - total_goods,
        shipping_cost=ZERO,
        total=ZERO,
        problems=problems,
    )
    if destination is not None and table is not None:
        quote.country, quote.treatment = country, pricing.treatment
        quote.vat_number = vat_number_normalize(destination.vat_number)
        if lines and (pricing.treatment != TaxTreatment.EXPORT or pricing.export_net):
            quote.shipping_basis = basis
    quote.shipping_cost = quote_shipping(quote, option.cost if option else ZERO)
    quote.total = total_goods + quote.shipping_cost
    if quote.treatment == TaxTreatment.VAT and lines:
        groups = vat_breakdown(goods_by_rate=goods_due, shipping_gross=quote.shipping_cost)
        quote.vat_groups = [group for group in groups if group.rate]
    return quote
