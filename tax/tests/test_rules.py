"""tax.rules: the rate for a day, the split of a gross amount, shipping over the goods' rates, VAT
numbers and the reverse charge, what a customer is charged."""

import datetime
from decimal import Decimal

import pytest

from tax.models import TaxClass
from tax.rules import (
    TaxRateMissing,
    TaxTreatment,
    VatGroup,
    amount_charged,
    is_eu,
    reverse_charge_applies,
    shipping_split,
    tax_treatment,
    vat_add,
    vat_breakdown,
    vat_number_check,
    vat_number_country,
    vat_rate,
    vat_split,
)
from tax.selectors import tax_rate_table_load

from .factories import rates_replace

D = Decimal
JAN_1 = datetime.date(2026, 1, 1)
JUL_1 = datetime.date(2026, 7, 1)

# Valid numbers (format and check digits) from public sources of test numbers.
DE_NUMBER = "DE136695976"
FR_NUMBER = "FR40303265045"
AT_NUMBER = "ATU13585627"


@pytest.fixture
def rates(db):
    """DE 19 % / 7 % / 0 %; FR 20 % / 5.5 % / 0 %; FR's standard rate 21 % from 1 July 2026."""
    return rates_replace(
        [
            ("DE", TaxClass.STANDARD, "19", JAN_1, None),
            ("DE", TaxClass.REDUCED, "7", JAN_1, None),
            ("DE", TaxClass.ZERO, "0", JAN_1, None),
            ("FR", TaxClass.STANDARD, "20", JAN_1, datetime.date(2026, 6, 30)),
            ("FR", TaxClass.STANDARD, "21", JUL_1, None),
            ("FR", TaxClass.REDUCED, "5.5", JAN_1, None),
            ("FR", TaxClass.ZERO, "0", JAN_1, None),
        ]
    )


# --- vat_rate -------------------------------------------------------------------------------------


def test_vat_rate_standard_reduced_zero_of_two_countries(rates, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert vat_rate(country="DE", tax_class=TaxClass.STANDARD, on=JAN_1) == D("19.00")
    assert vat_rate(country="de", tax_class=TaxClass.REDUCED, on=JAN_1) == D("7.00")
    assert vat_rate(country="DE", tax_class=TaxClass.ZERO, on=JAN_1) == D("0.00")
    assert vat_rate(country="FR", tax_class=TaxClass.STANDARD, on=JAN_1) == D("20.00")
    assert vat_rate(country="FR", tax_class=TaxClass.REDUCED, on=JAN_1) == D("5.50")


def test_vat_rate_is_the_row_in_force_that_day(rates):
    """Given FR standard 20 % until 30 June and 21 % from 1 July: each day gets its row."""
    assert vat_rate(country="FR", tax_class=TaxClass.STANDARD, on=datetime.date(2026, 6, 30)) == D("20.00")
    assert vat_rate(country="FR", tax_class=TaxClass.STANDARD, on=JUL_1) == D("21.00")


def test_an_eu_country_without_a_row_that_day_is_an_error_staff_must_fix(rates):
    with pytest.raises(TaxRateMissing) as missing:
        vat_rate(country="IT", tax_class=TaxClass.STANDARD, on=JAN_1)
    assert str(missing.value) == (
        "No VAT rate for IT (standard) on 2026-01-01: add one in the admin under VAT rates (docs/tax.md)."
    )
    with pytest.raises(TaxRateMissing):  # before the first row of DE
        vat_rate(country="DE", tax_class=TaxClass.STANDARD, on=datetime.date(2025, 12, 31))


def test_outside_the_eu_the_rate_is_zero_without_a_query(rates, django_assert_num_queries):
    with django_assert_num_queries(0):
        for country in ("CH", "NO", "GB", "IS", "LI", "XI", "US"):
            assert vat_rate(country=country, tax_class=TaxClass.STANDARD, on=JAN_1) == D("0")


def test_the_table_answers_many_lines_and_dates_from_one_query(rates, django_assert_num_queries):
    with django_assert_num_queries(1):
        table = tax_rate_table_load(countries=["DE", "FR", "CH"])
    with django_assert_num_queries(0):
        assert table.rates_on(country="FR", on=JUL_1) == {
            TaxClass.STANDARD: D("21.00"),
            TaxClass.REDUCED: D("5.50"),
            TaxClass.ZERO: D("0.00"),
        }
        assert table.rate(country="DE", tax_class=TaxClass.REDUCED, on=JUL_1) == D("7.00")
        assert table.rate(country="CH", tax_class=TaxClass.STANDARD, on=JUL_1) == D("0")
    with pytest.raises(ValueError):  # not loaded: a bug in the caller, not a missing rate
        table.rate(country="IT", tax_class=TaxClass.STANDARD, on=JUL_1)


def test_is_eu_is_the_27_member_states():
    assert all(is_eu(c) for c in ("DE", "FR", "at", "GR", "HR", "CY", "MT", "SE", "IE"))
    assert not any(is_eu(c) for c in ("CH", "NO", "IS", "LI", "GB", "XI", "EL", "", "US"))


# --- vat_split, vat_add ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gross,rate,net,vat",
    [
        ("19.99", "19", "16.80", "3.19"),  # 3.1917 -> 3.19
        ("10.00", "7", "9.35", "0.65"),  # 0.6542 -> 0.65
        ("5.00", "5.5", "4.74", "0.26"),  # 0.2607 -> 0.26
        ("120.00", "20", "100.00", "20.00"),
        ("0.07", "7", "0.07", "0.00"),  # 0.00458 -> 0.00
        ("7.49", "7", "7.00", "0.49"),  # 0.49000 -> 0.49
        ("2.14", "7", "2.00", "0.14"),  # 0.14 exactly
        ("0.30", "20", "0.25", "0.05"),  # 0.05 exactly
        ("0.33", "10", "0.30", "0.03"),  # 0.03 exactly
        ("0.21", "5", "0.20", "0.01"),  # 0.01 exactly
        ("1.05", "5", "1.00", "0.05"),
        ("9.99", "0", "9.99", "0"),
        ("-19.99", "19", "-16.80", "-3.19"),  # a credit note mirrors the invoice
    ],
)
def test_vat_split_rounds_half_up_to_the_cent_and_adds_up(gross, rate, net, vat):
    assert vat_split(gross=D(gross), rate=D(rate)) == (D(net), D(vat))
    assert sum(vat_split(gross=D(gross), rate=D(rate))) == D(gross)


def test_vat_split_half_cent_goes_up():
    """2.675 € of VAT (gross 16.725 at 19 %... not a cent amount): take 0.105 € exactly: gross 1.105
    at 5 % has vat 0.0526 -> 0.05; an exact half cent: 0.21 at 5 % is 0.01; 0.315 at 5 % is 0.015 ->
    0.02 (half up, not to even)."""
    assert vat_split(gross=D("0.315"), rate=D("5"))[1] == D("0.02")
    assert vat_split(gross=D("0.525"), rate=D("5"))[1] == D("0.03")  # 0.025 -> 0.03, not 0.02


def test_vat_add_rounds_the_vat_on_a_net_amount():
    assert vat_add(net=D("16.80"), rate=D("19")) == D("3.19")  # 3.192
    assert vat_add(net=D("0.50"), rate=D("5")) == D("0.03")  # 0.025 half up
    assert vat_add(net=D("10.00"), rate=D("0")) == D("0.00")


# --- shipping_split --------------------------------------------------------------------------------


def test_shipping_split_is_proportional_to_the_goods_and_adds_up():
    shares = shipping_split(shipping_gross=D("4.90"), goods_by_rate={D("19"): D("30.00"), D("7"): D("10.00")})
    # 3.675 -> 3.68 and 1.225 -> 1.23 make 4.91: the largest share gives the cent back.
    assert shares == {D("19"): D("3.67"), D("7"): D("1.23")}
    assert sum(shares.values()) == D("4.90")


def test_shipping_split_remainder_goes_to_the_largest_share():
    """Three equal thirds of 10.00: 3.33 each, the 0.01 left goes to the largest (ties: the highest rate)."""
    shares = shipping_split(
        shipping_gross=D("10.00"), goods_by_rate={D("7"): D("1.00"), D("19"): D("1.00"), D("0"): D("1.00")}
    )
    assert shares == {D("19"): D("3.34"), D("7"): D("3.33"), D("0"): D("3.33")}


def test_shipping_split_one_rate_takes_it_all():
    assert shipping_split(shipping_gross=D("4.90"), goods_by_rate={D("19"): D("12.00")}) == {
        D("19"): D("4.90")
    }


def test_shipping_split_with_all_goods_free_uses_the_highest_rate():
    shares = shipping_split(shipping_gross=D("4.90"), goods_by_rate={D("7"): D("0"), D("19"): D("0")})
    assert shares == {D("19"): D("4.90"), D("7"): D("0")}


def test_shipping_split_without_goods_is_refused():
    with pytest.raises(ValueError):
        shipping_split(shipping_gross=D("4.90"), goods_by_rate={})


def test_shipping_split_of_a_refund_mirrors_the_charge():
    shares = shipping_split(
        shipping_gross=D("-4.90"), goods_by_rate={D("19"): D("-30.00"), D("7"): D("-10.00")}
    )
    assert shares == {D("19"): D("-3.67"), D("7"): D("-1.23")}


# --- VAT numbers and the reverse charge ------------------------------------------------------------


def test_vat_number_check_accepts_valid_numbers_as_typed():
    assert vat_number_check(DE_NUMBER) == (True, "")
    assert vat_number_check("fr 40 303 265 045") == (True, "")
    assert vat_number_check("ATU 135-856.27") == (True, "")
    assert vat_number_check("EL094259216") == (True, "")  # Greece is EL
    assert vat_number_country("EL094259216") == "GR"


def test_vat_number_check_says_what_is_wrong():
    assert vat_number_check("") == (False, "Enter a VAT number.")
    assert vat_number_check("DE136695977") == (
        False,
        "This VAT number's check digits are wrong: please check it for a typing error.",
    )
    assert vat_number_check("DE1366959") == (False, "This is not a valid VAT number for DE: please check it.")
    prefix_error = "Enter an EU VAT number starting with its country code, e.g. DE123456789 (EL for Greece)."
    assert vat_number_check("136695976") == (False, prefix_error)  # no prefix
    assert vat_number_check("CHE116281710") == (False, prefix_error)  # Switzerland: not EU
    assert vat_number_check("GB980780684") == (False, prefix_error)
    assert vat_number_check("XI980780684") == (False, prefix_error)  # Northern Ireland: out of scope


def test_reverse_charge_needs_a_valid_number_of_the_destination_another_eu_country(settings):
    settings.SHOP_TAX_COUNTRY = "DE"
    assert reverse_charge_applies(country="FR", vat_number=FR_NUMBER)
    assert reverse_charge_applies(country="AT", vat_number=AT_NUMBER)
    assert not reverse_charge_applies(country="DE", vat_number=DE_NUMBER)  # the shop's own country
    assert not reverse_charge_applies(country="AT", vat_number=FR_NUMBER)  # number of another country
    assert not reverse_charge_applies(country="FR", vat_number="FR40303265046")  # wrong check digits
    assert not reverse_charge_applies(country="FR", vat_number="")
    assert not reverse_charge_applies(country="CH", vat_number=FR_NUMBER)  # an export already
    settings.SHOP_TAX_COUNTRY = "FR"
    assert not reverse_charge_applies(country="FR", vat_number=FR_NUMBER)
    assert reverse_charge_applies(country="DE", vat_number=DE_NUMBER)


def test_tax_treatment(settings):
    settings.SHOP_TAX_COUNTRY = "DE"
    assert tax_treatment(country="DE", vat_number=DE_NUMBER) == TaxTreatment.VAT
    assert tax_treatment(country="FR") == TaxTreatment.VAT
    assert tax_treatment(country="FR", vat_number=FR_NUMBER) == TaxTreatment.REVERSE_CHARGE
    assert tax_treatment(country="CH", vat_number="") == TaxTreatment.EXPORT
    assert tax_treatment(country="GB", vat_number=FR_NUMBER) == TaxTreatment.EXPORT


# --- what the customer is charged -----------------------------------------------------------------


def test_amount_charged_with_prices_including_vat():
    kw = {"catalog_amount": D("19.99"), "prices_include_vat": True}
    assert amount_charged(rate=D("19"), treatment=TaxTreatment.VAT, **kw) == D("19.99")
    assert amount_charged(rate=D("20"), treatment=TaxTreatment.VAT, **kw) == D("19.99")  # same gross in FR
    assert amount_charged(rate=D("20"), treatment=TaxTreatment.REVERSE_CHARGE, **kw) == D("16.66")  # 3.3317
    assert amount_charged(rate=D("19"), treatment=TaxTreatment.EXPORT, **kw) == D("16.80")


def test_amount_charged_with_net_prices():
    kw = {"catalog_amount": D("16.80"), "prices_include_vat": False}
    assert amount_charged(rate=D("19"), treatment=TaxTreatment.VAT, **kw) == D("19.99")
    assert amount_charged(rate=D("5.5"), treatment=TaxTreatment.VAT, **kw) == D("17.72")  # 0.924
    assert amount_charged(rate=D("20"), treatment=TaxTreatment.REVERSE_CHARGE, **kw) == D("16.80")
    assert amount_charged(rate=D("19"), treatment=TaxTreatment.EXPORT, **kw) == D("16.80")


def test_vat_breakdown_puts_the_shipping_with_the_goods_per_rate():
    """Goods 30.00 at 19 % and 10.00 at 7 %, shipping 4.90: 3.67 / 1.23 of it (shipping_split)."""
    groups = vat_breakdown(goods_by_rate={D("7"): D("10.00"), D("19"): D("30.00")}, shipping_gross=D("4.90"))
    assert groups == [
        VatGroup(D("19"), D("30.00"), D("3.67"), D("33.67"), D("28.29"), D("5.38")),  # 5.3758
        VatGroup(D("7"), D("10.00"), D("1.23"), D("11.23"), D("10.50"), D("0.73")),  # 0.7347
    ]
    assert sum(g.gross for g in groups) == D("44.90")
    assert vat_breakdown(goods_by_rate={}, shipping_gross=D("4.90")) == []
