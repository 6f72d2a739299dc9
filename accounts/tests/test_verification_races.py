"""Two clicks on the confirmation link at the same moment (PostgreSQL row locks): every guest order is
attached once, with one timeline event."""

import pytest

from accounts.services.verification import account_email_confirm
from accounts.tests.factories import user_create
from accounts.tokens import verify_token_make
from config.testing import run_together
from orders.models import Order, OrderEvent
from orders.tests.factories import OrderFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_four_confirmations_at_once_attach_each_guest_order_once():
    bob = user_create(email="bob@example.com")
    for n in range(5):
        OrderFactory(number=f"BO-{n}", email="BOB@example.com" if n % 2 else "bob@example.com")
    token = verify_token_make(user_id=bob.pk, email=bob.email)

    results = run_together([lambda: account_email_confirm(token=token)] * 4)

    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(len(r.orders_added) for r in results) == [0, 0, 0, 5]
    assert sorted(r.newly_confirmed for r in results) == [False, False, False, True]
    assert Order.objects.filter(user=bob).count() == 5
    assert sorted(
        OrderEvent.objects.filter(message="Added to your account").values_list("order__number", flat=True)
    ) == [f"BO-{n}" for n in range(5)]
