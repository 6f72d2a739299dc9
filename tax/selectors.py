"""Reading the VAT rates table: once for many lines, never a query per line.

`tax_rate_table_load` reads every row of the countries asked for (all their dates) in one query;
the table then answers `rate(country=..., tax_class=..., on=...)` for as many lines and dates as
the caller has (an order's lines at placement, a shipment's lines at its tax point, a
reconciliation over many orders). `tax.rules.vat_rate` is the one-line form of the same answer.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .models import TaxClass, TaxRate

ZERO = Decimal("0")

# The 27 member states of the European Union (ISO 3166-1 alpha-2). Northern Ireland's "XI" (EU VAT
# rules for goods) is out of scope: the shop's country list has no XI, and GB is an export.
EU_COUNTRIES = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    }
)  # fmt: skip


class TaxRateMissing(Exception):
    """An EU country has no VAT rate row in force for a tax class on a day: staff must add one
    (admin, VAT rates). Never guessed: selling at a wrong rate is worse than refusing the sale."""

    def __init__(self, *, country: str, tax_class: str, on: date):
        self.country, self.tax_class, self.on = country, tax_class, on
        super().__init__(
            f"No VAT rate for {country} ({tax_class}) on {on.isoformat()}: add one in the admin under "
            "VAT rates (docs/tax.md)."
        )


def is_eu(country: str) -> bool:
    """True for the 27 EU member states (ISO code, any case). Not for XI (Northern Ireland: out of
    scope), nor for EEA or EFTA countries (IS, LI, NO, CH): those are exports."""
    return (country or "").upper() in EU_COUNTRIES


@dataclass(frozen=True)
class TaxRateTable:
    """The rows of some countries, by (country, tax class), newest first."""

    rows: dict[tuple[str, str], list[TaxRate]] = field(default_factory=dict)
    countries: frozenset[str] = frozenset()

    def rate(self, *, country: str, tax_class: str, on: date) -> Decimal:
        """The percent in force for `country` and `tax_class` on `on`.

        A country outside the EU: 0 (an export, no EU VAT is due). An EU country with no row in force
        that day: `TaxRateMissing`. Asking for a country the table was not loaded for is a
        programming error (ValueError), not a missing rate."""
        country = (country or "").upper()
        if not is_eu(country):
            return ZERO
        if country not in self.countries:
            raise ValueError(f"the rates of {country} were not loaded")
        for row in self.rows.get((country, tax_class), ()):
            if row.valid_from <= on and (row.valid_until is None or on <= row.valid_until):
                return row.rate
        raise TaxRateMissing(country=country, tax_class=tax_class, on=on)

    def rates_on(self, *, country: str, on: date) -> dict[str, Decimal]:
        """Every tax class's rate for `country` on `on` (raises `TaxRateMissing` like `rate`)."""
        return {
            tax_class: self.rate(country=country, tax_class=tax_class, on=on) for tax_class in TaxClass.values
        }


def tax_rate_table_load(*, countries: Iterable[str]) -> TaxRateTable:
    """The rates of `countries` (all classes and dates) in one query; none for no EU country."""
    wanted = frozenset(c.upper() for c in countries if is_eu(c))
    rows: dict[tuple[str, str], list[TaxRate]] = {}
    if wanted:
        for row in TaxRate.objects.filter(country__in=sorted(wanted)).order_by("-valid_from", "pk"):
            rows.setdefault((row.country, row.tax_class), []).append(row)
    return TaxRateTable(rows=rows, countries=wanted)
