"""The stock forms (adjust, count, receive) are applied once per submission: their one-time key.

The first part runs on both databases: the same form sent twice in sequence. The race tests send it
twice at the same moment from two logged-in browsers and need PostgreSQL (SQLite has no row locks and
serializes every writer, so a race there proves nothing).
"""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import User
from config.testing import run_together
from inventory.models import PurchaseOrderLine, PurchaseOrderStatus, StockItem, StockMovement
from inventory.selectors import ledger_discrepancies
from inventory.services import stock_adjust
from inventory.tests.factories import PurchaseOrderLineFactory, WarehouseFactory
from shop.models import SubmissionKey
from shop.submissions import OUT_OF_DATE, submission_key_new
from shop.tests.factories import VariantFactory
from shop.tests.helpers import keyed

ALREADY_SENT = "This form was already sent at "
NOT_AGAIN = "; it was not applied a second time."


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def is_duplicate_warning(response) -> bool:
    """The response's own message (the last: an unread one from the first submission may precede it)."""
    level, text = messages_of(response)[-1]
    return level == "warning" and text.startswith(ALREADY_SENT) and text.endswith(NOT_AGAIN)


def add_stock(quantity: int) -> StockItem:
    variant, warehouse = VariantFactory(), WarehouseFactory()
    movement = stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=quantity)
    return StockItem.objects.get(pk=movement.stock_item_id)


def levels(item: StockItem) -> tuple[int, int]:
    item.refresh_from_db()
    return item.on_hand, item.allocated


def adjust_url(item: StockItem) -> str:
    return reverse("admin:inventory_stockitem_adjust_item", args=[item.pk])


def count_url(item: StockItem) -> str:
    return reverse("admin:inventory_stockitem_count_item", args=[item.pk])


def item_url(item: StockItem) -> str:
    return reverse("admin:inventory_stockitem_change", args=[item.pk])


def receive_url(po) -> str:
    return reverse("admin:inventory_purchaseorder_receive", args=[po.pk])


def po_url(po) -> str:
    return reverse("admin:inventory_purchaseorder_change", args=[po.pk])


def received(line: PurchaseOrderLine) -> int:
    line.refresh_from_db()
    return line.quantity_received


# --- the same form sent twice in sequence (both databases) ----------------------------------------


@pytest.mark.django_db
def test_stock_pages_give_each_rendering_a_fresh_key(admin_client):
    item = add_stock(5)
    po = PurchaseOrderLineFactory().purchase_order

    for url in (
        adjust_url(item),
        count_url(item),
        reverse("admin:inventory_stockitem_adjust"),
        receive_url(po),
    ):
        first, second = admin_client.get(url), admin_client.get(url)
        keys = [r.context["form"]["submission_key"].value() for r in (first, second)]
        assert keys[0] != keys[1], url
        assert all(len(key) == 32 for key in keys), url
        assert f'type="hidden" name="submission_key" value="{keys[1]}"' in second.content.decode(), url


@pytest.mark.django_db
def test_adjustment_sent_twice_is_applied_once(admin_client):
    item = add_stock(5)
    form = keyed({"quantity_change": "4", "reason": "adjusted", "note": "found"})

    first = admin_client.post(adjust_url(item), form)
    second = admin_client.post(adjust_url(item), form)

    assert (first.status_code, first.url) == (302, item_url(item))
    assert messages_of(first)[0][0] == "success"
    assert (second.status_code, second.url) == (302, item_url(item))
    assert is_duplicate_warning(second)
    assert levels(item) == (9, 0)
    assert StockMovement.objects.filter(stock_item=item).count() == 2  # the setup's and one adjustment
    assert SubmissionKey.objects.get().action == "stock_adjust"


@pytest.mark.django_db
def test_adjustment_from_the_list_sent_twice_goes_back_to_its_stock_item(admin_client):
    variant, warehouse = VariantFactory(), WarehouseFactory()
    form = keyed(
        {"variant": variant.pk, "warehouse": warehouse.pk, "quantity_change": "3", "reason": "adjusted"}
    )

    admin_client.post(reverse("admin:inventory_stockitem_adjust"), form)
    second = admin_client.post(reverse("admin:inventory_stockitem_adjust"), form)

    item = StockItem.objects.get(variant=variant, warehouse=warehouse)
    assert (second.status_code, second.url) == (302, item_url(item))
    assert is_duplicate_warning(second)
    assert levels(item) == (3, 0)
    assert StockMovement.objects.count() == 1


@pytest.mark.django_db
def test_refused_adjustment_keeps_its_key_and_the_corrected_form_is_applied_once(admin_client):
    item = add_stock(5)
    key = submission_key_new()

    refused = admin_client.post(
        adjust_url(item), keyed({"quantity_change": "-8", "reason": "adjusted"}, key=key)
    )
    corrected = keyed({"quantity_change": "-2", "reason": "adjusted"}, key=key)
    applied = admin_client.post(adjust_url(item), corrected)
    again = admin_client.post(adjust_url(item), corrected)

    assert refused.status_code == 200
    assert refused.context["form"]["submission_key"].value() == key  # the re-shown form sends the same key
    assert f'name="submission_key" value="{key}"' in refused.content.decode()
    assert applied.status_code == 302
    assert messages_of(applied)[0][0] == "success"
    assert is_duplicate_warning(again)
    assert levels(item) == (3, 0)
    assert StockMovement.objects.filter(stock_item=item).count() == 2
    assert SubmissionKey.objects.filter(key=key).count() == 1


@pytest.mark.django_db
def test_count_sent_twice_is_applied_once_even_after_the_stock_moved(admin_client):
    item = add_stock(5)
    form = keyed({"counted": "3", "note": "shelf B"})

    first = admin_client.post(count_url(item), form)
    stock_adjust(variant_id=item.variant_id, warehouse_id=item.warehouse_id, quantity_change=2)  # a return
    second = admin_client.post(count_url(item), form)

    assert first.status_code == 302
    assert (second.status_code, second.url) == (302, item_url(item))
    assert is_duplicate_warning(second)
    assert levels(item) == (5, 0)  # 3 counted, 2 returned since: the old count did not undo the return
    assert StockMovement.objects.filter(stock_item=item, reason="counted").count() == 1
    assert StockMovement.objects.filter(stock_item=item).count() == 3


@pytest.mark.django_db
def test_receipt_sent_twice_is_received_once(admin_client, admin_user):
    line = PurchaseOrderLineFactory(quantity_ordered=10)
    po = line.purchase_order
    form = keyed({f"line_{line.pk}": "1", "_receive": "1"})

    first = admin_client.post(receive_url(po), form)
    second = admin_client.post(receive_url(po), form)

    assert (first.status_code, first.url) == (302, po_url(po))
    assert messages_of(first) == [
        ("success", f"Received 1 unit on {po.reference}. It is now partially received.")
    ]
    assert (second.status_code, second.url) == (302, po_url(po))
    assert is_duplicate_warning(second)
    assert received(line) == 1
    assert StockItem.objects.get(variant=line.variant, warehouse=po.warehouse).on_hand == 1
    movement = StockMovement.objects.get()
    assert (movement.po_line_id, movement.on_hand_delta, movement.user) == (line.pk, 1, admin_user)
    assert SubmissionKey.objects.get().action == "purchase_order_receive"


@pytest.mark.django_db
def test_receive_all_sent_twice_is_received_once(admin_client):
    line = PurchaseOrderLineFactory(quantity_ordered=4)
    po = line.purchase_order
    form = keyed({f"line_{line.pk}": "4", "_receive_all": "1"})

    first = admin_client.post(receive_url(po), form)
    second = admin_client.post(receive_url(po), form)

    assert messages_of(first) == [("success", f"Received 4 units on {po.reference}. It is now received.")]
    assert (second.status_code, second.url) == (302, po_url(po))
    assert is_duplicate_warning(second)
    assert received(line) == 4
    assert StockMovement.objects.count() == 1


@pytest.mark.django_db
def test_refused_receipt_then_the_corrected_one_with_the_same_key_is_received_once(admin_client):
    line = PurchaseOrderLineFactory(quantity_ordered=10)
    po = line.purchase_order
    key = submission_key_new()

    refused = admin_client.post(receive_url(po), keyed({f"line_{line.pk}": "11"}, key=key))
    corrected = keyed({f"line_{line.pk}": "4"}, key=key)
    applied = admin_client.post(receive_url(po), corrected)
    again = admin_client.post(receive_url(po), corrected)

    assert refused.status_code == 200
    assert refused.context["error"] == (
        f"{line.variant.sku}: 11 received but only 10 outstanding. "
        "Over-receipt is not allowed; record extra units as a stock adjustment."
    )
    assert refused.context["form"]["submission_key"].value() == key
    assert messages_of(applied) == [
        ("success", f"Received 4 units on {po.reference}. It is now partially received.")
    ]
    assert is_duplicate_warning(again)
    assert received(line) == 4
    assert StockItem.objects.get(variant=line.variant).on_hand == 4
    assert StockMovement.objects.count() == 1
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.PARTIALLY_RECEIVED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key", [None, "", "not-a-key", "A" * 32], ids=["missing", "empty", "malformed", "upper"]
)
def test_stock_forms_without_a_good_key_say_so_and_change_nothing(admin_client, key):
    item = add_stock(5)
    line = PurchaseOrderLineFactory(quantity_ordered=10)
    po = line.purchase_order
    extra = {} if key is None else {"submission_key": key}

    responses = [
        admin_client.post(adjust_url(item), {"quantity_change": "4", "reason": "adjusted", **extra}),
        admin_client.post(count_url(item), {"counted": "1", **extra}),
        admin_client.post(receive_url(po), {f"line_{line.pk}": "3", "_receive": "1", **extra}),
        admin_client.post(receive_url(po), {"_receive_all": "1", **extra}),
    ]

    for response in responses:
        assert response.status_code == 200
        page = response.content.decode()
        assert OUT_OF_DATE in page
    assert "The stock was not changed." in responses[0].content.decode()
    assert "Nothing was received." in responses[2].content.decode()
    assert levels(item) == (5, 0)
    assert received(line) == 0
    assert StockMovement.objects.count() == 1
    assert SubmissionKey.objects.count() == 0


# --- the same form sent twice at the same moment (PostgreSQL) -------------------------------------


def two_staff_browsers() -> list[Client]:
    """Two clients logged in as the same staff user, like two tabs or a double click."""
    staff = User.objects.create_superuser("clerk@example.com", "x")
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(staff)
    return clients


def post_together(url: str, form: dict) -> list:
    responses = run_together([lambda c=c: c.post(url, form) for c in two_staff_browsers()])
    assert [r for r in responses if isinstance(r, Exception)] == []
    return responses


def one_success_one_warning(responses) -> bool:
    kinds = sorted("warning" if is_duplicate_warning(r) else messages_of(r)[0][0] for r in responses)
    return kinds == ["success", "warning"] and all(r.status_code == 302 for r in responses)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_receipt_sent_twice_at_the_same_moment_is_received_once():
    line = PurchaseOrderLineFactory(quantity_ordered=10)
    po = line.purchase_order

    responses = post_together(receive_url(po), keyed({f"line_{line.pk}": "4", "_receive": "1"}))

    assert one_success_one_warning(responses)
    assert received(line) == 4
    item = StockItem.objects.get(variant=line.variant, warehouse=po.warehouse)
    assert (item.on_hand, item.allocated) == (4, 0)
    assert StockMovement.objects.count() == 1
    assert SubmissionKey.objects.count() == 1
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert ledger_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_adjustment_sent_twice_at_the_same_moment_is_applied_once():
    item = add_stock(5)

    responses = post_together(adjust_url(item), keyed({"quantity_change": "4", "reason": "adjusted"}))

    assert one_success_one_warning(responses)
    assert levels(item) == (9, 0)
    assert StockMovement.objects.filter(stock_item=item).count() == 2
    assert SubmissionKey.objects.count() == 1
    assert ledger_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_count_sent_twice_at_the_same_moment_is_applied_once():
    item = add_stock(5)

    responses = post_together(count_url(item), keyed({"counted": "2", "note": "shelf C"}))

    assert one_success_one_warning(responses)
    assert levels(item) == (2, 0)
    counted = StockMovement.objects.get(stock_item=item, reason="counted")
    assert counted.on_hand_delta == -3
    assert StockMovement.objects.filter(stock_item=item).count() == 2
    assert SubmissionKey.objects.count() == 1
    assert ledger_discrepancies() == []
