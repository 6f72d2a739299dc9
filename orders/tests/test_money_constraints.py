"""The payment's and card charges' amount constraints hold to the cent on both databases: SQLite adds
decimals as floats (29.40 + 64.90 is 94.30000000000001 there), so the sums are rounded to the cent in
the constraint; a cent over is still refused."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from orders.models import CardCharge, Payment

from .factories import OrderFactory

pytestmark = pytest.mark.django_db


def payment(**amounts) -> Payment:
    return Payment.objects.create(
        order=OrderFactory(), gateway="test_card", reference="ref", currency="EUR", **amounts
    )


def test_a_parcel_captured_and_the_rest_voided_fill_the_authorization_exactly():
    paid = payment(
        amount_authorized=Decimal("94.30"), amount_captured=Decimal("29.40"), amount_voided=Decimal("64.90")
    )
    paid.refresh_from_db()
    assert paid.amount_open == Decimal("0.00")


def test_a_cent_more_than_authorized_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        payment(
            amount_authorized=Decimal("94.30"),
            amount_captured=Decimal("29.40"),
            amount_voided=Decimal("64.91"),
        )
    assert not Payment.objects.exists()


def test_a_card_charge_captured_and_released_to_the_cent():
    paid = payment(amount_authorized=Decimal("94.30"))
    CardCharge.objects.create(
        payment=paid,
        key="k1",
        amount=Decimal("94.30"),
        amount_captured=Decimal("29.40"),
        amount_released=Decimal("64.90"),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CardCharge.objects.create(
            payment=paid,
            key="k2",
            amount=Decimal("94.30"),
            amount_captured=Decimal("29.41"),
            amount_released=Decimal("64.90"),
        )
    assert list(CardCharge.objects.values_list("key", flat=True)) == ["k1"]
