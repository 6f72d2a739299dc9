"""An endpoint that always fails is turned off after WEBHOOK_DISABLE_AFTER_HOURS and staff are emailed once."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission

from accounts.models import User
from notifications.models import Notification
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.selectors import endpoint_staff_recipients
from webhooks.services.delivery import webhook_deliveries_send
from webhooks.services.endpoints import endpoint_save
from webhooks.tasks import sweep_webhook_deliveries

from .delivery_helpers import SECRET, T0, endpoint, record, statuses
from .http_receiver import HttpReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    server = HttpReceiver(SECRET, status=500).up()
    yield server
    server.down()


@pytest.fixture
def smtp(settings, smtp_server):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_server


def staff(name: str, *, may_change_endpoints: bool) -> User:
    user = User.objects.create_user(f"{name}@shop.test", "pw", is_staff=True)
    if may_change_endpoints:
        user.user_permissions.add(Permission.objects.get(codename="change_webhookendpoint"))
    return user


def test_an_endpoint_that_always_fails_is_turned_off_staff_told_once_and_turning_it_on_resumes(
    receiver, smtp, django_capture_on_commit_callbacks
):
    staff("ops", may_change_endpoints=True)
    staff("packer", may_change_endpoints=False)
    hook = endpoint(receiver.url)
    with time_machine.travel(T0, tick=False) as clock:
        record(1)
        record(1)  # the same variant: it waits for the first
        runs = 0
        while WebhookEndpoint.objects.get().is_active:
            with django_capture_on_commit_callbacks(execute=True):
                webhook_deliveries_send(endpoint_id=hook.pk)
            runs += 1
            due = WebhookDelivery.objects.order_by("pk").first()  # the second waits behind it
            clock.move_to(due.next_attempt_at)
        turned_off_at = WebhookEndpoint.objects.get().disabled_at

        # 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, then 6 h apart: the 12th attempt is the first
        # more than 24 hours after the first (28 h 42 min 35 s later), on the first delivery only:
        # the second waits behind it (the same variant).
        assert runs == 12
        assert turned_off_at == T0 + timedelta(hours=28, minutes=42, seconds=35)
        hook.refresh_from_db()
        assert hook.is_active is False
        assert hook.disabled_reason == (
            "Turned off automatically: its last 12 attempts failed, over 28 hours, none answered with success."
        )
        assert list(WebhookDelivery.objects.order_by("pk").values_list("attempts", flat=True)) == [12, 0]
        assert statuses() == ["pending", "pending"]  # they wait

        # One email, to the staff who may change endpoints, through the SMTP server.
        [message] = smtp.wait_for(1)
        assert message["To"] == "ops@shop.test"
        assert (
            " ".join(message["Subject"].split())
            == f"Webhooks to {receiver.url} were turned off: the receiver kept failing"
        )
        assert Notification.objects.get().status == "sent"

        # Turned off: nothing more is sent, and the sweep leaves it alone.
        clock.shift(timedelta(hours=7))
        assert webhook_deliveries_send(endpoint_id=hook.pk).tried == 0
        assert sweep_webhook_deliveries() == []
        assert WebhookAttempt.objects.count() == 12

        # The receiver is fixed; staff turn the endpoint on: its deliveries go out at once.
        receiver.status = 204
        hook.is_active = True
        with django_capture_on_commit_callbacks(execute=True):
            endpoint_save(endpoint=hook, user_label="ops")

    hook.refresh_from_db()
    assert (hook.is_active, hook.disabled_at, hook.disabled_reason, hook.failing_since) == (
        True,
        None,
        "",
        None,
    )
    assert statuses() == ["delivered", "delivered"]
    assert len(receiver.ids()) == 2
    assert len(smtp.messages) == 1
    assert Notification.objects.count() == 1


def test_failures_for_a_day_but_fewer_than_five_keep_the_endpoint_on(receiver):
    hook = endpoint(receiver.url)
    with time_machine.travel(T0, tick=False) as clock:
        record(1)
        for _ in range(4):
            webhook_deliveries_send(endpoint_id=hook.pk)
            clock.shift(timedelta(hours=10))
    hook.refresh_from_db()
    assert hook.is_active is True
    assert hook.failing_since == T0
    assert WebhookAttempt.objects.count() == 4


def test_who_is_told(settings):
    settings.ADMINS = [("Ann", "Ann@Example.com")]
    assert endpoint_staff_recipients() == ["ann@example.com"]  # nobody may change endpoints: ADMINS

    staff("ops", may_change_endpoints=True)
    staff("packer", may_change_endpoints=False)
    User.objects.create_superuser("boss@shop.test", "pw")
    User.objects.create_user("customer@shop.test", "pw")

    assert endpoint_staff_recipients() == ["boss@shop.test", "ops@shop.test"]
