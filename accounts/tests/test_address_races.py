"""Concurrent changes of one customer's addresses on real PostgreSQL row locks (threads released
together by a barrier): the one-default rule holds and nobody gets a database error."""

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Address
from accounts.services.addresses import AddressData, address_create, address_set_default
from config.testing import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

User = get_user_model()


def data(city: str) -> AddressData:
    return AddressData(
        full_name="Ada Lovelace", address_line1="1 Row", city=city, postcode="1010", country="AT"
    )


def test_eight_tabs_making_different_addresses_default_leave_exactly_one():
    ada = User.objects.create_user(email="ada@example.com", password="pw")
    addresses = [address_create(user_id=ada.pk, data=data(f"City {n}")) for n in range(8)]

    results = run_together(
        [lambda a=a: address_set_default(user_id=ada.pk, address_id=a.pk) for a in addresses]
    )

    assert [r for r in results if isinstance(r, Exception)] == []
    assert Address.objects.filter(user=ada, is_default=True).count() == 1
    assert Address.objects.filter(user=ada).count() == 8


def test_eight_first_addresses_at_once_make_one_default():
    ada = User.objects.create_user(email="ada@example.com", password="pw")

    results = run_together(
        [lambda n=n: address_create(user_id=ada.pk, data=data(f"City {n}")) for n in range(8)]
    )

    assert [r for r in results if isinstance(r, Exception)] == []
    assert Address.objects.filter(user=ada).count() == 8
    assert Address.objects.filter(user=ada, is_default=True).count() == 1
