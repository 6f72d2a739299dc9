"""Admin: the read-only outbox with retry and email previews, subscriptions with filters."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from notifications.emails import CONTEXT_BUILDERS, SAMPLE_CONTEXTS
from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.tests.factories import NotificationFactory, SubscriptionFactory
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:notifications_{}_changelist"


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def make_failed_notification():
    NotificationFactory(status=NotificationStatus.FAILED, last_error="SMTP said no", attempts=6)


CHANGELISTS = [
    ("notification", make_failed_notification),
    ("backinstocksubscription", lambda: SubscriptionFactory()),
]


@pytest.mark.parametrize(("model", "make_row"), CHANGELISTS, ids=[c[0] for c in CHANGELISTS])
def test_changelist_makes_as_many_queries_for_20_rows_as_for_1(
    admin_client, connection_queries, model, make_row
):
    url = reverse(CHANGELIST.format(model))
    make_row()
    one = connection_queries(lambda: admin_client.get(url))
    for _ in range(19):
        make_row()

    twenty = connection_queries(lambda: admin_client.get(url))

    assert one.response.status_code == twenty.response.status_code == 200
    assert (len(one.response.context["cl"].result_list), len(twenty.response.context["cl"].result_list)) == (
        1,
        20,
    )
    assert len(twenty.queries) == len(one.queries)
    assert len(one.queries) <= 8


@pytest.fixture
def connection_queries():
    from django.db import connection

    class Measured:
        def __init__(self, response, queries):
            self.response, self.queries = response, queries

    def measure(fn):
        with CaptureQueriesContext(connection) as captured:
            response = fn()
        return Measured(response, captured.captured_queries)

    return measure


def test_outbox_filters_search_and_shows_the_error_of_failed_ones(admin_client):
    NotificationFactory(
        recipient="ada@example.com", status=NotificationStatus.FAILED, last_error="550 no such user"
    )
    NotificationFactory(recipient="bob@example.com", dedupe_key="back-in-stock:7:1", kind="back_in_stock")
    url = reverse(CHANGELIST.format("notification"))

    failed = admin_client.get(url, {"status": "failed"})
    by_kind = admin_client.get(url, {"kind": "back_in_stock"})
    by_key = admin_client.get(url, {"q": "back-in-stock:7"})
    today = admin_client.get(url, {"created_at__gte": "2000-01-01 00:00:00+00:00"})

    assert [n.recipient for n in failed.context["cl"].result_list] == ["ada@example.com"]
    assert "550 no such user" in failed.content.decode()
    assert [n.recipient for n in by_kind.context["cl"].result_list] == ["bob@example.com"]
    assert [n.recipient for n in by_key.context["cl"].result_list] == ["bob@example.com"]
    assert len(today.context["cl"].result_list) == 2
    assert reverse("admin:notifications_notification_preview_index") in failed.content.decode()


def test_outbox_rows_are_read_only(admin_client):
    notification = NotificationFactory()

    change = admin_client.get(reverse("admin:notifications_notification_change", args=[notification.pk]))
    post = admin_client.post(
        reverse("admin:notifications_notification_change", args=[notification.pk]),
        {"recipient": "x@example.com"},
    )
    add = admin_client.get(reverse("admin:notifications_notification_add"))

    assert change.status_code == 200
    assert 'name="recipient"' not in change.content.decode()
    assert (post.status_code, add.status_code) == (403, 403)
    notification.refresh_from_db()
    assert notification.recipient != "x@example.com"


def test_retry_failed_action_requeues_only_failed_ones(admin_client, django_capture_on_commit_callbacks):
    failed = NotificationFactory(
        status=NotificationStatus.FAILED, attempts=6, context={"variant_id": VariantFactory().pk}
    )
    sent = NotificationFactory(status=NotificationStatus.SENT)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse(CHANGELIST.format("notification")),
            {"action": "retry_failed", "_selected_action": [failed.pk, sent.pk]},
            follow=True,
        )

    assert messages_of(response) == ["1 failed notification queued to send again. 1 not failed, left alone."]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("sent", 1)  # queued again, then sent by the eager task


def test_staff_with_view_permission_only_cannot_retry(client):
    viewer = User.objects.create_user("viewer@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_notification"))
    client.force_login(viewer)
    failed = NotificationFactory(status=NotificationStatus.FAILED)

    page = client.get(reverse(CHANGELIST.format("notification")))
    client.post(
        reverse(CHANGELIST.format("notification")),
        {"action": "retry_failed", "_selected_action": [failed.pk]},
    )

    assert page.status_code == 200
    assert "Retry failed notifications" not in page.content.decode()
    failed.refresh_from_db()
    assert failed.status == "failed"


# --- previews -----------------------------------------------------------------------------


def preview(admin_client, kind):
    return admin_client.get(reverse("admin:notifications_notification_preview", args=[kind]))


def test_preview_of_a_back_in_stock_email_shows_subject_headers_text_and_html(admin_client):
    VariantFactory(product__name="Enamel kettle", option_values={"colour": "Red"}, price="34.50")

    response = preview(admin_client, NotificationKind.BACK_IN_STOCK)
    html = admin_client.get(reverse("admin:notifications_notification_preview_html", args=["back_in_stock"]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Back in stock: Enamel kettle (Red)" in content
    assert "List-Unsubscribe-Post" in content and "/notifications/unsubscribe/" in content
    assert "€34.50" in content  # the plain text
    assert html.status_code == 200
    assert html["X-Frame-Options"] == "SAMEORIGIN"
    assert "See it in the shop" in html.content.decode()
    assert Notification.objects.count() == 0  # a preview writes nothing


@pytest.mark.parametrize("kind", NotificationKind.values)
def test_every_kind_has_a_preview_page_that_never_crashes(admin_client, kind):
    VariantFactory()

    response = preview(admin_client, kind)

    assert response.status_code == 200
    content = response.content.decode()
    assert kind in CONTEXT_BUILDERS and kind in SAMPLE_CONTEXTS  # every kind can be previewed
    if kind in ("back_in_stock", "subscription_confirm", "low_stock_alert"):
        assert "Subject:" in content
    else:  # order emails: no order yet (orders/tests/test_email_previews.py shows them)
        assert "No sample data yet" in content


def test_preview_without_any_product_says_so(admin_client):
    response = preview(admin_client, NotificationKind.LOW_STOCK_ALERT)

    assert "No sample data yet" in response.content.decode()


def test_preview_index_lists_every_kind(admin_client):
    response = admin_client.get(reverse("admin:notifications_notification_preview_index"))

    content = response.content.decode()
    assert all(label in content for label in NotificationKind.labels)


def test_unknown_kind_is_404_and_non_staff_are_sent_to_login(admin_client, client):
    assert preview(admin_client, "nope").status_code == 404
    assert preview(client, "back_in_stock").status_code == 302


# --- subscriptions ------------------------------------------------------------------------


def test_subscriptions_filter_by_status_category_and_search_by_email_or_sku(admin_client):
    kettle = VariantFactory(sku="KETTLE-RED", product__category__name="Kitchen")
    lamp = VariantFactory(sku="LAMP-01")
    SubscriptionFactory(variant=kettle, email="ada@example.com")
    SubscriptionFactory(variant=lamp, email="bob@example.com", status="unconfirmed")
    url = reverse(CHANGELIST.format("backinstocksubscription"))

    def emails(params):
        return sorted(s.email for s in admin_client.get(url, params).context["cl"].result_list)

    assert emails({"status": "unconfirmed"}) == ["bob@example.com"]
    assert emails({"variant__product__category__id__exact": kettle.product.category_id}) == [
        "ada@example.com"
    ]
    assert emails({"q": "kettle"}) == ["ada@example.com"]
    assert emails({"q": "bob@"}) == ["bob@example.com"]
    assert "KETTLE-RED" in admin_client.get(url).content.decode()


# --- retrying emails show why and when (issue 16 item 17) -----------------------------------


def test_outbox_shows_when_a_retrying_email_is_tried_again_and_why(admin_client, settings):
    """SMTP down: the delivery service records the error and the next try; the list shows both."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from notifications.services import notification_send
    from notifications.tests.backends import FlakyBackend

    settings.EMAIL_BACKEND = "notifications.tests.backends.FlakyBackend"
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 8
    settings.TIME_ZONE = "UTC"
    FlakyBackend.failures_left = 3
    now = timezone.now().replace(hour=14, minute=0, second=0, microsecond=0)
    retrying = NotificationFactory(recipient="ada@example.com", context={"variant_id": VariantFactory().pk})
    with time_machine.travel(now, tick=False):
        for _ in range(2):
            Notification.objects.filter(pk=retrying.pk).update(next_attempt_at=None)
            assert notification_send(notification_id=retrying.pk).status == "retry"

        retrying.refresh_from_db()
        assert (retrying.status, retrying.attempts) == (NotificationStatus.PENDING, 2)
        assert retrying.last_error == "attempt 2: ConnectionRefusedError('SMTP server unavailable (test)')"
        Notification.objects.filter(pk=retrying.pk).update(next_attempt_at=now + timedelta(minutes=32))
        overdue = NotificationFactory(
            attempts=1, last_error="attempt 1: timed out", next_attempt_at=now - timedelta(minutes=5)
        )
        NotificationFactory(status=NotificationStatus.SENT, attempts=2, last_error="")
        waiting = NotificationFactory()

        response = admin_client.get(reverse(CHANGELIST.format("notification")))
        admin = response.context["cl"].model_admin
        rows = {n.pk: (admin.state(n), admin.error(n)) for n in response.context["cl"].result_list}

    assert rows[retrying.pk] == (
        "Pending: retrying at 14:32, attempt 3 of 8",
        "attempt 2: ConnectionRefusedError('SMTP server unavailable (test)')",
    )
    assert rows[overdue.pk] == ("Pending: retry due since 13:55, attempt 2 of 8", "attempt 1: timed out")
    assert rows[waiting.pk] == ("Pending", "")
    page = response.content.decode()
    assert "Pending: retrying at 14:32, attempt 3 of 8" in page
    assert "attempt 2: ConnectionRefusedError(&#x27;SMTP server unavailable (test)&#x27;)" in page


def test_outbox_retry_on_another_day_shows_the_date(admin_client, settings):
    from datetime import timedelta

    from django.utils import timezone

    from notifications.admin import retry_state
    from shop.formatting import datetime_in_words

    settings.NOTIFICATIONS_MAX_ATTEMPTS = 6
    due = timezone.now() + timedelta(days=2)
    notification = NotificationFactory(attempts=5, next_attempt_at=due)

    assert retry_state(notification) == f"Pending: retrying at {datetime_in_words(due)}, attempt 6 of 6"
