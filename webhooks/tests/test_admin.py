"""Webhooks in the admin: endpoints (secret, event types, on/off, test event, new secret) and the log."""

import base64
import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from webhooks.event_types import EVENT_TYPES
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services.delivery import webhook_deliveries_send

from .delivery_helpers import SECRET, endpoint, record, statuses
from .http_receiver import HttpReceiver

pytestmark = pytest.mark.django_db

ENDPOINTS = reverse("admin:webhooks_webhookendpoint_changelist")
ADD = reverse("admin:webhooks_webhookendpoint_add")
DELIVERIES = reverse("admin:webhooks_webhookdelivery_changelist")


def change_url(hook) -> str:
    return reverse("admin:webhooks_webhookendpoint_change", args=[hook.pk])


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def receiver():
    server = HttpReceiver(SECRET).up()
    yield server
    server.down()


def test_staff_create_an_endpoint_by_ticking_event_types_and_see_its_secret(admin_client):
    page = admin_client.get(ADD).content.decode()
    assert all(f'value="{name}"' in page for name in EVENT_TYPES)  # a checkbox per event type
    assert page.count('type="checkbox" name="event_types"') == len(EVENT_TYPES)

    response = admin_client.post(
        ADD,
        {
            "url": "https://erp.example/hooks",
            "description": "ERP",
            "event_types": ["order.shipped", "stock.changed"],
            "is_active": "on",
        },
    )

    hook = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and response.url == change_url(hook)
    assert hook.event_types == ["stock.changed", "order.shipped"]  # in the list's order
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{32}", hook.secret)
    assert len(base64.b64decode(hook.secret.removeprefix("whsec_"))) == 24
    shown = admin_client.get(change_url(hook))
    assert f"<code>{hook.secret}</code>" in shown.content.decode()
    assert (
        "success",
        "The endpoint was created. Copy its signing secret below and give it to the receiver.",
    ) in (messages_of(response))
    assert "Answering" in shown.content.decode()


def test_an_endpoint_needs_an_event_type_and_a_url(admin_client):
    response = admin_client.post(ADD, {"url": "not a url", "description": "", "is_active": "on"})

    assert response.status_code == 200
    assert WebhookEndpoint.objects.count() == 0
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"url", "event_types"}


def test_turning_an_endpoint_off_and_on_again_sends_what_waited(
    admin_client, receiver, django_capture_on_commit_callbacks
):
    hook = endpoint(receiver.url)
    form = {"url": receiver.url, "description": "", "event_types": ["stock.changed"]}

    admin_client.post(change_url(hook), form)  # Active unticked
    hook.refresh_from_db()
    assert (hook.is_active, hook.disabled_reason) == (False, "Turned off by admin@example.com.")
    assert hook.disabled_at is not None
    record(1)  # an event before it was off would wait; one written now is not kept for it
    assert WebhookDelivery.objects.count() == 0

    hook.is_active = True
    hook.save()
    ids = record(2)
    hook.is_active = False
    hook.save()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(change_url(hook), {**form, "is_active": "on"})

    hook.refresh_from_db()
    assert (hook.is_active, hook.disabled_at, hook.disabled_reason) == (True, None, "")
    assert receiver.ids() == ids
    assert statuses() == ["delivered"]


def test_send_a_test_event_reaches_that_endpoint_only(
    admin_client, receiver, django_capture_on_commit_callbacks
):
    hook = endpoint(receiver.url)
    other = endpoint("http://127.0.0.1:9/other")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            ENDPOINTS, {"action": "send_test_event_action", ACTION_CHECKBOX_NAME: [hook.pk]}
        )

    event = WebhookEvent.objects.get()
    assert (event.type, event.resource_type, event.resource_id) == (
        "webhook.test",
        "webhook_endpoint",
        str(hook.pk),
    )
    assert event.data == {"endpoint_id": hook.pk, "message": "A test event sent by admin@example.com."}
    assert list(WebhookDelivery.objects.values_list("endpoint_id", "status")) == [(hook.pk, "delivered")]
    assert receiver.ids() == [event.event_id]
    assert not other.deliveries.exists()
    assert messages_of(response) == [
        ("info", f"{hook}: a test event ({event.event_id}) is on its way; the delivery log shows the answer.")
    ]


def test_give_a_new_signing_secret(admin_client):
    hook = endpoint("https://erp.example/hooks")

    admin_client.post(ENDPOINTS, {"action": "rotate_secret_action", ACTION_CHECKBOX_NAME: [hook.pk]})

    hook.refresh_from_db()
    assert hook.secret != SECRET and re.fullmatch(r"whsec_[A-Za-z0-9+/]{32}", hook.secret)


# --- the delivery log ------------------------------------------------------------------------------


def log_with(count: int, receiver) -> WebhookEndpoint:
    hook = endpoint(receiver.url)
    record(*range(1, count + 1))
    webhook_deliveries_send(endpoint_id=hook.pk)
    return hook


@pytest.mark.parametrize("page", [DELIVERIES, ENDPOINTS, reverse("admin:webhooks_webhookevent_changelist")])
def test_the_lists_ask_the_same_queries_for_2_or_12_rows(
    admin_client, receiver, page, django_assert_num_queries
):
    log_with(2, receiver)
    admin_client.get(page)  # the session and the permissions, once
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(page).status_code == 200
    record(*range(20, 30))
    webhook_deliveries_send(endpoint_id=WebhookEndpoint.objects.get().pk)
    with django_assert_num_queries(len(few)):
        assert admin_client.get(page).status_code == 200


def test_the_log_shows_status_attempts_and_answers_in_words_and_filters(admin_client, receiver):
    hook = log_with(1, receiver)
    receiver.status = 503
    record(2)
    webhook_deliveries_send(endpoint_id=hook.pk)

    page = admin_client.get(DELIVERIES).content.decode()
    assert "Waiting to be sent" in page and "Delivered" in page
    assert "Answered 503" in page and "March" not in page  # dates in words: today's month
    waiting = admin_client.get(DELIVERIES, {"status__exact": "pending"}).context["cl"].result_list
    assert [d.status for d in waiting] == ["pending"]
    by_type = admin_client.get(DELIVERIES, {"event__type": "stock.changed", "endpoint__id__exact": hook.pk})
    assert by_type.context["cl"].result_count == 2

    failed = WebhookDelivery.objects.get(status="pending")
    detail = admin_client.get(
        reverse("admin:webhooks_webhookdelivery_change", args=[failed.pk])
    ).content.decode()
    assert "Attempts" in detail and "not today" in detail and "503" in detail


def send_again_form(admin_client, deliveries) -> dict:
    key = admin_client.get(DELIVERIES).context["submission_key"]
    return {
        "action": "send_again_action",
        ACTION_CHECKBOX_NAME: [d.pk for d in deliveries],
        "submission_key": key,
    }


def test_send_again_resends_once_per_submission(admin_client, receiver, django_capture_on_commit_callbacks):
    hook = log_with(2, receiver)
    delivered = list(WebhookDelivery.objects.order_by("pk"))
    receiver.status = 500
    record(3)
    webhook_deliveries_send(endpoint_id=hook.pk)
    receiver.status = 204
    waiting = WebhookDelivery.objects.get(status="pending")
    form = send_again_form(admin_client, [delivered[0], waiting])

    with django_capture_on_commit_callbacks(execute=True):
        first = admin_client.post(DELIVERIES, form)
    with django_capture_on_commit_callbacks(execute=True):
        second = admin_client.post(DELIVERIES, form)

    assert messages_of(first) == [
        (
            "info",
            "1 delivery will be sent again shortly. 1 delivery already waiting to be sent: left as it was.",
        )
    ]
    level, text = messages_of(second)[-1]  # after the first's, not yet shown
    assert level == "warning" and text.startswith("This form was already sent at ")
    first_id = delivered[0].event.event_id
    assert receiver.ids().count(first_id) == 2  # the first send and one "Send again"
    assert WebhookAttempt.objects.filter(delivery=delivered[0]).count() == 2


def test_send_again_needs_the_permission_to_change_endpoints(receiver):
    log_with(1, receiver)
    viewer = User.objects.create_user("v@shop.test", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    client = Client()
    client.force_login(viewer)

    page = client.get(DELIVERIES)

    assert page.status_code == 200
    assert "send_again_action" not in page.content.decode()


def test_send_again_to_an_endpoint_that_is_off_says_it_waits(admin_client, receiver):
    hook = log_with(1, receiver)
    hook.is_active = False
    hook.save()

    response = admin_client.post(DELIVERIES, send_again_form(admin_client, WebhookDelivery.objects.all()))

    assert messages_of(response) == [
        (
            "info",
            "1 delivery will be sent again once the endpoint is turned on.",
        )
    ]
    assert statuses() == ["pending"]
