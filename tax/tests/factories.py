"""factory_boy factories for the VAT rates table."""

import datetime
import importlib
from decimal import Decimal

import factory

from tax.models import TaxClass, TaxRate


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate

    country = "DE"
    tax_class = TaxClass.STANDARD
    rate = Decimal("19.00")
    valid_from = datetime.date(2020, 1, 1)
    valid_until = None


def rates_replace(rows: list[tuple[str, str, str, datetime.date, datetime.date | None]]) -> list[TaxRate]:
    """Empty the rates table (the seed migration's rows too) and write these (country, class, rate,
    valid_from, valid_until) rows: a test states every rate it relies on."""
    TaxRate.objects.all().delete()
    return [
        TaxRateFactory(country=c, tax_class=k, rate=Decimal(r), valid_from=f, valid_until=u)
        for c, k, r, f, u in rows
    ]


def rates_seed() -> int:
    """Write the rates of the seed migration (tax/migrations/0002) again if the table is empty: a
    transactional test's flush removes what migrations wrote. Returns how many rows were written."""
    if TaxRate.objects.exists():
        return 0
    seed = importlib.import_module("tax.migrations.0002_eu_rates_2026")
    rows = [
        TaxRate(country=c, tax_class=k, rate=r, valid_from=seed.START, note=n[:200])
        for c, k, r, n in seed.rows()
    ]
    return len(TaxRate.objects.bulk_create(rows))
