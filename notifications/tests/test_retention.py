"""notifications.services.retention: old sent emails go, the kinds whose dedupe key must last are kept
without their address, and nothing unsent is ever touched."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.services.supplier_mail import supplier_reminders_send
from inventory.tests.factories import PurchaseOrderFactory
from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services.retention import OutboxPruned, notifications_prune_sent
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _row(*, days_old: float, status=NotificationStatus.SENT, kind=NotificationKind.ORDER_SHIPPED, **extra):
    row = NotificationFactory(kind=kind, status=status, **extra)
    at = NOW - timedelta(days=days_old)
    Notification.objects.filter(pk=row.pk).update(
        created_at=at, sent_at=at if status == NotificationStatus.SENT else None
    )
    return row


def test_sent_rows_past_the_retention_go_in_chunks_and_everything_else_stays():
    # Given: 5 sent emails 91 days old, 2 sent 89 days old, and 91-day-old rows never sent
    old_sent = [_row(days_old=91) for _ in range(5)]
    recent = [_row(days_old=89) for _ in range(2)]
    unsent = [
        _row(days_old=91, status=status)
        for status in (
            NotificationStatus.PENDING,
            NotificationStatus.SENDING,
            NotificationStatus.FAILED,
            NotificationStatus.CANCELLED,
        )
    ]

    # When: pruned at 90 days, two rows per chunk
    result = notifications_prune_sent(older_than_days=90, now=NOW, chunk_size=2)

    # Then: exactly the 5 old sent rows are gone
    assert (result.deleted, result.anonymised) == (5, 0)
    assert not Notification.objects.filter(pk__in=[r.pk for r in old_sent]).exists()
    assert set(Notification.objects.values_list("pk", flat=True)) == {r.pk for r in recent + unsent}
    # and a second run finds nothing
    assert notifications_prune_sent(older_than_days=90, now=NOW) == OutboxPruned(deleted=0, anonymised=0)


def test_kinds_whose_dedupe_key_must_last_are_kept_with_the_address_blanked():
    # Given: an old purchase-order email, its reminder and a card payment request, and a recent reminder
    kept = [
        _row(days_old=200, kind=kind, last_error="450 mailbox busy for bob@example.com")
        for kind in (
            NotificationKind.SUPPLIER_PO,
            NotificationKind.SUPPLIER_PO_REMINDER,
            NotificationKind.CARD_PAYMENT_NEEDED,
        )
    ]
    recent = _row(days_old=10, kind=NotificationKind.SUPPLIER_PO_REMINDER)

    result = notifications_prune_sent(older_than_days=90, now=NOW, chunk_size=2)

    assert (result.deleted, result.anonymised) == (0, 3)
    rows = {r.pk: r for r in Notification.objects.all()}
    assert set(rows) == {r.pk for r in kept} | {recent.pk}
    for row in kept:
        assert (rows[row.pk].recipient, rows[row.pk].last_error, rows[row.pk].dedupe_key) == (
            "",
            "",
            row.dedupe_key,
        )
    assert rows[recent.pk].recipient == recent.recipient
    assert notifications_prune_sent(older_than_days=90, now=NOW).anonymised == 0


def test_zero_days_keeps_everything():
    _row(days_old=5000)

    assert notifications_prune_sent(older_than_days=0, now=NOW) == OutboxPruned(deleted=0, anonymised=0)
    assert Notification.objects.count() == 1


def test_a_pruned_supplier_reminder_is_not_sent_again():
    """The reason for keeping the kind: the hourly task finds the same open purchase order every hour,
    and the outbox row is its only record that the reminder went."""
    # Given: a purchase order overdue for 120 days whose reminder went out then
    long_ago = NOW - timedelta(days=120)
    PurchaseOrderFactory(
        expected_date=(long_ago - timedelta(days=1)).date(), ordered_at=long_ago, confirmed_at=long_ago
    )
    assert supplier_reminders_send(now=NOW) == 1
    Notification.objects.update(status=NotificationStatus.SENT, created_at=long_ago, sent_at=long_ago)

    # When: the outbox is pruned at 90 days, then the hourly task runs again
    notifications_prune_sent(older_than_days=90, now=NOW)

    # Then: no second reminder
    assert supplier_reminders_send(now=NOW) == 0
    assert Notification.objects.count() == 1
