"""orders.services.retention and the daily task: expired sessions and abandoned guest carts go, in
chunks; customers' carts, recent carts and live sessions stay; an order never changes."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.tests.factories import NotificationFactory
from orders.models import Cart, CartLine, Order, OrderLine
from orders.services.retention import CartsPruned, carts_prune_abandoned, sessions_prune_expired
from orders.tasks import prune_old_data
from orders.tests.factories import OrderLineFactory
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _cart(*, days_old: float, lines: int = 1, user=None) -> Cart:
    cart = Cart.objects.create(user=user)
    for _ in range(lines):
        CartLine.objects.create(cart=cart, variant=VariantFactory(), quantity=2)
    Cart.objects.filter(pk=cart.pk).update(updated_at=NOW - timedelta(days=days_old))
    return cart


def _session(*, expires_in_days: float) -> str:
    store = SessionStore()
    store["cart_id"] = 1
    store.create()
    Session.objects.filter(pk=store.session_key).update(expire_date=NOW + timedelta(days=expires_in_days))
    return store.session_key


def test_guest_carts_untouched_past_the_retention_go_with_their_lines():
    # Given: 3 guest carts untouched 31 days (2 lines each, one emptied by its checkout), a guest
    # cart touched 29 days ago, and a customer's cart untouched for a year
    old = [_cart(days_old=31, lines=2), _cart(days_old=31, lines=2), _cart(days_old=31, lines=0)]
    recent = _cart(days_old=29, lines=1)
    customer = _cart(days_old=365, lines=3, user=get_user_model().objects.create_user("kim@example.com"))
    order_line = OrderLineFactory(quantity=2)

    # When: pruned at 30 days, two carts per chunk
    result = carts_prune_abandoned(older_than_days=30, now=NOW, chunk_size=2)

    # Then: the three old guest carts and their 4 lines are gone; the rest is untouched
    assert result == CartsPruned(carts=3, lines=4)
    assert set(Cart.objects.values_list("pk", flat=True)) == {recent.pk, customer.pk}
    assert CartLine.objects.count() == 1 + 3
    assert not CartLine.objects.filter(cart_id__in=[c.pk for c in old]).exists()
    assert (Order.objects.count(), OrderLine.objects.get().quantity) == (1, order_line.quantity)
    assert carts_prune_abandoned(older_than_days=30, now=NOW) == CartsPruned(carts=0, lines=0)


def test_zero_days_keeps_every_cart():
    _cart(days_old=5000)

    assert carts_prune_abandoned(older_than_days=0, now=NOW) == CartsPruned(carts=0, lines=0)
    assert Cart.objects.count() == 1


def test_expired_sessions_go_in_chunks_and_live_ones_stay():
    expired = [_session(expires_in_days=-1) for _ in range(5)]
    live = [_session(expires_in_days=1) for _ in range(2)]

    assert sessions_prune_expired(now=NOW, chunk_size=2) == 5

    assert set(Session.objects.values_list("pk", flat=True)) == set(live)
    assert not Session.objects.filter(pk__in=expired).exists()
    assert sessions_prune_expired(now=NOW) == 0


def test_a_store_without_rows_prunes_itself(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    _session(expires_in_days=-1)

    assert sessions_prune_expired(now=NOW) is None
    assert Session.objects.count() == 1  # not the configured store's rows: left alone


def test_the_daily_task_prunes_all_three_with_the_settings(settings):
    # Given: the retention settings and one old and one recent of each kind
    settings.CART_RETENTION_DAYS = 10
    settings.NOTIFICATION_RETENTION_DAYS = 20
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    _cart(days_old=11)
    _cart(days_old=9)
    _session(expires_in_days=-1)
    _session(expires_in_days=1)
    for days_old in (21, 19):
        row = NotificationFactory(kind=NotificationKind.ORDER_SHIPPED, status=NotificationStatus.SENT)
        at = timezone.now() - timedelta(days=days_old)
        Notification.objects.filter(pk=row.pk).update(created_at=at, sent_at=at)

    # When: the beat task runs (eagerly, as in every test)
    result = prune_old_data.delay().get()

    # Then
    assert result == {
        "sessions": 1,
        "carts": 1,
        "cart_lines": 1,
        "notifications_deleted": 1,
        "notifications_anonymised": 0,
    }
    assert (Cart.objects.count(), Session.objects.count(), Notification.objects.count()) == (1, 1, 1)


def test_the_task_is_on_beats_schedule_daily_at_the_retention_hour(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["data-retention"]

    assert entry["task"] == "orders.tasks.prune_old_data"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({settings.DATA_RETENTION_HOUR}, {15})
