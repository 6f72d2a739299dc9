"""Files attached to emails through the registry (`register_attachments`), sent through a real SMTP server."""

import pytest

from notifications import emails
from notifications.models import NotificationKind, NotificationStatus
from notifications.services import notification_send, notification_send_many
from notifications.tests.factories import NotificationFactory
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings, smtp_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_server


@pytest.fixture
def registry(monkeypatch):
    """A registry of this test's own: what it registers is gone afterwards."""
    monkeypatch.setattr(emails, "ATTACHMENTS", {})
    return emails.ATTACHMENTS


def files_of(message) -> list[tuple[str, bytes, str]]:
    return [
        (part.get_filename(), part.get_payload(decode=True), part.get_content_type())
        for part in message.walk()
        if part.get_filename()
    ]


def receipt_for(notification):
    return [(f"note-{notification.pk}.txt", f"row {notification.pk}".encode(), "text/plain")]


def test_a_registered_function_attaches_its_files_to_the_email_sent(smtp, registry):
    variant = VariantFactory(product__name="Enamel kettle")
    row = NotificationFactory(
        kind=NotificationKind.LOW_STOCK_ALERT, context={"variant_id": variant.pk, "threshold": 2}
    )
    emails.register_attachments(NotificationKind.LOW_STOCK_ALERT, receipt_for)
    emails.register_attachments(NotificationKind.LOW_STOCK_ALERT, receipt_for)  # twice: kept once

    outcome = notification_send(notification_id=row.pk)

    assert outcome.status == "sent"
    [message] = smtp.wait_for(1)
    assert files_of(message) == [(f"note-{row.pk}.txt", f"row {row.pk}".encode(), "text/plain")]
    assert {part.get_content_type() for part in message.walk()} >= {"text/plain", "text/html"}


def test_a_kind_without_attachments_sends_none(smtp, registry):
    variant = VariantFactory()
    row = NotificationFactory(
        kind=NotificationKind.LOW_STOCK_ALERT, context={"variant_id": variant.pk, "threshold": 2}
    )
    emails.register_attachments(NotificationKind.ORDER_SHIPPED, receipt_for)

    notification_send(notification_id=row.pk)

    [message] = smtp.wait_for(1)
    assert files_of(message) == []


def test_a_batch_of_a_kind_with_attachments_gives_each_email_its_own_files(smtp, registry):
    # Given a back-in-stock wave, whose emails are otherwise composed once for the whole group
    variant = VariantFactory(sku="KETTLE-RED", price="34.50", product__name="Enamel kettle")
    rows = [
        NotificationFactory(
            kind=NotificationKind.BACK_IN_STOCK,
            recipient=f"fan{n}@example.com",
            context={"variant_id": variant.pk, "subscription_id": n, "wave": 1},
        )
        for n in range(2)
    ]
    emails.register_attachments(NotificationKind.BACK_IN_STOCK, receipt_for)

    outcomes = notification_send_many(notification_ids=[row.pk for row in rows])

    assert {pk: outcome.status for pk, outcome in outcomes.items()} == {row.pk: "sent" for row in rows}
    messages = sorted(smtp.wait_for(2), key=lambda m: m["To"])
    assert [files_of(m) for m in messages] == [receipt_for(row) for row in rows]
    assert [m["To"] for m in messages] == ["fan0@example.com", "fan1@example.com"]


def test_what_an_attachment_function_raises_retries_the_email(smtp, registry):
    variant = VariantFactory()
    row = NotificationFactory(
        kind=NotificationKind.LOW_STOCK_ALERT, context={"variant_id": variant.pk, "threshold": 2}
    )

    def broken(notification):
        raise OSError("storage unreachable")

    emails.register_attachments(NotificationKind.LOW_STOCK_ALERT, broken)

    outcome = notification_send(notification_id=row.pk)

    row.refresh_from_db()
    assert (outcome.status, row.status) == ("retry", NotificationStatus.PENDING)
    assert "storage unreachable" in row.last_error
    assert smtp.messages == []
