"""The arithmetic of a document: lines grouped per VAT rate, the VAT of each group (tax.rules), an
amount split over rates in proportion. Pure functions over Decimals; JSON keeps them as strings."""

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from tax.rules import shipping_split, vat_split

CENT = Decimal("0.01")
ZERO = Decimal("0")


def amount_str(amount: Decimal) -> str:
    """A money amount as the documents store it: "12.30"."""
    return str(Decimal(amount).quantize(CENT))


def rate_str(rate: Decimal) -> str:
    """A VAT percent as the documents store it: "19.00"."""
    return str(Decimal(rate).quantize(CENT))


def totals_per_rate(lines: Iterable[dict]) -> list[dict]:
    """[{rate, net, vat, gross}] per rate of `lines` (highest rate first): the gross of each rate's
    lines added up, then split once (`tax.rules.vat_split`), so VAT is rounded per rate, not per line."""
    gross_by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        gross_by_rate[Decimal(line["rate"])] += Decimal(line["gross"])
    totals = []
    for rate in sorted(gross_by_rate, reverse=True):
        net, vat = vat_split(gross=gross_by_rate[rate], rate=rate)
        totals.append(
            {
                "rate": rate_str(rate),
                "net": amount_str(net),
                "vat": amount_str(vat),
                "gross": amount_str(gross_by_rate[rate]),
            }
        )
    return totals


def amount_split(*, amount: Decimal, weights: dict[Decimal, Decimal]) -> dict[Decimal, Decimal]:
    """`amount` split over the rates of `weights` (rate -> an amount) in proportion, to the cent, the
    shares adding up to `amount` exactly: the rule that splits shipping (`tax.rules.shipping_split`),
    used for any amount that follows goods (a prepayment, a refund). Zero shares are dropped."""
    shares = shipping_split(shipping_gross=amount, goods_by_rate=weights)
    return {rate: share for rate, share in shares.items() if share}
