"""The purchase-order page as staff read it (issue 16, admin screenshots): the cancelled field only once it
happened (item 4), and a new expected date saying how many waiting customers will be told (item 5)."""

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse

from inventory.models import PurchaseOrderStatus
from inventory.services import purchase_order_cancel
from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory
from inventory.tests.test_admin import change_form_data
from orders.models import DelayNotice
from orders.tests.delays_helpers import T0, backorderable, day, purchase_order, waiting_order

pytestmark = pytest.mark.django_db


def change_url(po) -> str:
    return reverse("admin:inventory_purchaseorder_change", args=[po.pk])


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


# --- item 4: "Cancelled: Not yet" is gone; a cancelled order says when ----------------------------


def test_an_open_purchase_order_page_has_no_cancelled_field(admin_client):
    po = PurchaseOrderLineFactory().purchase_order

    response = admin_client.get(change_url(po))

    page = response.content.decode()
    assert "field-cancelled" not in page
    assert "Cancelled" not in page.replace("Cancel purchase order", "")
    fields = [f for _, opts in response.context["adminform"].fieldsets for f in opts["fields"]]
    assert "cancelled" not in fields


@time_machine.travel(T0, tick=False)
def test_a_cancelled_purchase_order_page_says_cancelled_on_the_date_in_words(admin_client, admin_user):
    po = PurchaseOrderLineFactory().purchase_order
    purchase_order_cancel(purchase_order_id=po.pk, user_id=admin_user.pk)

    page = admin_client.get(change_url(po)).content.decode()

    field = page[page.index('<div class="form-row field-cancelled">') :]
    field = field[: field.index("</div>\n\n")]
    assert "<label>Cancelled on:</label>" in field
    assert '<div class="readonly">2 March 2026, 09:00 by admin@example.com</div>' in field
    assert "Not yet" not in field


# --- item 5: a new expected date says who will be told -------------------------------------------


def post_new_date(client, po, new_date):
    url = change_url(po)
    data = change_form_data(client.get(url))
    data.update({"expected_date": new_date.isoformat(), "date_change_reason": "Supplier delay"})
    return client.post(url, data)


def test_a_later_date_says_how_many_waiting_orders_will_be_told_and_they_are(
    clock, admin_client, django_capture_on_commit_callbacks
):
    # Given a purchase order of 10 tents due in 8 days; Ada waits on two orders, Bob on one
    tent = backorderable()
    po = purchase_order(tent, 10, day(8))
    for email in ("ada@example.com", "ada@example.com", "bob@example.com"):
        waiting_order(tent, 1, email=email)

    # When staff move the delivery 10 days later
    with django_capture_on_commit_callbacks(execute=True):
        response = post_new_date(admin_client, po, day(18))

    # Then the page says what the delay check does after the save: 3 orders, 2 customers
    assert response.status_code == 302
    assert messages_of(response)[-1] == (
        "info",
        "3 waiting orders now get a later date: their 2 customers will be emailed about the new date.",
    )
    assert DelayNotice.objects.values("order_id").distinct().count() == 3


def test_one_waiting_order(clock, admin_client):
    tent = backorderable()
    po = purchase_order(tent, 10, day(8))
    waiting_order(tent, 1, email="ada@example.com")

    response = post_new_date(admin_client, po, day(18))

    assert messages_of(response)[-1] == (
        "info",
        "1 waiting order now gets a later date: its customer will be emailed about the new date.",
    )


def test_an_earlier_date_tells_nobody(clock, admin_client, django_capture_on_commit_callbacks):
    tent = backorderable()
    po = purchase_order(tent, 10, day(8))
    waiting_order(tent, 1, email="ada@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        response = post_new_date(admin_client, po, day(5))

    assert messages_of(response)[-1] == (
        "info",
        "No waiting order gets a later date, so no customer is emailed about it.",
    )
    assert not DelayNotice.objects.exists()


def test_a_later_date_on_a_purchase_order_nobody_waits_for_tells_nobody(clock, admin_client):
    po = PurchaseOrderLineFactory(purchase_order=PurchaseOrderFactory(expected_date=day(8))).purchase_order

    response = post_new_date(admin_client, po, day(8) + timedelta(days=30))

    assert (
        messages_of(response)[-1][1]
        == "No waiting order gets a later date, so no customer is emailed about it."
    )


def test_a_draft_date_tells_nobody(clock, admin_client):
    tent = backorderable()
    po = purchase_order(tent, 10, day(8), status=PurchaseOrderStatus.DRAFT)
    waiting_order(tent, 1, email="ada@example.com")

    response = post_new_date(admin_client, po, day(18))

    assert messages_of(response)[-1] == (
        "info",
        f"{po.reference} is a draft, so no customer waits on its date and nobody is emailed.",
    )
    assert not DelayNotice.objects.exists()


def test_saving_without_a_date_change_says_nothing_about_customers(clock, admin_client):
    tent = backorderable()
    po = purchase_order(tent, 10, day(8))
    waiting_order(tent, 1, email="ada@example.com")

    response = admin_client.post(change_url(po), change_form_data(admin_client.get(change_url(po))))

    assert [level for level, _ in messages_of(response)] == ["success"]


# --- item 6: on a phone (390 px) the receive page's table scrolls inside its box ------------------


def test_the_receive_table_scrolls_inside_its_box_on_a_phone(admin_client):
    po = PurchaseOrderLineFactory().purchase_order

    page = admin_client.get(reverse("admin:inventory_purchaseorder_receive", args=[po.pk])).content.decode()

    assert '<div class="module admin-table-scroll">\n      <table class="full-width">' in page
    assert "css/admin_pages.css" in page
    css = (Path(settings.BASE_DIR) / "static" / "css" / "admin_pages.css").read_text()
    assert ".admin-table-scroll { overflow-x: auto; max-width: 100%;" in css
