"""Every email in its recipient's language (docs/i18n.md): the outbox stores it, rendering and
batches happen inside it, and a batch never shares one rendering between two languages."""

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from notifications.emails import EmailBatch, render_notification
from notifications.models import BackInStockSubscription, Notification, NotificationKind
from notifications.services import notification_create, notifications_insert, subscription_create
from notifications.tests.factories import NotificationFactory
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kettle():
    return VariantFactory(
        sku="KETTLE-RED", price="1234.56", product__name="Enamel kettle", product__slug="kettle"
    )


def test_the_outbox_stores_the_language_and_leaves_an_unknown_one_to_the_default():
    with transaction.atomic():
        german = notification_create(
            kind=NotificationKind.ORDER_CONFIRMED, recipient="a@x.de", dedupe_key="1", language="de"
        )
        unknown = notification_create(
            kind=NotificationKind.ORDER_CONFIRMED, recipient="b@x.de", dedupe_key="2", language="xx"
        )
        default = notification_create(
            kind=NotificationKind.ORDER_CONFIRMED, recipient="c@x.de", dedupe_key="3"
        )
        ids = notifications_insert(
            rows=[
                {
                    "kind": NotificationKind.BACK_IN_STOCK,
                    "recipient": "d@x.de",
                    "dedupe_key": "4",
                    "language": "de",
                },
                {"kind": NotificationKind.BACK_IN_STOCK, "recipient": "e@x.com", "dedupe_key": "5"},
            ]
        )

    assert (german.language, unknown.language, default.language) == ("de", "", "")
    assert list(
        Notification.objects.filter(pk__in=ids).order_by("pk").values_list("language", flat=True)
    ) == ["de", ""]


def test_a_subscription_keeps_the_language_it_was_made_in(kettle):
    subscription_create(variant_id=kettle.pk, email="Grete@example.de", language="de")

    subscription = BackInStockSubscription.objects.get()
    assert subscription.language == "de"
    confirm = Notification.objects.get(kind=NotificationKind.SUBSCRIPTION_CONFIRM)
    assert confirm.language == "de"
    assert "/de/notifications/confirm/" in render_notification(confirm)[1]


def test_a_back_in_stock_email_is_rendered_in_its_language(kettle):
    german = NotificationFactory(
        kind=NotificationKind.BACK_IN_STOCK,
        recipient="grete@example.de",
        language="de",
        context={"variant_id": kettle.pk, "subscription_id": 1, "wave": 1},
    )
    english = NotificationFactory(
        kind=NotificationKind.BACK_IN_STOCK,
        recipient="ada@example.com",
        context={"variant_id": kettle.pk, "subscription_id": 2, "wave": 1},
    )

    _, german_text, german_html, german_headers = render_notification(german)
    _, english_text, _, english_headers = render_notification(english)

    assert "1.234,56\u00a0€" in german_text and "€1,234.56" not in german_text
    assert "/de/p/kettle/" in german_text and "/de/p/kettle/" in german_html
    assert "/de/notifications/unsubscribe/" in german_headers["List-Unsubscribe"]
    assert "€1,234.56" in english_text and "/de/" not in english_text
    assert "/de/" not in english_headers["List-Unsubscribe"]


def test_a_batch_never_shares_a_rendering_between_languages(kettle):
    rows = [
        NotificationFactory(
            kind=NotificationKind.BACK_IN_STOCK,
            recipient=f"r{n}@example.com",
            language=language,
            context={"variant_id": kettle.pk, "subscription_id": n, "wave": 1},
        )
        for n, language in enumerate(["de", "", "de", "en"])
    ]
    batch = EmailBatch()

    with time_machine.travel(timezone.now(), tick=False):  # the unsubscribe tokens carry a timestamp
        rendered = [batch.render(row) for row in rows]
        assert rendered == [render_notification(row) for row in rows]

    texts = [text for _, text, _, _ in rendered]
    assert ["1.234,56\u00a0€" in text for text in texts] == [True, False, True, False]
    assert ["€1,234.56" in text for text in texts] == [False, True, False, True]
    assert ["/de/notifications/unsubscribe/" in headers["List-Unsubscribe"] for *_, headers in rendered] == [
        True,
        False,
        True,
        False,
    ]
