"""The 27 EU member states' VAT rates for the shop's three tax classes, from 1 January 2026.

Standard: the country's standard rate. Reduced: the reduced rate most food and books take (a
country with several reduced rates has the others named in the note; Denmark has none, so its
"reduced" row is the standard 25 %). Zero: 0 % everywhere.

These are the rates as the shop's authors knew them when writing this migration; staff must check
every row against the EU's TEDB (Taxes in Europe Database) before going live and keep the table up
to date in the admin (docs/tax.md). Reversing the migration deletes exactly the rows it wrote.
"""

import datetime
from decimal import Decimal

from django.db import migrations

START = datetime.date(2026, 1, 1)
NOTE = "Seeded for 1 January 2026: check against the EU's TEDB before going live."

# country: (standard, reduced, other reduced rates for the note)
RATES = {
    "AT": ("20", "10", "13"),
    "BE": ("21", "6", "12"),
    "BG": ("20", "9", ""),
    "HR": ("25", "5", "13"),
    "CY": ("19", "5", "9"),
    "CZ": ("21", "12", ""),
    "DK": ("25", "25", "no reduced rate"),
    "EE": ("24", "9", "13"),
    "FI": ("25.5", "14", "10"),
    "FR": ("20", "5.5", "10, 2.1"),
    "DE": ("19", "7", ""),
    "GR": ("24", "13", "6"),
    "HU": ("27", "5", "18"),
    "IE": ("23", "13.5", "9, 4.8"),
    "IT": ("22", "10", "5, 4"),
    "LV": ("21", "12", "5"),
    "LT": ("21", "9", "5"),
    "LU": ("17", "8", "14, 3"),
    "MT": ("18", "5", "7"),
    "NL": ("21", "9", ""),
    "PL": ("23", "8", "5"),
    "PT": ("23", "6", "13"),
    "RO": ("21", "11", ""),
    "SK": ("23", "19", "5"),
    "SI": ("22", "9.5", "5"),
    "ES": ("21", "10", "4"),
    "SE": ("25", "12", "6"),
}


def rows():
    for country, (standard, reduced, others) in RATES.items():
        reduced_note = f"{NOTE} Other reduced rates: {others}." if others else NOTE
        yield country, "standard", Decimal(standard), NOTE
        yield country, "reduced", Decimal(reduced), reduced_note
        yield country, "zero", Decimal("0"), NOTE


def seed(apps, schema_editor):
    TaxRate = apps.get_model("tax", "TaxRate")
    using = schema_editor.connection.alias
    TaxRate.objects.using(using).bulk_create(
        [
            TaxRate(country=c, tax_class=k, rate=r, valid_from=START, note=n[:200])
            for c, k, r, n in rows()
            if not TaxRate.objects.using(using).filter(country=c, tax_class=k, valid_from=START).exists()
        ]
    )


def unseed(apps, schema_editor):
    TaxRate = apps.get_model("tax", "TaxRate")
    using = schema_editor.connection.alias
    for country, tax_class, rate, _note in rows():
        TaxRate.objects.using(using).filter(
            country=country, tax_class=tax_class, rate=rate, valid_from=START, note__startswith="Seeded"
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("tax", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
