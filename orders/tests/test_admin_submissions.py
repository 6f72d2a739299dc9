"""The order list's money actions (ship, cancel waiting units) are applied once per submission.

The list page carries a one-time key; each order of the submission claims "<key>:<order id>". The
first part runs on both databases; the race tests (two logged-in browsers sending the same page at
the same moment) need PostgreSQL.
"""

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import User
from config.testing import run_together
from inventory.models import StockItem, StockMovement
from inventory.selectors import ledger_discrepancies
from orders.models import Order, OrderEvent, Payment, PaymentTransaction, Shipment
from orders.services import allocation_serve_queue
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.models import SubmissionKey
from shop.submissions import OUT_OF_DATE, submission_key_new
from shop.tests.factories import VariantFactory
from shop.tests.helpers import keyed

ORDERS = reverse("admin:orders_order_changelist")
ALREADY_SENT = "This form was already sent at "
NOT_AGAIN = "; it was not applied a second time."


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def action(name: str, orders, **extra) -> dict:
    return {"action": name, ACTION_CHECKBOX_NAME: [o.pk for o in orders], **extra}


def is_duplicate_warning(message: tuple[str, str], order: Order) -> bool:
    level, text = message
    return (
        level == "warning" and text.startswith(f"{order.number}: {ALREADY_SENT}") and text.endswith(NOT_AGAIN)
    )


def ready_order(units: int = 2, price: str = "30.00") -> Order:
    """An order whose `units` are allocated and ready to ship."""
    variant = VariantFactory(price=Decimal(price))
    give_stock(variant, 10)
    return place([(variant, units)]).order


def waiting_order(units: int = 3, price: str = "10.00") -> Order:
    """An order with nothing in stock: all its units wait."""
    variant = VariantFactory(price=Decimal(price))
    allow_backorders(variant)
    return place([(variant, units)]).order


def cancelled_units(order: Order) -> int:
    return order.lines.get().quantity_cancelled


# --- the same page sent twice in sequence (both databases) -----------------------------------------


@pytest.mark.django_db
def test_the_order_list_gives_each_rendering_a_fresh_key(admin_client):
    ready_order()

    pages = [admin_client.get(ORDERS) for _ in range(2)]

    keys = [page.context["submission_key"] for page in pages]
    assert keys[0] != keys[1]
    assert all(len(key) == 32 for key in keys)
    page = pages[1].content.decode()
    assert page.count(f'<input type="hidden" name="submission_key" value="{keys[1]}">') == 1
    # The key is inside the form the actions post.
    form = page[page.index('<form id="changelist-form"') :]
    assert form.index(f'value="{keys[1]}"') < form.index("</form>")


@pytest.mark.django_db
def test_ship_sent_twice_ships_once(admin_client):
    order = ready_order(units=2, price="30.00")
    form = keyed(action("ship_action", [order]))

    first = admin_client.post(ORDERS, form)
    second = admin_client.post(ORDERS, form)

    shipment = Shipment.objects.get()
    assert messages_of(first) == [
        (
            "success",
            f"{order.number}: shipped 2 units (shipment #{shipment.pk}); captured 64.90 EUR, "
            "including 4.90 EUR shipping.",
        )
    ]
    assert (second.status_code, second.url) == (302, ORDERS)
    assert is_duplicate_warning(messages_of(second)[-1], order)
    assert PaymentTransaction.objects.filter(kind="capture").count() == 1
    assert Payment.objects.get().amount_captured == Decimal("64.90")
    assert StockItem.objects.values_list("on_hand", "allocated").get() == (8, 0)
    assert StockMovement.objects.filter(reason="shipped").count() == 1
    assert SubmissionKey.objects.get().key == f"{form['submission_key']}:{order.pk}"


@pytest.mark.django_db
def test_one_submission_for_several_orders_claims_one_key_per_order(admin_client):
    first, second = ready_order(), ready_order()
    form = keyed(action("ship_action", [first, second]))

    admin_client.post(ORDERS, form)
    again = admin_client.post(ORDERS, form)

    key = form["submission_key"]
    assert sorted(SubmissionKey.objects.values_list("key", "action")) == [
        (f"{key}:{first.pk}", "order_ship"),
        (f"{key}:{second.pk}", "order_ship"),
    ]
    assert Shipment.objects.count() == 2
    assert [
        is_duplicate_warning(m, o) for m, o in zip(messages_of(again)[-2:], [first, second], strict=True)
    ] == [
        True,
        True,
    ]


@pytest.mark.django_db
def test_refused_ship_then_the_same_page_again_once_stock_is_there_ships_once(admin_client):
    variant = VariantFactory(price=Decimal("30.00"))
    allow_backorders(variant)
    order = place([(variant, 1)]).order  # nothing allocated yet: shipping is refused
    form = keyed(action("ship_action", [order]))

    refused = admin_client.post(ORDERS, form)
    give_stock(variant, 1)
    allocation_serve_queue(variant_ids=[variant.pk], run_id="arrived")  # the waiting line gets the unit
    shipped = admin_client.post(ORDERS, form)
    again = admin_client.post(ORDERS, form)

    assert messages_of(refused) == [("error", f"{order.number} has nothing allocated to ship.")]
    assert messages_of(shipped)[-1][0] == "success"
    assert is_duplicate_warning(messages_of(again)[-1], order)
    assert Shipment.objects.count() == 1
    assert PaymentTransaction.objects.filter(kind="capture").count() == 1


@pytest.mark.django_db
def test_cancel_confirmation_page_carries_the_list_pages_key(admin_client):
    order = waiting_order()
    key = submission_key_new()

    page = admin_client.post(ORDERS, keyed(action("cancel_backordered_action", [order]), key=key))

    assert page.status_code == 200
    assert f'<input type="hidden" name="submission_key" value="{key}">' in page.content.decode()
    assert cancelled_units(order) == 0
    assert SubmissionKey.objects.count() == 0


@pytest.mark.django_db
def test_cancel_confirmed_twice_cancels_and_releases_once(admin_client):
    order = waiting_order(units=3, price="10.00")
    form = keyed(action("cancel_backordered_action", [order], post="yes"))

    first = admin_client.post(ORDERS, form)
    second = admin_client.post(ORDERS, form)

    assert messages_of(first) == [
        (
            "success",
            f"{order.number}: cancelled 3 units waiting for stock; 34.90 EUR card hold released.",
        )
    ]
    assert (second.status_code, second.url) == (302, ORDERS)
    assert is_duplicate_warning(messages_of(second)[-1], order)
    assert cancelled_units(order) == 3
    assert PaymentTransaction.objects.filter(kind="void").count() == 1
    assert Payment.objects.get().amount_voided == Decimal("34.90")
    assert OrderEvent.objects.filter(order=order, kind="cancelled").count() == 1
    assert SubmissionKey.objects.get().action == "order_cancel_backordered"


@pytest.mark.django_db
@pytest.mark.parametrize("key", [None, "", "not-a-key"], ids=["missing", "empty", "malformed"])
@pytest.mark.parametrize("posted", ["ship", "cancel page", "cancel confirmed"])
def test_order_actions_without_a_good_key_say_so_and_change_nothing(admin_client, key, posted):
    ready, waiting = ready_order(), waiting_order()
    form = {
        "ship": action("ship_action", [ready]),
        "cancel page": action("cancel_backordered_action", [waiting]),
        "cancel confirmed": action("cancel_backordered_action", [waiting], post="yes"),
    }[posted]
    if key is not None:
        form["submission_key"] = key

    response = admin_client.post(ORDERS, form)

    assert (response.status_code, response.url) == (302, ORDERS)
    assert messages_of(response) == [("error", OUT_OF_DATE)]
    assert Shipment.objects.count() == 0
    assert cancelled_units(waiting) == 0
    assert PaymentTransaction.objects.exclude(kind="authorize").count() == 0
    assert SubmissionKey.objects.count() == 0


# --- the same page sent twice at the same moment (PostgreSQL) --------------------------------------


def two_staff_browsers() -> list[Client]:
    """Two clients logged in as the same staff user, like two tabs or a double click."""
    staff = User.objects.create_superuser("clerk@example.com", "x")
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(staff)
    return clients


def post_together(form: dict) -> list:
    responses = run_together([lambda c=c: c.post(ORDERS, form) for c in two_staff_browsers()])
    assert [r for r in responses if isinstance(r, Exception)] == []
    assert [r.status_code for r in responses] == [302, 302]
    return responses


def one_success_one_warning(responses, order: Order) -> bool:
    found = [messages_of(r) for r in responses]
    if not all(len(messages) == 1 for messages in found):
        return False
    kinds = sorted("warning" if is_duplicate_warning(m[0], order) else m[0][0] for m in found)
    return kinds == ["success", "warning"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ship_sent_twice_at_the_same_moment_ships_once():
    order = ready_order(units=2, price="30.00")

    responses = post_together(keyed(action("ship_action", [order])))

    assert one_success_one_warning(responses, order)
    shipment = Shipment.objects.get()
    assert shipment.lines.get().quantity == 2
    capture = PaymentTransaction.objects.get(kind="capture")
    assert (capture.amount, capture.shipment) == (Decimal("64.90"), shipment)
    assert Payment.objects.get().amount_captured == Decimal("64.90")
    assert StockItem.objects.values_list("on_hand", "allocated").get() == (8, 0)
    assert StockMovement.objects.filter(reason="shipped").count() == 1
    assert order.lines.values_list("quantity_allocated", "quantity_shipped").get() == (0, 2)
    assert SubmissionKey.objects.count() == 1
    assert ledger_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cancel_confirmed_twice_at_the_same_moment_cancels_once():
    order = waiting_order(units=3, price="10.00")

    responses = post_together(keyed(action("cancel_backordered_action", [order], post="yes")))

    assert one_success_one_warning(responses, order)
    assert order.lines.values_list("quantity_backordered", "quantity_cancelled").get() == (0, 3)
    void = PaymentTransaction.objects.get(kind="void")
    assert void.amount == Decimal("34.90")
    payment = Payment.objects.get()
    assert (payment.amount_voided, payment.amount_captured) == (Decimal("34.90"), Decimal("0"))
    assert OrderEvent.objects.filter(order=order, kind="cancelled").count() == 1
    assert OrderEvent.objects.filter(order=order, kind="refunded").count() == 1
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert SubmissionKey.objects.count() == 1
