"""The supplier loop's reminders and the dashboard: suppliers' answers, and waiting units no open
purchase order covers with their one-click draft purchase order."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderStatus
from inventory.services import purchase_order_supplier_confirm, supplier_reminders_send
from inventory.tasks import send_supplier_reminders
from inventory.tests.factories import PurchaseOrderFactory, PurchaseOrderLineFactory, SupplierFactory
from notifications.models import Notification, NotificationKind
from orders.tests.delays_helpers import T0, backorderable, day, text_of, waiting_order
from shop.submissions import submission_key_new

pytestmark = pytest.mark.django_db
DASHBOARD = "/admin/dashboard/"


def ordered_po(variant, quantity=5, expected=None, email="orders@alpine.example", **fields):
    po = PurchaseOrderFactory(
        expected_date=expected or day(8),
        ordered_at=T0,
        supplier=SupplierFactory(contact_email=email),
        **fields,
    )
    PurchaseOrderLineFactory(purchase_order=po, variant=variant, quantity_ordered=quantity)
    return po


def reminders():
    return sorted(
        Notification.objects.filter(kind=NotificationKind.SUPPLIER_PO_REMINDER).values_list(
            "dedupe_key", flat=True
        )
    )


def test_reminders_go_once_when_unconfirmed_after_n_days_and_once_when_overdue(
    clock, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.SUPPLIER_CONFIRM_REMINDER_DAYS = 3
    tent = backorderable()
    po = ordered_po(tent, expected=day(8))
    ordered_po(tent, email="")  # no address: never reminded
    confirmed = ordered_po(tent)
    purchase_order_supplier_confirm(purchase_order_id=confirmed.pk, submission_key=submission_key_new())

    clock.move_to(T0 + timedelta(days=2, hours=23))
    assert send_supplier_reminders() == 0

    clock.move_to(T0 + timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        assert send_supplier_reminders() == 1
    assert send_supplier_reminders() == 0
    assert reminders() == [f"supplier-po-reminder:{po.pk}:unconfirmed"]
    [message] = [m for m in mailoutbox if m.to == ["orders@alpine.example"]]
    assert message.subject == f"Please confirm purchase order {po.reference} for Tuesday 10 March 2026"
    assert "have not heard back yet" in text_of(message) and "/suppliers/po/" in text_of(message)

    clock.move_to(T0 + timedelta(days=9))  # the expected date (10 March) has passed
    assert supplier_reminders_send() == 2  # both open orders with an address are overdue
    assert supplier_reminders_send() == 0
    assert reminders() == sorted(
        [
            f"supplier-po-reminder:{po.pk}:unconfirmed",
            f"supplier-po-reminder:{po.pk}:overdue",
            f"supplier-po-reminder:{confirmed.pk}:overdue",
        ]
    )
    overdue = Notification.objects.get(dedupe_key=f"supplier-po-reminder:{po.pk}:overdue")
    assert overdue.context == {"purchase_order_id": po.pk, "reason": "overdue"}


def test_a_received_or_cancelled_order_is_never_reminded(clock):
    tent = backorderable()
    ordered_po(tent, status=PurchaseOrderStatus.RECEIVED)
    ordered_po(tent, status=PurchaseOrderStatus.CANCELLED)
    clock.move_to(T0 + timedelta(days=30))
    assert supplier_reminders_send() == 0


# --- the dashboard -----------------------------------------------------------------------------


def test_uncovered_waiting_units_show_per_sku_with_a_draft_button_that_drafts_once(admin_client, clock):
    boot = backorderable(name="Ridgewalker Hiking Boot")
    old = ordered_po(boot, 4, status=PurchaseOrderStatus.RECEIVED)  # its usual supplier
    waiting_order(boot, 6, email="ada@example.com")
    tent = backorderable()
    ordered_po(tent, 10)
    waiting_order(tent, 3, email="bob@example.com")  # covered by the open purchase order

    html = admin_client.get(DASHBOARD).content.decode()
    assert boot.sku in html and "Draft a PO for 6" in html
    assert f">{tent.sku}<" not in html

    key = submission_key_new()
    data = {"variant": boot.pk, "submission_key": key}
    first = admin_client.post(reverse("staff_draft_shortfall"), data, follow=True)
    second = admin_client.post(reverse("staff_draft_shortfall"), data, follow=True)

    [draft] = PurchaseOrder.objects.filter(status=PurchaseOrderStatus.DRAFT)
    assert draft.supplier_id == old.supplier_id
    assert list(
        PurchaseOrderLine.objects.filter(purchase_order=draft).values_list("variant_id", "quantity_ordered")
    ) == [(boot.pk, 6)]
    assert f">{draft.reference}</a> for " in str(list(first.context["messages"])[0])
    assert "already sent" in str(list(second.context["messages"])[0])


def test_an_item_never_ordered_has_no_supplier_to_draft_for(admin_client, clock):
    boot = backorderable(name="Ridgewalker Hiking Boot")
    waiting_order(boot, 6, email="ada@example.com")

    html = admin_client.get(DASHBOARD).content.decode()
    assert "None known" in html and "Order it by hand" in html
    response = admin_client.post(
        reverse("staff_draft_shortfall"),
        {"variant": boot.pk, "submission_key": submission_key_new()},
        follow=True,
    )
    assert "no supplier known" in str(list(response.context["messages"])[0])
    assert PurchaseOrder.objects.filter(status=PurchaseOrderStatus.DRAFT).count() == 0


def test_suppliers_answers_on_the_dashboard(admin_client, clock):
    tent = backorderable()
    awaiting = ordered_po(tent)
    confirmed = ordered_po(tent)
    purchase_order_supplier_confirm(purchase_order_id=confirmed.pk, submission_key=submission_key_new())
    late = ordered_po(tent, expected=day(-2))

    html = admin_client.get(DASHBOARD).content.decode()
    assert "Awaiting confirmation (2)" in html  # awaiting and late
    assert awaiting.reference in html and late.reference in html
    assert "Overdue purchase orders (1)" in html
    listed = admin_client.get(
        reverse("admin:inventory_purchaseorder_changelist") + "?answer=awaiting"
    ).content.decode()
    assert awaiting.reference in listed and confirmed.reference not in listed


def test_the_supplier_loop_costs_the_same_queries_for_one_item_or_many(
    admin_client, clock, django_assert_num_queries
):
    boot = backorderable(name="Boot")
    ordered_po(boot, 1, status=PurchaseOrderStatus.RECEIVED)
    # An open purchase order from the start too: the dashboard's projection then reads its supplier's
    # habits (2 queries, docs/dates.md) for one item as for many, which is what is compared.
    ordered_po(boot, 1)
    waiting_order(boot, 2, email="a@example.com")
    admin_client.get(DASHBOARD)  # warm the session
    with CaptureQueriesContext(connection) as one:
        admin_client.get(DASHBOARD)
    for n in range(5):
        item = backorderable(name=f"Item {n}")
        ordered_po(item, 1, status=PurchaseOrderStatus.RECEIVED)
        ordered_po(item, 1)  # awaiting confirmation
        waiting_order(item, 3, email=f"c{n}@example.com")
    with django_assert_num_queries(len(one)):
        html = admin_client.get(DASHBOARD).content.decode()
    assert html.count("Draft a PO for") == 6
