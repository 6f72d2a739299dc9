"""The supplier loop: the purchase order emailed when it is marked ordered, the supplier's page (confirm
the date, or propose another through the staff's date-change service), and its refusals."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from inventory.models import DateChangeSource, PurchaseOrder, PurchaseOrderDateChange, PurchaseOrderStatus
from inventory.services import purchase_order_mark_ordered
from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory, SupplierFactory
from inventory.tokens import make_supplier_po_token, read_supplier_po_token
from notifications.models import Notification, NotificationKind
from orders.models import DelayCause, LineDelay
from orders.tasks import send_due_delay_notices
from orders.tests.delays_helpers import T0, backorderable, day, delay_emails, text_of, waiting_order
from orders.tokens import make_order_token
from shop.formatting import date_range_in_words
from shop.submissions import submission_key_new

pytestmark = pytest.mark.django_db


def draft_po(variant, quantity=5, expected=None, **supplier):
    po = PurchaseOrderFactory(
        status=PurchaseOrderStatus.DRAFT,
        expected_date=expected or day(8),
        supplier=SupplierFactory(
            **{"name": "Alpine Gear Ltd", "contact_email": "orders@alpine.example", **supplier}
        ),
    )
    PurchaseOrderLineFactory(purchase_order=po, variant=variant, quantity_ordered=quantity)
    return po


def supplier_emails(mailbox):
    return [m for m in mailbox if m.to == ["orders@alpine.example"]]


def page_path(text: str) -> str:
    match = re.search(r"https?://[^/\s]+(/suppliers/po/[^\s]+/)", text)
    assert match, text
    return match.group(1)


def answer(client, po, **data):
    data.setdefault("submission_key", submission_key_new())
    return client.post(reverse("inventory:supplier_po", args=[make_supplier_po_token(po.pk)]), data)


# --- the email ---------------------------------------------------------------------------------


def test_marking_ordered_emails_the_purchase_order_to_its_supplier_once(clock, commit, mailoutbox):
    tent = backorderable()
    po = draft_po(tent, 5)

    with commit():
        purchase_order_mark_ordered(purchase_order_id=po.pk)

    rows = Notification.objects.filter(kind=NotificationKind.SUPPLIER_PO)
    assert list(rows.values_list("recipient", "dedupe_key")) == [
        ("orders@alpine.example", f"supplier-po:{po.pk}")
    ]
    [message] = supplier_emails(mailoutbox)
    assert (
        message.subject
        == f"Purchase order {po.reference} from Backorder Shop, delivery expected Tuesday 10 March 2026"
    )
    text = text_of(message)
    assert f"- {tent.sku}  {tent}: 5" in text
    assert "We expect the delivery on Tuesday 10 March 2026." in text
    assert "support@example.com" in text and "+44 20 7946 0321" in text
    assert message.extra_headers.get("Reply-To") == "support@example.com"
    html = message.alternatives[0][0]
    assert tent.sku in html and "Confirm the date or propose another" in html
    token = page_path(text).split("/")[-2]
    assert read_supplier_po_token(token) == po.pk


def test_a_supplier_without_email_is_not_emailed_and_staff_are_told(admin_client, commit):
    po = draft_po(backorderable(), contact_email="")
    url = reverse("admin:inventory_purchaseorder_mark_ordered", args=[po.pk])

    with commit():
        response = admin_client.post(url, follow=True)

    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.ORDERED
    assert Notification.objects.count() == 0
    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith(
        f"{po.reference} is now ordered, but it was NOT emailed: Alpine Gear Ltd has no"
    )


def test_the_admin_says_the_order_was_emailed(admin_client, commit):
    po = draft_po(backorderable())
    with commit():
        response = admin_client.post(
            reverse("admin:inventory_purchaseorder_mark_ordered", args=[po.pk]), follow=True
        )
    assert [str(m) for m in response.context["messages"]] == [
        f"{po.reference} is now ordered and was emailed to Alpine Gear Ltd (orders@alpine.example)."
    ]


# --- the page ------------------------------------------------------------------------------------


def ordered(po):
    purchase_order_mark_ordered(purchase_order_id=po.pk)
    po.refresh_from_db()
    return po


def test_the_page_shows_the_order_and_changes_nothing(client, clock, django_assert_max_num_queries):
    tent = backorderable()
    po = ordered(draft_po(tent, 5))
    path = reverse("inventory:supplier_po", args=[make_supplier_po_token(po.pk)])

    with django_assert_max_num_queries(6):
        response = client.get(path)

    html = response.content.decode()
    assert response.status_code == 200
    assert f"Purchase order {po.reference}" in html and tent.sku in html
    assert "We expect the delivery on <strong>Tuesday 10 March 2026</strong>" in html
    po.refresh_from_db()
    assert po.confirmed_at is None


def test_confirming_is_recorded_once(client, clock):
    po = ordered(draft_po(backorderable()))
    key = submission_key_new()

    first = answer(client, po, answer="confirm", submission_key=key)
    po.refresh_from_db()
    confirmed_at = po.confirmed_at
    clock.shift(timedelta(minutes=5))
    again = answer(client, po, answer="confirm", submission_key=key)

    assert first.status_code == 302 and again.status_code == 302
    po.refresh_from_db()
    assert (po.confirmed_date, po.confirmed_at) == (day(8), confirmed_at)
    page = client.get(first.url).content.decode()
    assert "We already have this answer; nothing was changed." in page
    assert "You confirmed delivery on <strong>Tuesday 10 March 2026</strong>" in page
    assert PurchaseOrderDateChange.objects.count() == 0


def test_a_later_date_from_the_supplier_runs_the_staff_date_change_and_emails_waiting_customers_once(
    client, admin_client, clock, commit, mailoutbox
):
    tent = backorderable()
    po = ordered(draft_po(tent, 5))
    waiting_order(tent, 2, email="ada@example.com")
    mailoutbox.clear()

    with commit():
        response = answer(
            client, po, answer="propose", expected_date="2026-03-20", reason="Factory closed for a week"
        )

    assert response.status_code == 302
    [change] = PurchaseOrderDateChange.objects.all()
    assert (change.old_date, change.new_date, change.source, change.reason, change.changed_by_id) == (
        day(8),
        day(18),
        DateChangeSource.SUPPLIER,
        "Factory closed for a week",
        None,
    )
    po.refresh_from_db()
    assert (po.expected_date, po.confirmed_date) == (day(18), day(18))
    # The customer's date moves ten days later (the projection may pad both ends alike).
    [delay] = LineDelay.objects.all()
    assert (delay.cause, (delay.new_date - delay.old_date).days) == (DelayCause.PO_DATE_CHANGED, 10)
    # The delay check's quiet period, then the due notices are sent, as for a staff change.
    clock.move_to(T0 + timedelta(minutes=31))
    with commit():
        send_due_delay_notices()
    with commit():
        send_due_delay_notices()
    [email] = delay_emails(mailoutbox)
    assert email.to == ["ada@example.com"]
    # the new range: 20 March + the supplier's default lateness, 2 to 7 days (docs/dates.md)
    delay.refresh_from_db()
    assert date_range_in_words(delay.new_earliest_date, delay.new_date) == "23–27 March 2026"
    assert "New date: 23–27 March 2026" in text_of(email)
    # The purchase order's history in the admin shows who moved it and why.
    html = admin_client.get(reverse("admin:inventory_purchaseorder_change", args=[po.pk])).content.decode()
    assert "Supplier (from the emailed link)" in html and "Factory closed for a week" in html


@pytest.mark.parametrize(
    "data, message",
    [
        ({"expected_date": "2026-03-01", "reason": "Late"}, "That date has passed"),
        ({"expected_date": "2026-03-20", "reason": "   "}, "Please tell us why the date changes."),
        ({"expected_date": "next week", "reason": "Late"}, "Enter the date as a date"),
        (
            {"expected_date": "2026-03-22", "reason": "Late"},
            "We cannot take deliveries on that day",
        ),  # a Sunday
        ({"reason": "Late"}, "Choose the date you can deliver."),
    ],
)
def test_bad_proposals_are_refused_clearly_and_change_nothing(client, clock, data, message):
    po = ordered(draft_po(backorderable()))

    response = answer(client, po, answer="propose", **data)

    assert response.status_code == 400
    assert message in response.content.decode()
    po.refresh_from_db()
    assert (po.expected_date, po.confirmed_at) == (day(8), None)
    assert PurchaseOrderDateChange.objects.count() == 0


def test_tampered_expired_or_foreign_links_get_a_clear_page(client, clock):
    po = ordered(draft_po(backorderable()))
    token = make_supplier_po_token(po.pk)
    for bad in (token[:-2] + "xx", make_order_token("A-1")):
        response = client.get(reverse("inventory:supplier_po", args=[bad]))
        assert response.status_code == 400
        assert "This link is invalid or has expired" in response.content.decode()

    clock.shift(timedelta(days=91))
    response = client.post(
        reverse("inventory:supplier_po", args=[token]),
        {"answer": "confirm", "submission_key": submission_key_new()},
    )
    assert response.status_code == 400
    po.refresh_from_db()
    assert po.confirmed_at is None


def test_a_closed_order_has_nothing_to_answer(client, clock):
    po = ordered(draft_po(backorderable()))
    PurchaseOrder.objects.filter(pk=po.pk).update(status=PurchaseOrderStatus.CANCELLED)

    response = answer(client, po, answer="confirm")

    assert response.status_code == 200
    assert "This order is cancelled: there is nothing left to confirm." in response.content.decode()
    po.refresh_from_db()
    assert po.confirmed_at is None


def test_answers_are_throttled(client, clock, settings):
    settings.SUPPLIER_PAGE_RATE_PER_ORDER = "2/h"
    po = ordered(draft_po(backorderable()))
    statuses = [answer(client, po, answer="confirm").status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
