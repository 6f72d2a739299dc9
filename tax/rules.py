"""The VAT rules of the shop (docs/tax.md): which rate, how a gross amount splits, who pays none.

Pure functions over Decimals, except `vat_rate`, which reads the rates table (one query; for many
lines load the table once with `tax.selectors.tax_rate_table_load`). Money is exact: amounts are
Decimals in euros, rounded half up to the cent only where a rule says so.

- The rate is the destination country's (one-stop shop, OSS) for an EU country, 0 for an export.
- A business buyer with a valid VAT number of another EU country than `SHOP_TAX_COUNTRY`, shipping
  to that country, pays no VAT: the buyer accounts for it (reverse charge).
- VAT in a gross amount at one rate: vat = round_half_up(gross * rate / (100 + rate)), net = gross - vat.
- Shipping is taxed like the goods it carries: split over their rates in proportion to their gross.

VAT numbers are checked offline (python-stdnum: country format and check digits). Whether a number
is registered is VIES's answer, an outside service the shop does not call (docs/tax.md).
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError
from stdnum.util import clean

from .selectors import EU_COUNTRIES, TaxRateMissing, is_eu, tax_rate_table_load

__all__ = [
    "EU_COUNTRIES",
    "TaxRateMissing",
    "TaxTreatment",
    "VatGroup",
    "amount_charged",
    "is_eu",
    "reverse_charge_applies",
    "shipping_split",
    "tax_country",
    "tax_treatment",
    "vat_add",
    "vat_breakdown",
    "vat_number_check",
    "vat_number_country",
    "vat_number_normalize",
    "vat_rate",
    "vat_split",
]

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")

# A VAT number starts with its country's code, but Greece's is EL (not GR).
_VAT_PREFIX_COUNTRY = {"EL": "GR"}


class TaxTreatment(models.TextChoices):
    """How an order is taxed, from its destination and VAT number (`tax_treatment`)."""

    VAT = "vat", "VAT of the destination country"
    REVERSE_CHARGE = "reverse_charge", "Reverse charge (B2B, another EU country)"
    EXPORT = "export", "Export outside the EU"


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def tax_country() -> str:
    """The shop's own VAT country (settings.SHOP_TAX_COUNTRY, default DE)."""
    return getattr(settings, "SHOP_TAX_COUNTRY", "DE").upper()


# --- rates ---------------------------------------------------------------------------------------


def vat_rate(*, country: str, tax_class: str, on: date) -> Decimal:
    """The VAT percent for goods of `tax_class` delivered to `country` on `on`.

    An EU country: the row of the rates table in force that day (`TaxRateMissing` if there is none:
    staff must add it, the shop never guesses). Outside the EU: 0 (an export). One query for an EU
    country, none otherwise; for many lines use `tax.selectors.tax_rate_table_load` once."""
    if not is_eu(country):
        return ZERO
    return tax_rate_table_load(countries=[country]).rate(country=country, tax_class=tax_class, on=on)


# --- amounts -------------------------------------------------------------------------------------


def vat_split(*, gross: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(net, vat) of a gross amount at `rate` percent: vat = round_half_up(gross * rate / (100 + rate))
    to the cent, net = gross - vat, so net + vat is always the gross. Applied to a group of lines at
    one rate (an invoice's, a quote's), not per unit. Negative amounts (credit notes) round
    symmetrically: vat_split(-x) == -vat_split(x)."""
    gross, rate = Decimal(gross), Decimal(rate)
    if not rate:
        return gross, ZERO
    vat = _cents(gross * rate / (HUNDRED + rate))
    return gross - vat, vat


def vat_add(*, net: Decimal, rate: Decimal) -> Decimal:
    """The VAT on a net amount at `rate` percent, half up to the cent (net-price mode)."""
    return _cents(Decimal(net) * Decimal(rate) / HUNDRED)


def shipping_split(
    *, shipping_gross: Decimal, goods_by_rate: dict[Decimal, Decimal]
) -> dict[Decimal, Decimal]:
    """Split a shipping amount over the VAT rates of the goods it carries, in proportion to the
    goods' amount at each rate (`goods_by_rate`: rate percent -> amount). Each share is rounded half
    up to the cent; the rounding remainder goes to the largest share (ties: the higher rate), so the
    shares always add up to `shipping_gross` exactly. Rates whose goods amount to 0 get 0.

    All the goods at 0 (free items only): the whole shipping is taxed at the highest of their rates,
    the choice that never declares too little VAT. No goods at all: ValueError (shipping alone has no
    rate to follow; the caller decides). Works the same for net amounts and for negative ones."""
    shipping_gross = Decimal(shipping_gross)
    if not goods_by_rate:
        raise ValueError("shipping_split needs the goods the shipping carries")
    rates = sorted((Decimal(r) for r in goods_by_rate), reverse=True)
    total = sum((Decimal(goods_by_rate[r]) for r in goods_by_rate), ZERO)
    if not total:
        return {rate: (shipping_gross if i == 0 else ZERO) for i, rate in enumerate(rates)}
    shares = {rate: _cents(shipping_gross * Decimal(goods_by_rate[rate]) / total) for rate in rates}
    remainder = shipping_gross - sum(shares.values(), ZERO)
    if remainder:
        largest = max(rates, key=lambda r: (abs(shares[r]), r))
        shares[largest] += remainder
    return shares


@dataclass(frozen=True)
class VatGroup:
    """The amounts at one rate: goods and their share of the shipping, gross, and how it splits."""

    rate: Decimal
    goods: Decimal
    shipping: Decimal
    gross: Decimal
    net: Decimal
    vat: Decimal


def vat_breakdown(*, goods_by_rate: dict[Decimal, Decimal], shipping_gross: Decimal) -> list[VatGroup]:
    """The VAT in an amount paid: per rate (highest first), the goods' gross at that rate plus its
    share of the shipping (`shipping_split`), split by `vat_split` once per rate. The groups' gross
    adds up to the goods plus the shipping exactly. No goods: no groups."""
    if not goods_by_rate:
        return []
    shares = shipping_split(shipping_gross=shipping_gross, goods_by_rate=goods_by_rate)
    groups = []
    for rate in sorted(goods_by_rate, reverse=True):
        goods, shipping = Decimal(goods_by_rate[rate]), shares[Decimal(rate)]
        net, vat = vat_split(gross=goods + shipping, rate=rate)
        groups.append(VatGroup(Decimal(rate), goods, shipping, goods + shipping, net, vat))
    return groups


def amount_charged(
    *, catalog_amount: Decimal, rate: Decimal, treatment: str, prices_include_vat: bool
) -> Decimal:
    """What the customer pays for an amount from the catalog (a unit price, a shipping share).

    `rate`: the VAT percent that applies (the destination's), except for an export in gross mode,
    where it is the shop's own country's rate (the one the catalog's gross prices include).
    Prices including VAT (the default): the gross as entered, or, when no VAT is due (reverse
    charge, export), the gross minus the VAT it includes. Net prices: the net plus the VAT due, or
    the net alone when none is due. Rounded to the cent, per amount (per unit for a price)."""
    catalog_amount = Decimal(catalog_amount)
    vat_due = treatment == TaxTreatment.VAT
    if prices_include_vat:
        return catalog_amount if vat_due else vat_split(gross=catalog_amount, rate=rate)[0]
    return catalog_amount + vat_add(net=catalog_amount, rate=rate) if vat_due else catalog_amount


# --- business buyers ------------------------------------------------------------------------------


def vat_number_normalize(number: str) -> str:
    """A VAT number without spaces, dots or dashes, upper case ("de 136.695.976" -> "DE136695976")."""
    return clean(number or "", " -./,").upper().strip()


def vat_number_country(number: str) -> str:
    """The ISO country of a VAT number's prefix ("EL..." is Greece: GR); "" if it has none."""
    prefix = vat_number_normalize(number)[:2]
    if not (len(prefix) == 2 and prefix.isalpha()):
        return ""
    return _VAT_PREFIX_COUNTRY.get(prefix, prefix)


def vat_number_check(number: str) -> tuple[bool, str]:
    """(ok, message) for a VAT number as a customer typed it: an EU member state's prefix, then that
    country's format and check digits (python-stdnum, offline). `message` says what is wrong, for
    the form; "" when ok. It does not tell whether the number is registered (VIES, not called)."""
    compact = vat_number_normalize(number)
    if not compact:
        return False, _("Enter a VAT number.")
    country = vat_number_country(compact)
    if not country or country not in EU_COUNTRIES:
        return False, _(
            "Enter an EU VAT number starting with its country code, e.g. DE123456789 (EL for Greece)."
        )
    try:
        eu_vat.validate(compact)
    except InvalidChecksum:
        return False, _("This VAT number's check digits are wrong: please check it for a typing error.")
    except (InvalidLength, InvalidFormat, InvalidComponent):
        return False, _("This is not a valid VAT number for %(country)s: please check it.") % {
            "country": country
        }
    except ValidationError:
        return False, _("This is not a valid VAT number: please check it.")
    return True, ""


def reverse_charge_applies(*, country: str, vat_number: str) -> bool:
    """True when a sale to `country` with `vat_number` pays no VAT under the reverse charge: the
    number is valid (`vat_number_check`), of an EU country other than the shop's own
    (`SHOP_TAX_COUNTRY`), and the goods go to that same country."""
    country = (country or "").upper()
    if not vat_number or not is_eu(country) or country == tax_country():
        return False
    ok, _message = vat_number_check(vat_number)
    return ok and vat_number_country(vat_number) == country


def tax_treatment(*, country: str, vat_number: str = "") -> str:
    """The order's `TaxTreatment`: EXPORT outside the EU, REVERSE_CHARGE for a qualifying business
    buyer (`reverse_charge_applies`), else VAT at the destination's rate."""
    if not is_eu(country):
        return TaxTreatment.EXPORT
    if reverse_charge_applies(country=country, vat_number=vat_number):
        return TaxTreatment.REVERSE_CHARGE
    return TaxTreatment.VAT
