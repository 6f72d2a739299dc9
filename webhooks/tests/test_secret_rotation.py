"""A new signing secret: for WEBHOOK_SECRET_OVERLAP_HOURS each request is signed with the old and the new
secret (two signatures in webhook-signature), so a receiver holding either verifies; then the new alone."""

from datetime import timedelta

import pytest
import time_machine
from standardwebhooks import Webhook, WebhookVerificationError

from webhooks.models import WebhookEndpoint
from webhooks.services.delivery import webhook_deliveries_send
from webhooks.services.endpoints import endpoint_secret_rotate

from .delivery_helpers import SECRET, T0, endpoint, record
from .http_receiver import HttpReceiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def old_holder():
    """A receiver that still has the secret the endpoint had before the new one."""
    server = HttpReceiver(SECRET).up()
    yield server
    server.down()


def verifies_with(secret: str, request) -> bool:
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


def test_both_secrets_sign_during_the_overlap_then_the_new_one_alone(clock, old_holder, settings):
    settings.WEBHOOK_SECRET_OVERLAP_HOURS = 24
    hook = endpoint(old_holder.url)

    new = endpoint_secret_rotate(endpoint_id=hook.pk)
    record(1)
    webhook_deliveries_send(endpoint_id=hook.pk)
    (during,) = old_holder.requests
    # (verified now: a receiver refuses a signature more than 5 minutes old)
    assert (verifies_with(SECRET, during), verifies_with(new, during)) == (True, True)
    clock.shift(timedelta(hours=24, seconds=1))
    record(2)
    webhook_deliveries_send(endpoint_id=hook.pk)

    during, after = old_holder.requests
    assert new != SECRET
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert during.verified and during.status == 204  # the receiver that had not switched yet
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert (verifies_with(SECRET, after), verifies_with(new, after)) == (False, True)
    hook.refresh_from_db()
    assert (hook.secret, hook.previous_secret, hook.previous_secret_until) == (
        new,
        SECRET,
        T0 + timedelta(hours=24),
    )


def test_with_no_overlap_the_new_secret_signs_alone_at_once(clock, old_holder, settings):
    settings.WEBHOOK_SECRET_OVERLAP_HOURS = 0
    hook = endpoint(old_holder.url)

    new = endpoint_secret_rotate(endpoint_id=hook.pk)
    record(1)
    webhook_deliveries_send(endpoint_id=hook.pk)

    (request,) = old_holder.requests
    assert (verifies_with(SECRET, request), verifies_with(new, request)) == (False, True)
    assert WebhookEndpoint.objects.filter(pk=hook.pk, previous_secret="", previous_secret_until=None).exists()


def test_the_endpoint_page_says_until_when_the_old_secret_signs(admin_client, clock, settings):
    settings.WEBHOOK_SECRET_OVERLAP_HOURS = 24
    hook = endpoint("https://erp.example/hooks")
    endpoint_secret_rotate(endpoint_id=hook.pk)

    page = admin_client.get(f"/admin/webhooks/webhookendpoint/{hook.pk}/change/").content.decode()

    assert "The previous secret signs too until 3 March 2026" in page
