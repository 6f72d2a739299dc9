"""Staff preview every order email in the admin, with real rows as sample data."""

import pytest
from django.urls import reverse

from notifications.models import Notification, NotificationKind
from orders.services import order_cancel_backordered, order_ship
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

ORDER_KINDS = [
    NotificationKind.ORDER_CONFIRMED,
    NotificationKind.ORDER_SHIPPED,
    NotificationKind.ORDER_CANCELLED,
    NotificationKind.BACKORDER_ALLOCATED,
    NotificationKind.ORDER_DELAYED,
    NotificationKind.STAFF_DELAY_DIGEST,
    NotificationKind.FEEDBACK_REQUEST,
]


def preview(admin_client, kind) -> str:
    response = admin_client.get(reverse("admin:notifications_notification_preview", args=[kind]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("kind", ORDER_KINDS)
def test_with_no_orders_yet_the_preview_says_there_is_no_sample(admin_client, kind):
    VariantFactory()

    assert "No sample data yet" in preview(admin_client, kind)


def test_order_emails_preview_from_the_shop_s_own_orders(admin_client, django_capture_on_commit_callbacks):
    kettle = VariantFactory(product__name="Enamel kettle")
    allow_backorders(kettle)
    give_stock(kettle, 1)
    with django_capture_on_commit_callbacks(execute=True):
        order = place([(kettle, 3)], email="ada@example.com").order  # 1 allocated, 2 backordered
        give_stock(kettle, 1)  # the pass serves one more unit
        order_cancel_backordered(order_id=order.pk, quantities={order.lines.get().pk: 1})
        order_ship(order_id=order.pk)
    Notification.objects.all().delete()  # the samples must come from the rows themselves too

    for kind, expected in [
        (NotificationKind.ORDER_CONFIRMED, order.number),
        (NotificationKind.ORDER_SHIPPED, order.number),
        (NotificationKind.ORDER_CANCELLED, "Enamel kettle"),
        (NotificationKind.BACKORDER_ALLOCATED, "Enamel kettle"),
    ]:
        content = preview(admin_client, kind)
        assert "Subject:" in content, kind
        assert expected in content, kind
    assert Notification.objects.count() == 0  # a preview writes nothing


def test_the_latest_queued_email_of_a_kind_is_the_sample(admin_client, django_capture_on_commit_callbacks):
    first, second = VariantFactory(), VariantFactory()
    give_stock(first, 5)
    give_stock(second, 5)
    with django_capture_on_commit_callbacks(execute=False):
        emailed = place([(first, 1)], email="ada@example.com").order
        newer = place([(second, 1)], email="bob@example.com").order
    Notification.objects.filter(recipient="bob@example.com").delete()

    content = preview(admin_client, NotificationKind.ORDER_CONFIRMED)

    assert emailed.number in content and newer.number not in content
