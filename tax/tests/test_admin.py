"""The VAT rates admin: the seeded table, the list with its "in force today" column and filters, and
the form that refuses overlapping periods."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tax.models import TaxClass, TaxRate
from tax.rules import vat_rate
from tax.selectors import EU_COUNTRIES

from .factories import TaxRateFactory

D = Decimal
START = datetime.date(2026, 1, 1)
ADD = "admin:tax_taxrate_add"


def test_the_seed_migration_has_three_rows_for_each_of_the_27_countries(db):
    seeded = TaxRate.objects.filter(valid_from=START, valid_until=None)
    assert seeded.count() == 81
    assert set(seeded.values_list("country", flat=True)) == EU_COUNTRIES
    assert set(seeded.filter(tax_class=TaxClass.ZERO).values_list("rate", flat=True)) == {D("0")}
    assert all(
        row.note.startswith("Seeded for 1 January 2026: check against the EU's TEDB") for row in seeded
    )
    on = datetime.date(2026, 3, 1)
    assert vat_rate(country="DE", tax_class=TaxClass.STANDARD, on=on) == D("19.00")
    assert vat_rate(country="DE", tax_class=TaxClass.REDUCED, on=on) == D("7.00")
    assert vat_rate(country="FR", tax_class=TaxClass.STANDARD, on=on) == D("20.00")
    assert vat_rate(country="FR", tax_class=TaxClass.REDUCED, on=on) == D("5.50")
    assert vat_rate(country="FI", tax_class=TaxClass.STANDARD, on=on) == D("25.50")


def _post(client, **overrides):
    data = {"country": "DE", "tax_class": "standard", "rate": "20.00", "valid_from": "2027-01-01", "note": ""}
    data.update(overrides)
    data.setdefault("valid_until", "")
    return client.post(reverse(ADD), data)


def test_an_overlapping_period_is_refused_with_the_row_it_overlaps(admin_client):
    """Given DE standard 19 % from 1 January 2026 with no end (seeded): a new rate from 2027 is
    refused until the old row ends; nothing is written."""
    before = TaxRate.objects.count()
    response = _post(admin_client)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        "This period overlaps the DE standard rate of 19.00 % from 1 January 2026 with no end date. Only one "
        "rate may apply on a day: give that row a last day before this one starts (or change these dates) "
        "first."
    ]
    assert TaxRate.objects.count() == before


def test_a_rate_change_is_entered_by_ending_the_old_row_then_adding_the_new(admin_client):
    old = TaxRate.objects.get(country="DE", tax_class="standard", valid_from=START)
    change = reverse("admin:tax_taxrate_change", args=[old.pk])
    response = admin_client.post(
        change,
        {"country": "DE", "tax_class": "standard", "rate": "19.00", "valid_from": "2026-01-01",
         "valid_until": "2026-12-31", "note": old.note},
    )  # fmt: skip
    assert response.status_code == 302
    assert _post(admin_client, country="de").status_code == 302
    assert vat_rate(country="DE", tax_class=TaxClass.STANDARD, on=datetime.date(2026, 12, 31)) == D("19.00")
    assert vat_rate(country="DE", tax_class=TaxClass.STANDARD, on=datetime.date(2027, 1, 1)) == D("20.00")
    assert TaxRate.objects.get(valid_from=datetime.date(2027, 1, 1)).country == "DE"  # upper-cased


@pytest.mark.parametrize(
    "start,end,overlaps",
    [
        ("2025-01-01", "2025-12-31", False),  # ends the day before the seeded row starts
        ("2025-01-01", "2026-01-01", True),  # one day in common
        ("2025-06-01", "", True),  # open end runs into it
    ],
)
def test_periods_before_an_open_row(admin_client, start, end, overlaps):
    response = _post(admin_client, valid_from=start, valid_until=end)
    assert (response.status_code == 200) is overlaps
    assert TaxRate.objects.filter(country="DE", tax_class="standard").count() == (1 if overlaps else 2)


def test_a_country_outside_the_eu_and_an_end_before_the_start_are_refused(admin_client):
    response = _post(admin_client, country="CH", valid_from="2030-01-01")
    assert response.context["adminform"].form.errors["country"] == [
        "Enter the two-letter code of an EU member state (e.g. DE, FR; Greece is GR). Deliveries outside "
        "the EU are exports at 0 % and need no row."
    ]
    response = _post(admin_client, tax_class="reduced", valid_from="2030-01-01", valid_until="2029-12-31")
    assert response.context["adminform"].form.errors["valid_until"] == [
        "The last day cannot be before the first day."
    ]
    assert not TaxRate.objects.filter(valid_from__year__in=[2029, 2030]).exists()


def test_the_list_shows_which_rows_are_in_force_today_in_few_queries(
    admin_client, django_assert_max_num_queries
):
    today = timezone.localdate()
    TaxRate.objects.filter(country="DE", tax_class="standard").update(
        valid_until=today - datetime.timedelta(days=1)
    )
    TaxRateFactory(country="DE", rate=D("21"), valid_from=today)
    url = reverse("admin:tax_taxrate_changelist")
    with django_assert_max_num_queries(8):
        response = admin_client.get(url, {"today": "no", "country": "DE"})
    assert [(r.rate, r.valid_from) for r in response.context["cl"].result_list] == [(D("19.00"), START)]
    response = admin_client.get(url, {"today": "yes", "country": "DE"})
    rows = response.context["cl"].result_list
    assert [(r.tax_class, r.rate) for r in rows] == [
        ("reduced", D("7.00")),
        ("standard", D("21.00")),
        ("zero", D("0.00")),
    ]
    assert b'alt="True"' in response.content
