"""Sending in batches: rendering once per group, composing for SMTP, per-row outcomes, one publish."""

import email
import socket
import threading

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from notifications.emails import EmailBatch, build_message, render_notification
from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import (
    notification_batches,
    notification_id_runs,
    notification_send_many,
    notification_sweep,
    notifications_enqueue_on_commit,
)
from notifications.tasks import dispatch_notifications, send_notifications, sweep_notifications
from notifications.tests.factories import NotificationFactory
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kettle():
    return VariantFactory(sku="KETTLE-RED", price="34.50", product__name="Enamel kettle")


def wave_rows(variant, recipients):
    return [
        NotificationFactory(
            kind=NotificationKind.BACK_IN_STOCK,
            recipient=recipient,
            context={"variant_id": variant.pk, "subscription_id": n, "wave": 1},
        )
        for n, recipient in enumerate(recipients)
    ]


class SmtpServer:
    """A real SMTP server (aiosmtpd) that refuses the recipients in `refuse` with the given reply."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.messages: list[email.message.Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: dict[str, str] = {}
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    server.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.controller.stop()


def parts(message: email.message.Message) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }


# --- rendering once per group -------------------------------------------------------------------


def test_a_batch_renders_each_email_exactly_as_one_by_one(kettle):
    rows = wave_rows(kettle, ["ada@example.com", "o'brien&co@example.com"])
    batch = EmailBatch()

    with time_machine.travel(timezone.now(), tick=False):  # the unsubscribe tokens carry a timestamp
        for row in rows:
            assert batch.render(row) == render_notification(row)

    html = batch.render(rows[1])[2]
    assert "o&#x27;brien&amp;co@example.com" in html  # escaped in HTML, as the template does
    assert "o'brien&co@example.com" in batch.render(rows[1])[1]  # and not in the text part


@pytest.mark.parametrize(
    "footer",
    [
        "{{ recipient|upper }}",  # a filter on the value
        "{% if recipient|length > 20 %}long{% endif %}",  # a condition on it
        "{% if recipient|length > 30 %}long{% endif %}",
        "{{ unsubscribe_url|urlencode }}",
    ],
)
def test_a_template_that_does_more_than_print_the_values_is_rendered_email_by_email(
    settings, kettle, monkeypatch, footer
):
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {
                            "notifications/email/back_in_stock.subject.txt": "Back: {{ variant.sku }}",
                            "notifications/email/back_in_stock.txt": f"Hi {{{{ recipient }}}} {footer}",
                            "notifications/email/back_in_stock.html": f"<p>{{{{ recipient }}}} {footer}</p>",
                        },
                    )
                ]
            },
        }
    ]
    rows = wave_rows(kettle, ["ada@example.com", "a.very.long.address.indeed@example.com"])
    batch = EmailBatch()
    with time_machine.travel(timezone.now(), tick=False):
        rendered = [batch.render(row) for row in rows]
        expected = [render_notification(row) for row in rows]

    assert rendered == expected
    assert [group for group in batch._groups.values()] == [None]  # the group was not shared


def test_a_batch_builds_the_context_of_a_variant_once(kettle, django_assert_max_num_queries):
    rows = wave_rows(kettle, [f"fan{n}@example.com" for n in range(20)])
    batch = EmailBatch()

    with django_assert_max_num_queries(1):  # the variant, once
        for row in rows:
            batch.message(row)


def test_a_group_whose_variant_is_gone_fails_each_of_its_emails(kettle):
    [row] = wave_rows(kettle, ["ada@example.com"])
    row.context["variant_id"] = 999_999
    row.save()

    outcomes = notification_send_many(notification_ids=[row.pk])

    row.refresh_from_db()
    assert (outcomes[row.pk].status, row.status) == ("failed", "failed")
    assert "variant 999999 no longer exists" in row.last_error


# --- composing for SMTP -------------------------------------------------------------------------


def test_emails_composed_for_smtp_carry_what_django_would_send(settings, kettle, smtp, monkeypatch):
    from notifications.services import delivery as services

    settings.SHOP_BASE_URL = "https://shop.example.com"
    recipients = ["ada@example.com", "o'brien&co@example.com", "Grace <grace@example.com>"]
    rows = wave_rows(kettle, recipients)
    composed = []
    original = services._smtp_send
    monkeypatch.setattr(
        services,
        "_smtp_send",
        lambda smtp, sender, rcpt, data: composed.append(rcpt) or original(smtp, sender, rcpt, data),
    )

    # Frozen: the unsubscribe token carries a timestamp, built again below for the comparison.
    with time_machine.travel(timezone.now(), tick=False):
        outcomes = notification_send_many(notification_ids=[row.pk for row in rows])
        expected_by_id = {
            row.pk: email.message_from_bytes(build_message(row).message().as_bytes(linesep="\r\n"))
            for row in rows
        }

    assert {outcome.status for outcome in outcomes.values()} == {"sent"}
    by_id = {int(m["X-Notification-Id"]): m for m in smtp.messages}
    assert sorted(by_id) == sorted(row.pk for row in rows)
    for row in rows:
        received, expected = by_id[row.pk], expected_by_id[row.pk]  # expected: what Django would send
        for header in (
            "Subject",
            "From",
            "To",
            "Message-ID",
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
            "MIME-Version",
        ):
            assert " ".join(received[header].split()) == " ".join(expected[header].split()), header
        assert received["Date"]
        assert received["Message-ID"] == f"<notification-{row.pk}@shop.example.com>"
        assert parts(received) == parts(expected)
    # The first two were composed by the batch (plain addresses), the third by Django.
    assert composed == ["ada@example.com", "o'brien&co@example.com"]
    assert sorted(rcpts for _, rcpts in smtp.envelopes) == [
        ["ada@example.com"],
        ["grace@example.com"],
        ["o'brien&co@example.com"],
    ]
    assert {sender for sender, _ in smtp.envelopes} == {"shop@example.com"}
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_over_smtp_a_batch_composes_only_plain_addresses_and_falls_back_for_the_rest(kettle):
    [plain, named, accented] = wave_rows(
        kettle, ["ada@example.com", "Ada <ada@example.com>", "zoë@example.com"]
    )
    batch = EmailBatch()

    recipient, data = batch.smtp_payload(plain)
    assert recipient == "ada@example.com"
    assert data.count(b"\r\n\r\n") >= 3 and b"\nTo: ada@example.com\r\n" in data
    assert batch.smtp_payload(named) is None
    assert batch.smtp_payload(accented) is None


def test_in_a_batch_a_recipient_refused_for_good_fails_and_the_others_are_sent(kettle, smtp):
    rows = wave_rows(kettle, ["ada@example.com", "gone@example.com", "grace@example.com"])
    smtp.refuse = {"gone@example.com": "550 5.1.1 No such mailbox"}

    outcomes = notification_send_many(notification_ids=[row.pk for row in rows])

    assert {pk: o.status for pk, o in outcomes.items()} == {
        rows[0].pk: "sent",
        rows[1].pk: "failed",
        rows[2].pk: "sent",
    }
    assert sorted(m["To"] for m in smtp.messages) == ["ada@example.com", "grace@example.com"]
    gone = Notification.objects.get(pk=rows[1].pk)
    assert (gone.status, gone.attempts) == ("failed", 1)
    assert "550" in gone.last_error and "No such mailbox" in gone.last_error


def test_in_a_batch_a_recipient_refused_for_now_is_retried_with_backoff_and_the_others_are_sent(
    settings, kettle, smtp
):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 600
    rows = wave_rows(kettle, ["ada@example.com", "busy@example.com", "grace@example.com"])
    smtp.refuse = {"busy@example.com": "451 4.2.1 Mailbox busy, try later"}

    outcomes = notification_send_many(notification_ids=[row.pk for row in rows])

    assert [outcomes[row.pk].status for row in rows] == ["sent", "retry", "sent"]
    busy = Notification.objects.get(pk=rows[1].pk)
    assert (busy.status, busy.attempts) == ("pending", 1)
    assert busy.next_attempt_at > timezone.now() + timezone.timedelta(seconds=299)
    assert "451" in busy.last_error

    # Later the server takes it: the retry sends it once, with the same Message-ID.
    smtp.refuse = {}
    Notification.objects.filter(pk=busy.pk).update(next_attempt_at=timezone.now())
    assert notification_send_many(notification_ids=[busy.pk])[busy.pk].status == "sent"
    to_busy = [m for m in smtp.messages if m["To"] == "busy@example.com"]
    assert len(to_busy) == 1 and to_busy[0]["Message-ID"].startswith(f"<notification-{busy.pk}@")


def test_a_batch_reconnects_after_the_server_drops_the_session(kettle, smtp):
    rows = wave_rows(kettle, [f"fan{n}@example.com" for n in range(4)])
    smtp.refuse = {"fan1@example.com": "421 4.3.2 Closing connection"}

    outcomes = notification_send_many(notification_ids=[row.pk for row in rows])

    assert [outcomes[row.pk].status for row in rows] == ["sent", "retry", "sent", "sent"]
    assert sorted(m["To"] for m in smtp.messages) == [
        "fan0@example.com",
        "fan2@example.com",
        "fan3@example.com",
    ]


# --- one publish per enqueue --------------------------------------------------------------------


def test_ids_travel_as_runs_and_come_back_in_batches():
    assert notification_id_runs([7, 3, 4, 5, 9, 10, 4]) == [[3, 5], [7, 7], [9, 10]]
    assert notification_id_runs([]) == []
    runs = notification_id_runs([*range(1, 251), *range(300, 311)])
    assert runs == [[1, 250], [300, 310]]
    batches = list(notification_batches(runs, size=100))
    assert [len(b) for b in batches] == [100, 100, 61]
    assert [pk for batch in batches for pk in batch] == [*range(1, 251), *range(300, 311)]


def test_enqueuing_many_rows_publishes_one_message(settings, django_capture_on_commit_callbacks, monkeypatch):
    settings.NOTIFICATIONS_SEND_BATCH_SIZE = 3
    published = []
    monkeypatch.setattr(send_notifications, "delay", lambda **kw: published.append(("send", kw)))
    monkeypatch.setattr(dispatch_notifications, "delay", lambda **kw: published.append(("dispatch", kw)))

    with django_capture_on_commit_callbacks(execute=True):
        notifications_enqueue_on_commit([1, 2])
        notifications_enqueue_on_commit([*range(10, 20), 30])
        notifications_enqueue_on_commit([])

    assert published == [
        ("send", {"notification_ids": [1, 2]}),  # one batch: straight to the send task
        ("dispatch", {"runs": [[10, 19], [30, 30]]}),
    ]


def test_a_lost_dispatch_message_is_recovered_by_the_sweep(kettle):
    rows = wave_rows(kettle, [f"fan{n}@example.com" for n in range(5)])
    with time_machine.travel(timezone.now() - timezone.timedelta(minutes=5)):
        Notification.objects.update(created_at=timezone.now())
    # notifications_enqueue_on_commit's message never arrived: nothing was sent.

    assert sorted(notification_sweep()) == sorted(row.pk for row in rows)
    assert sweep_notifications.apply().get() == 5
    assert len(mail.outbox) == 5
    assert set(Notification.objects.values_list("status", flat=True)) == {NotificationStatus.SENT}


def test_the_sweep_publishes_one_message_for_many_overdue_rows(settings, kettle, monkeypatch):
    settings.NOTIFICATIONS_SEND_BATCH_SIZE = 2
    rows = wave_rows(kettle, [f"fan{n}@example.com" for n in range(7)])
    with time_machine.travel(timezone.now() - timezone.timedelta(minutes=5)):
        Notification.objects.update(created_at=timezone.now())
    published = []
    monkeypatch.setattr(send_notifications, "delay", lambda **kw: published.append(("send", kw)))
    monkeypatch.setattr(dispatch_notifications, "delay", lambda **kw: published.append(("dispatch", kw)))

    assert sweep_notifications.apply().get() == 7

    assert published == [("dispatch", {"runs": notification_id_runs(row.pk for row in rows)})]


def test_the_dispatch_task_sends_every_row_of_its_runs(settings, kettle):
    settings.NOTIFICATIONS_SEND_BATCH_SIZE = 2
    rows = wave_rows(kettle, [f"fan{n}@example.com" for n in range(5)])

    assert dispatch_notifications.apply(kwargs={"runs": notification_id_runs(r.pk for r in rows)}).get() == 3

    assert sorted(m.to[0] for m in mail.outbox) == sorted(row.recipient for row in rows)
    # A redelivered dispatch message publishes again; every row was claimed once, nothing goes twice.
    dispatch_notifications.apply(kwargs={"runs": notification_id_runs(r.pk for r in rows)})
    assert len(mail.outbox) == 5
