from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import User
from inventory.models import (
    MovementReason,
    PurchaseOrder,
    PurchaseOrderDateChange,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    StockItem,
    StockMovement,
)
from inventory.services import PurchaseOrderError, purchase_order_cancel, purchase_order_receive, stock_adjust
from inventory.tests.factories import (
    BackorderPolicyFactory,
    PurchaseOrderFactory,
    PurchaseOrderLineFactory,
    SupplierFactory,
    WarehouseFactory,
)
from shop.tests.factories import VariantFactory
from shop.tests.helpers import keyed

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def add_stock(quantity: int = 5, **kwargs) -> StockItem:
    variant = kwargs.get("variant") or VariantFactory()
    warehouse = kwargs.get("warehouse") or WarehouseFactory()
    movement = stock_adjust(variant_id=variant.pk, warehouse_id=warehouse.pk, quantity_change=quantity)
    return StockItem.objects.get(pk=movement.stock_item_id)


def levels(item: StockItem) -> tuple[int, int]:
    item.refresh_from_db()
    return item.on_hand, item.allocated


# --- query budgets: a changelist costs the same for 1 row and for 20 ------------------------


def make_received_movement(user):
    line = PurchaseOrderLineFactory()
    purchase_order_receive(purchase_order_id=line.purchase_order_id, user_id=user.pk)


def make_stock_item(user):
    add_stock()


def make_purchase_order(user):
    PurchaseOrderLineFactory(purchase_order__expected_date=date(2026, 11, 21))


CHANGELISTS = [
    # model, how to make one row, queries measured for one row
    ("warehouse", lambda user: WarehouseFactory(), 5),
    ("stockitem", make_stock_item, 6),
    ("stockmovement", make_received_movement, 7),
    ("purchaseorder", make_purchase_order, 7),
    ("supplier", lambda user: PurchaseOrderFactory(), 6),  # + habits (1: orders with their last receipt)
    ("backorderpolicy", lambda user: BackorderPolicyFactory(), 5),
]


@pytest.mark.parametrize(("model", "make_row", "budget"), CHANGELISTS, ids=[c[0] for c in CHANGELISTS])
def test_changelist_queries_do_not_grow_with_rows(
    admin_client,
    admin_user,
    django_assert_num_queries,
    django_assert_max_num_queries,
    model,
    make_row,
    budget,
):
    url = reverse(f"admin:inventory_{model}_changelist")
    make_row(admin_user)
    with django_assert_num_queries(budget):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1

    for _ in range(19):
        make_row(admin_user)
    with django_assert_max_num_queries(budget):
        response = admin_client.get(url)

    assert response.status_code == 200
    assert response.context["cl"].result_count == 20


def test_empty_stock_list_says_how_stock_appears(admin_client):
    response = admin_client.get(reverse("admin:inventory_stockitem_changelist"))

    assert "No stock yet." in response.content.decode()


# --- adjusting and counting stock -----------------------------------------------------------


def test_adjust_page_adds_stock_for_a_variant_without_stock_and_records_the_user(admin_client, admin_user):
    variant, warehouse = VariantFactory(sku="MUG-1"), WarehouseFactory(name="Main")

    response = admin_client.post(
        reverse("admin:inventory_stockitem_adjust"),
        keyed(
            {
                "variant": variant.pk,
                "warehouse": warehouse.pk,
                "quantity_change": "5",
                "reason": "returned",
                "note": "back from a fair",
            }
        ),
    )

    item = StockItem.objects.get(variant=variant, warehouse=warehouse)
    assert response.status_code == 302
    assert response.url == reverse("admin:inventory_stockitem_change", args=[item.pk])
    assert levels(item) == (5, 0)
    movement = StockMovement.objects.get()
    assert (movement.on_hand_delta, movement.reason, movement.user, movement.note) == (
        5,
        MovementReason.RETURNED,
        admin_user,
        "back from a fair",
    )
    assert messages_of(response) == [
        "MUG-1 at Main: 5 units added; now 5 on hand, 0 set aside for orders, 5 free."
    ]


def test_adjust_page_of_a_stock_item_removes_units_from_that_item_only(admin_client, admin_user):
    item = add_stock(5)
    other = WarehouseFactory()

    response = admin_client.post(
        reverse("admin:inventory_stockitem_adjust_item", args=[item.pk]),
        # The item fixes variant and warehouse: a posted warehouse is ignored.
        keyed({"warehouse": other.pk, "quantity_change": "-2", "reason": "adjusted", "note": "damaged"}),
    )

    assert response.status_code == 302
    assert levels(item) == (3, 0)
    assert StockItem.objects.filter(warehouse=other).count() == 0
    movement = StockMovement.objects.get(user=admin_user)
    assert (movement.stock_item_id, movement.on_hand_delta) == (item.pk, -2)


def test_adjust_page_shows_a_refused_removal_and_writes_nothing(admin_client):
    item = add_stock(5)

    response = admin_client.post(
        reverse("admin:inventory_stockitem_adjust_item", args=[item.pk]),
        keyed({"quantity_change": "-8", "reason": "adjusted"}),
    )

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        f"Cannot remove 8 of {item.variant.sku} at {item.warehouse.code}: 5 on hand, "
        "0 set aside for orders, so at most 5 can be removed."
    ]
    assert "The stock was not changed." in response.content.decode()
    assert levels(item) == (5, 0)
    assert StockMovement.objects.count() == 1


def test_adjust_page_refuses_a_zero_change(admin_client):
    item = add_stock(5)

    response = admin_client.post(
        reverse("admin:inventory_stockitem_adjust_item", args=[item.pk]),
        keyed({"quantity_change": "0", "reason": "adjusted"}),
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "quantity_change": ["Enter a quantity change other than zero."]
    }
    assert StockMovement.objects.count() == 1


def test_adjust_page_from_the_list_offers_variant_search_and_warehouses(admin_client):
    WarehouseFactory(name="Main")

    response = admin_client.get(reverse("admin:inventory_stockitem_adjust"))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-ajax--url="/admin/shop/variant/autocomplete/"' in page
    assert ">Main (WH" in page


def test_adjust_page_get_shows_the_levels_and_changes_nothing(admin_client):
    item = add_stock(5)

    response = admin_client.get(reverse("admin:inventory_stockitem_adjust_item", args=[item.pk]))

    assert response.status_code == 200
    assert "5 on hand, 0 set aside for orders, 5 free." in response.content.decode()
    assert StockMovement.objects.count() == 1


def test_stock_count_sets_on_hand_and_records_the_difference(admin_client, admin_user):
    item = add_stock(5)

    response = admin_client.post(
        reverse("admin:inventory_stockitem_count_item", args=[item.pk]),
        keyed({"counted": "3", "note": "shelf B"}),
    )

    assert response.status_code == 302
    assert levels(item) == (3, 0)
    movement = StockMovement.objects.get(reason=MovementReason.COUNTED)
    assert (movement.on_hand_delta, movement.user, movement.note) == (-2, admin_user, "shelf B")
    assert messages_of(response) == [
        f"{item.variant.sku} at {item.warehouse.name}: stock count recorded, on hand changed by −2; "
        "now 3 on hand, 0 set aside for orders, 3 free."
    ]


def test_stock_count_matching_the_records_writes_nothing(admin_client):
    item = add_stock(5)

    response = admin_client.post(
        reverse("admin:inventory_stockitem_count_item", args=[item.pk]), keyed({"counted": "5"})
    )

    assert response.status_code == 302
    assert StockMovement.objects.count() == 1
    assert "the count matches the records, nothing changed" in messages_of(response)[0]


def test_stock_count_refuses_a_negative_count(admin_client):
    item = add_stock(5)

    response = admin_client.post(
        reverse("admin:inventory_stockitem_count_item", args=[item.pk]), keyed({"counted": "-1"})
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["counted"]
    assert levels(item) == (5, 0)


def test_stock_item_cannot_be_added_or_edited_in_the_admin(admin_client):
    item = add_stock(5)
    change_url = reverse("admin:inventory_stockitem_change", args=[item.pk])

    assert admin_client.get(reverse("admin:inventory_stockitem_add")).status_code == 403
    assert admin_client.post(change_url, {"on_hand": "50", "allocated": "0"}).status_code == 403
    assert levels(item) == (5, 0)
    page = admin_client.get(change_url).content.decode()
    assert 'name="_save"' not in page
    assert reverse("admin:inventory_stockitem_adjust_item", args=[item.pk]) in page


@pytest.mark.parametrize("codenames", [[], ["view_stockitem"]], ids=["no permissions", "view only"])
def test_stock_pages_need_the_change_stockitem_permission(client, codenames):
    item = add_stock(5)
    staff = User.objects.create_user("clerk@example.com", password="x", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(staff)

    for url in (
        reverse("admin:inventory_stockitem_adjust"),
        reverse("admin:inventory_stockitem_adjust_item", args=[item.pk]),
        reverse("admin:inventory_stockitem_count_item", args=[item.pk]),
    ):
        assert client.get(url).status_code == 403
        assert (
            client.post(
                url, keyed({"quantity_change": "-5", "reason": "adjusted", "counted": "0"})
            ).status_code
            == 403
        )
    assert levels(item) == (5, 0)


# --- the ledger is read-only ----------------------------------------------------------------------


def test_movement_admin_refuses_add_change_and_delete(admin_client):
    item = add_stock(5)
    movement = StockMovement.objects.get()
    change_url = reverse("admin:inventory_stockmovement_change", args=[movement.pk])

    assert admin_client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403
    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(change_url, {"on_hand_delta": "50", "note": "x"}).status_code == 403
    delete_url = reverse("admin:inventory_stockmovement_delete", args=[movement.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    movement.refresh_from_db()
    assert (movement.on_hand_delta, movement.note) == (5, "")
    assert levels(item) == (5, 0)


def test_movement_list_shows_time_in_words_and_reference(admin_client, admin_user):
    line = PurchaseOrderLineFactory(purchase_order__reference="PO-77", quantity_ordered=4)
    purchase_order_receive(purchase_order_id=line.purchase_order_id, user_id=admin_user.pk)

    page = admin_client.get(reverse("admin:inventory_stockmovement_changelist")).content.decode()

    assert ">PO-77</a> · by admin" in page
    assert "+4" in page
    movement = StockMovement.objects.get()
    assert movement.created_at.strftime("%B %Y") in page  # e.g. "21 November 2026, 14:05"


# --- receiving purchase orders ------------------------------------------------------------------------


@pytest.fixture
def po_two_lines():
    po = PurchaseOrderFactory(reference="PO-00042")
    first = PurchaseOrderLineFactory(purchase_order=po, quantity_ordered=10)
    second = PurchaseOrderLineFactory(purchase_order=po, quantity_ordered=4)
    return po, first, second


def received(*lines: PurchaseOrderLine) -> list[int]:
    return [PurchaseOrderLine.objects.get(pk=line.pk).quantity_received for line in lines]


def receive_url(po: PurchaseOrder) -> str:
    return reverse("admin:inventory_purchaseorder_receive", args=[po.pk])


def test_receive_page_get_lists_outstanding_lines_and_changes_nothing(admin_client, po_two_lines):
    po, first, second = po_two_lines

    response = admin_client.get(receive_url(po))

    assert response.status_code == 200
    form = response.context["form"]
    assert [form[f"line_{line.pk}"].value() for line in (first, second)] == [10, 4]
    assert received(first, second) == [0, 0]
    assert StockMovement.objects.count() == 0
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.ORDERED


def test_receive_page_partial_receipt_updates_lines_and_writes_movements(
    admin_client, admin_user, po_two_lines
):
    po, first, second = po_two_lines

    response = admin_client.post(
        receive_url(po), keyed({f"line_{first.pk}": "6", f"line_{second.pk}": "0", "_receive": "1"})
    )

    assert response.status_code == 302
    assert response.url == reverse("admin:inventory_purchaseorder_change", args=[po.pk])
    assert messages_of(response) == ["Received 6 units on PO-00042. It is now partially received."]
    assert received(first, second) == [6, 0]
    movement = StockMovement.objects.get()
    assert (movement.po_line_id, movement.on_hand_delta, movement.user) == (first.pk, 6, admin_user)
    assert StockItem.objects.get(variant=first.variant, warehouse=po.warehouse).on_hand == 6
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.PARTIALLY_RECEIVED


def test_receive_everything_outstanding(admin_client, po_two_lines):
    po, first, second = po_two_lines
    purchase_order_receive(purchase_order_id=po.pk, quantities={first.pk: 3})

    response = admin_client.post(receive_url(po), keyed({f"line_{first.pk}": "0", "_receive_all": "1"}))

    assert messages_of(response) == ["Received 11 units on PO-00042. It is now received."]
    assert received(first, second) == [10, 4]
    assert StockMovement.objects.count() == 3


@pytest.mark.parametrize(
    ("posted", "error"),
    [
        ({"first": "11", "second": "0"}, "{first_sku}: 11 received but only 10 outstanding."),
        ({"first": "-2", "second": "1"}, "{first_sku}: a received quantity must be a positive whole number."),
        ({"first": "0", "second": ""}, "Enter at least one quantity to receive."),
    ],
    ids=["over-receipt", "negative", "all zero"],
)
def test_receive_page_shows_refusals_and_writes_nothing(admin_client, po_two_lines, posted, error):
    po, first, second = po_two_lines

    response = admin_client.post(
        receive_url(po), keyed({f"line_{first.pk}": posted["first"], f"line_{second.pk}": posted["second"]})
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert error.format(first_sku=first.variant.sku) in page
    assert "Nothing was received." in page
    assert received(first, second) == [0, 0]
    assert StockMovement.objects.count() == 0
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.ORDERED


def test_receiving_a_cancelled_purchase_order_shows_the_error(admin_client, po_two_lines):
    po, first, second = po_two_lines
    purchase_order_cancel(purchase_order_id=po.pk)

    response = admin_client.post(receive_url(po), keyed({f"line_{first.pk}": "1", f"line_{second.pk}": "0"}))

    assert response.status_code == 200
    assert response.context["error"] == "PO-00042 is cancelled: nothing can be received on it."
    assert received(first, second) == [0, 0]
    assert StockMovement.objects.count() == 0


def test_receive_action_needs_exactly_one_purchase_order(admin_client, po_two_lines):
    po = po_two_lines[0]
    other = PurchaseOrderFactory()
    url = reverse("admin:inventory_purchaseorder_changelist")

    one = admin_client.post(url, {"action": "receive_action", "_selected_action": [po.pk]})
    two = admin_client.post(url, {"action": "receive_action", "_selected_action": [po.pk, other.pk]})

    assert one.url == receive_url(po)
    assert messages_of(two) == ["Choose exactly one purchase order to receive."]


# --- purchase-order status and dates through the services ---------------------------------------------


def test_status_actions_report_each_purchase_order(admin_client):
    draft = PurchaseOrderFactory(reference="PO-D", status=PurchaseOrderStatus.DRAFT)
    PurchaseOrderLineFactory(purchase_order=draft)
    cancelled = PurchaseOrderFactory(reference="PO-C", status=PurchaseOrderStatus.CANCELLED)
    url = reverse("admin:inventory_purchaseorder_changelist")

    response = admin_client.post(
        url, {"action": "mark_ordered_action", "_selected_action": [draft.pk, cancelled.pk]}
    )

    assert response.status_code == 302
    supplier = draft.supplier
    assert messages_of(response) == [
        f"PO-D is now ordered and was emailed to {supplier.name} ({supplier.contact_email}).",
        "PO-C is cancelled, not a draft.",
    ]
    assert list(PurchaseOrder.objects.order_by("pk").values_list("status", flat=True)) == [
        "ordered",
        "cancelled",
    ]


def test_cancel_button_asks_first_then_cancels(admin_client, po_two_lines):
    po = po_two_lines[0]
    url = reverse("admin:inventory_purchaseorder_cancel", args=[po.pk])

    assert "Cancel PO-00042?" in admin_client.get(url).content.decode()
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.ORDERED

    response = admin_client.post(url)

    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.CANCELLED
    assert messages_of(response) == ["PO-00042 is cancelled."]
    # The change page says who cancelled it and when, in words.
    page = admin_client.get(reverse("admin:inventory_purchaseorder_change", args=[po.pk])).content.decode()
    assert po.cancelled_by.email == "admin@example.com"
    assert "Cancelled" in page and f"by {po.cancelled_by.email}" in page


def change_form_data(response) -> dict:
    """The POST data the admin change page would send back unchanged."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): management[name].value() for name in management.fields})
        forms += inline.formset.forms
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value not in (None, False):
                data[form.add_prefix(name)] = value
    return data


def test_changing_expected_date_goes_through_the_service_with_the_staff_user(
    admin_client, admin_user, po_two_lines
):
    po = po_two_lines[0]
    url = reverse("admin:inventory_purchaseorder_change", args=[po.pk])
    data = change_form_data(admin_client.get(url))
    data.update({"expected_date": "2026-11-21", "date_change_reason": "Supplier delay", "notes": "Call Ann"})

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    change = PurchaseOrderDateChange.objects.get()
    assert (change.old_date, change.new_date, change.changed_by, change.reason) == (
        None,
        date(2026, 11, 21),
        admin_user,
        "Supplier delay",
    )
    po.refresh_from_db()
    assert (po.expected_date, po.notes, po.status) == (date(2026, 11, 21), "Call Ann", "ordered")
    page = admin_client.get(url).content.decode()
    assert "Expected-date history" in page
    assert "Supplier delay" in page


def test_a_refused_date_change_is_reported_and_nothing_is_saved(admin_client, po_two_lines, monkeypatch):
    # E.g. the order was received by someone else between loading and saving the form.
    def refuse(**kwargs):
        raise PurchaseOrderError("PO-00042 is received; its date no longer matters.")

    monkeypatch.setattr("inventory.admin.purchasing.purchase_order_set_expected_date", refuse)
    po = po_two_lines[0]
    url = reverse("admin:inventory_purchaseorder_change", args=[po.pk])
    data = change_form_data(admin_client.get(url))
    data.update({"expected_date": "2026-11-21", "notes": "Call Ann"})

    response = admin_client.post(url, data)

    assert (response.status_code, response.url) == (302, url)
    assert messages_of(response) == ["Nothing was saved. PO-00042 is received; its date no longer matters."]
    po.refresh_from_db()
    assert (po.expected_date, po.notes) == (None, "")
    assert PurchaseOrderDateChange.objects.count() == 0


def test_saving_without_a_date_change_writes_no_history(admin_client, po_two_lines):
    po = po_two_lines[0]
    url = reverse("admin:inventory_purchaseorder_change", args=[po.pk])
    data = change_form_data(admin_client.get(url))

    assert admin_client.post(url, data).status_code == 302
    assert PurchaseOrderDateChange.objects.count() == 0


def test_adding_a_purchase_order_creates_a_draft_with_its_lines(admin_client):
    supplier, warehouse, variant = SupplierFactory(), WarehouseFactory(), VariantFactory()
    url = reverse("admin:inventory_purchaseorder_add")
    data = change_form_data(admin_client.get(url))
    data.update(
        {
            "supplier": supplier.pk,
            "warehouse": warehouse.pk,
            "reference": "PO-NEW",
            "expected_date": "2026-12-01",
            "lines-0-variant": variant.pk,
            "lines-0-quantity_ordered": "12",
        }
    )

    response = admin_client.post(url, data)

    assert response.status_code == 302
    po = PurchaseOrder.objects.get(reference="PO-NEW")
    assert (po.status, po.expected_date) == (PurchaseOrderStatus.DRAFT, date(2026, 12, 1))
    assert list(po.lines.values_list("variant_id", "quantity_ordered", "quantity_received")) == [
        (variant.pk, 12, 0)
    ]
    assert response.url == reverse("admin:inventory_purchaseorder_changelist")
    assert messages_of(response) == [
        f'The purchase order “<a href="{reverse("admin:inventory_purchaseorder_change", args=[po.pk])}">PO-NEW</a>” was added successfully.'
    ]


def test_lines_of_an_ordered_purchase_order_cannot_be_edited(admin_client, po_two_lines):
    po, first, _ = po_two_lines
    url = reverse("admin:inventory_purchaseorder_change", args=[po.pk])
    data = change_form_data(admin_client.get(url))
    data["lines-0-quantity_ordered"] = "99"

    assert admin_client.post(url, data).status_code == 302
    first.refresh_from_db()
    assert first.quantity_ordered == 10


def test_lines_of_a_draft_can_be_edited(admin_client):
    line = PurchaseOrderLineFactory(purchase_order__status=PurchaseOrderStatus.DRAFT, quantity_ordered=10)
    url = reverse("admin:inventory_purchaseorder_change", args=[line.purchase_order_id])
    data = change_form_data(admin_client.get(url))
    data["lines-0-quantity_ordered"] = "15"

    assert admin_client.post(url, data).status_code == 302
    line.refresh_from_db()
    assert (line.quantity_ordered, line.quantity_received) == (15, 0)
