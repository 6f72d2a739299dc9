import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from inventory.models import StockItem
from orders.models import (
    Cart,
    CartLine,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentTransaction,
    Shipment,
)
from orders.services import order_set_priority, order_ship
from orders.tests.factories import OrderFactory, OrderLineFactory
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.tests.factories import VariantFactory
from shop.tests.helpers import keyed

pytestmark = pytest.mark.django_db

ORDERS = reverse("admin:orders_order_changelist")


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def run_action(client, action: str, orders, **extra):
    return client.post(ORDERS, keyed({"action": action, "_selected_action": [o.pk for o in orders], **extra}))


def in_stock(price="30.00", stock=10):
    variant = VariantFactory(price=Decimal(price))
    give_stock(variant, stock)
    return variant


def backorderable(price="50.00", **policy):
    variant = VariantFactory(price=Decimal(price))
    allow_backorders(variant, **policy)
    return variant


def line_quantities(line: OrderLine) -> tuple[int, int, int, int]:
    line.refresh_from_db()
    return (
        line.quantity_allocated,
        line.quantity_backordered,
        line.quantity_shipped,
        line.quantity_cancelled,
    )


# --- query budgets: a changelist costs the same for 1 row and for 20 ----------------------------


def make_order(user):
    OrderLineFactory(expected_date=timezone.localdate() - timedelta(days=1))


def make_payment(user):
    place([(in_stock(), 1)])


def make_shipment(user):
    order_ship(order_id=place([(in_stock(), 1)]).order.pk, user_id=user.pk)


def make_event(user):
    OrderEvent.objects.create(order=OrderFactory(), kind="note", message="Called the customer", user=user)


def make_cart(user):
    cart = Cart.objects.create(user=User.objects.create_user(f"{uuid.uuid4().hex}@example.com"))
    CartLine.objects.create(cart=cart, variant=VariantFactory(), quantity=2)


CHANGELISTS = [
    # model, how to make one row, queries measured for one row
    ("order", make_order, 5),
    ("payment", make_payment, 6),  # + the gateways for the filter
    ("shipment", make_shipment, 5),
    ("orderevent", make_event, 4),  # no second COUNT(*): show_full_result_count is off
    ("cart", make_cart, 5),
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
    url = reverse(f"admin:orders_{model}_changelist")
    make_row(admin_user)
    with django_assert_num_queries(budget):
        response = admin_client.get(url)
    assert response.context["cl"].result_count == 1

    for _ in range(19):
        make_row(admin_user)
    with django_assert_max_num_queries(budget):
        response = admin_client.get(url)

    assert response.status_code == 200
    assert response.context["cl"].result_count == 20


def test_order_page_queries_do_not_grow_with_lines_shipments_and_events(admin_client, admin_user):
    small = place([(in_stock(), 1)]).order
    big = place([(in_stock(), 2) for _ in range(6)] + [(backorderable(), 1)]).order
    order_ship(order_id=small.pk, user_id=admin_user.pk)
    order_ship(order_id=big.pk, user_id=admin_user.pk)
    order_set_priority(order_id=big.pk, is_priority=True, user_id=admin_user.pk)

    admin_client.get(reverse("admin:orders_order_change", args=[small.pk]))  # warm the content-type cache
    counts = []
    for order in (small, big):
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
        assert response.status_code == 200
        counts.append(len(queries))

    assert counts == [13, 13]  # +2 since the delay-email and feedback inlines, +1 its documents


# --- filters and columns --------------------------------------------------------------------------


def numbers(response) -> set[str]:
    return {order.number for order in response.context["cl"].result_list}


def test_backorder_and_overdue_filters_pick_exactly_the_right_orders(admin_client):
    today = timezone.localdate()
    ready = OrderLineFactory(quantity=2, quantity_allocated=2, expected_date=today - timedelta(days=3))
    future = OrderLineFactory(expected_date=today + timedelta(days=5))
    overdue = OrderLineFactory(quantity=3, quantity_allocated=1, expected_date=today - timedelta(days=1))
    due_today = OrderLineFactory(expected_date=today)
    no_date = OrderLineFactory(expected_date=None)
    cancelled = OrderLineFactory(
        quantity=1, quantity_backordered=0, quantity_cancelled=1, expected_date=today - timedelta(days=9)
    )
    # The past date is on a line that no longer waits; the waiting line is not late.
    mixed = OrderLineFactory(quantity=1, quantity_allocated=1, expected_date=today - timedelta(days=2))
    OrderLineFactory(order=mixed.order, expected_date=today + timedelta(days=2))
    n = {line: line.order.number for line in (ready, future, overdue, due_today, no_date, cancelled, mixed)}

    assert numbers(admin_client.get(ORDERS + "?backorders=yes")) == {
        n[future],
        n[overdue],
        n[due_today],
        n[no_date],
        n[mixed],
    }
    assert numbers(admin_client.get(ORDERS + "?backorders=no")) == {n[ready], n[cancelled]}
    response = admin_client.get(ORDERS + "?overdue=yes")
    assert numbers(response) == {n[overdue]}
    assert [(o._units_waiting, o._overdue) for o in response.context["cl"].result_list] == [(2, True)]
    assert len(numbers(admin_client.get(ORDERS + "?overdue=no"))) == 6


def test_search_by_sku_of_lines_neither_duplicates_orders_nor_multiplies_units_waiting(admin_client):
    first = OrderLineFactory(quantity=3, variant__sku="MUG-RED")
    OrderLineFactory(order=first.order, quantity=2, variant__sku="MUG-BLUE")
    OrderLineFactory(quantity=1, variant__sku="TEE-1")

    response = admin_client.get(ORDERS + "?q=MUG")

    rows = response.context["cl"].result_list
    assert [(o.number, o._units_waiting) for o in rows] == [(first.order.number, 5)]
    assert numbers(admin_client.get(ORDERS + f"?q={first.order.number}")) == {first.order.number}


# --- actions: shipping ------------------------------------------------------------------------------


def test_ship_action_captures_exactly_the_shipped_amount(admin_client, admin_user):
    mug, waiting = in_stock("30.00", stock=4), backorderable("50.00")
    order = place([(mug, 2), (waiting, 1)]).order

    response = run_action(admin_client, "ship_action", [order])

    shipment = Shipment.objects.get()
    assert response.status_code == 302
    assert messages_of(response) == [
        (
            "success",
            f"{order.number}: shipped 2 units (shipment #{shipment.pk}); captured 64.90 EUR, "
            "including 4.90 EUR shipping.",
        )
    ]
    assert (shipment.order_id, shipment.amount, shipment.created_by) == (
        order.pk,
        Decimal("64.90"),
        admin_user,
    )
    assert list(shipment.lines.values_list("order_line__variant", "quantity")) == [(mug.pk, 2)]
    capture = PaymentTransaction.objects.get(kind="capture")
    assert (capture.amount, capture.success, capture.shipment, capture.user) == (
        Decimal("64.90"),
        True,
        shipment,
        admin_user,
    )
    payment = Payment.objects.get()
    assert (payment.amount_captured, payment.amount_voided, payment.status) == (
        Decimal("64.90"),
        Decimal("0"),
        "partially_captured",
    )
    assert line_quantities(order.lines.get(variant=waiting)) == (0, 1, 0, 0)
    assert StockItem.objects.values_list("on_hand", "allocated").get(variant=mug) == (2, 0)
    order.refresh_from_db()
    assert order.status == "partially_shipped"


def test_ship_action_reports_a_together_order_still_waiting_and_changes_nothing(admin_client):
    mug, waiting = in_stock(stock=4), backorderable()
    ready = place([(mug, 1)]).order
    together = place([(mug, 1), (waiting, 1)], policy="together").order

    response = run_action(admin_client, "ship_action", [ready, together])

    assert response.status_code == 302
    assert messages_of(response)[1] == (
        "error",
        f"{together.number} ships together and still waits for stock.",
    )
    assert messages_of(response)[0][0] == "success"
    assert list(Shipment.objects.values_list("order_id", flat=True)) == [ready.pk]
    assert PaymentTransaction.objects.filter(payment__order=together).exclude(kind="authorize").count() == 0
    assert line_quantities(together.lines.get(variant=mug)) == (1, 0, 0, 0)
    assert line_quantities(together.lines.get(variant=waiting)) == (0, 1, 0, 0)
    assert StockItem.objects.values_list("on_hand", "allocated").get(variant=mug) == (3, 1)
    together.refresh_from_db()
    assert (together.status, together.payment.amount_captured) == ("waiting", Decimal("0"))


def test_ship_action_with_nothing_allocated_says_so(admin_client):
    order = place([(backorderable(), 1)]).order

    response = run_action(admin_client, "ship_action", [order])

    assert messages_of(response) == [("error", f"{order.number} has nothing allocated to ship.")]
    assert Shipment.objects.count() == 0


# --- actions: cancelling waiting units -------------------------------------------------------------


@pytest.fixture
def three_orders():
    """One order partly waiting (discounted), one entirely waiting, one with nothing waiting."""
    discounted = VariantFactory(price=Decimal("100.00"))
    allow_backorders(discounted, backorder_discount_percent=Decimal("10"))
    give_stock(discounted, 1)
    partly = place([(discounted, 3)]).order  # 1 allocated at 100.00, 2 waiting at 90.00
    entirely = place([(backorderable("10.00"), 2)]).order  # nothing allocated: shipping goes back too
    ready = place([(in_stock(), 1)]).order
    return partly, entirely, ready


def test_cancel_action_first_shows_what_will_be_cancelled_and_changes_nothing(admin_client, three_orders):
    partly, entirely, ready = three_orders
    transactions, events = PaymentTransaction.objects.count(), OrderEvent.objects.count()

    response = run_action(admin_client, "cancel_backordered_action", three_orders)

    assert response.status_code == 200
    previews = response.context["to_cancel"]
    assert [(p.order.number, p.amount, p.shipping_returned) for p in previews] == [
        (partly.number, Decimal("180.00"), Decimal("0")),
        (entirely.number, Decimal("24.90"), Decimal("4.90")),
    ]
    assert [[(line.pk, units) for line, units, _ in p.lines] for p in previews] == [
        [(partly.lines.get().pk, 2)],
        [(entirely.lines.get().pk, 2)],
    ]
    assert response.context["nothing_waiting"] == [ready.number]
    page = response.content.decode()
    assert "180.00 EUR" in page
    assert "24.90 EUR" in page
    assert f"Nothing is waiting for stock on {ready.number}" in page
    assert page.count('name="_selected_action"') == 2
    assert line_quantities(partly.lines.get()) == (1, 2, 0, 0)
    assert line_quantities(entirely.lines.get()) == (0, 2, 0, 0)
    assert (PaymentTransaction.objects.count(), OrderEvent.objects.count()) == (transactions, events)


def test_cancel_action_confirmed_cancels_and_voids_exactly(admin_client, admin_user, three_orders):
    partly, entirely, ready = three_orders

    response = run_action(admin_client, "cancel_backordered_action", [partly, entirely], post="yes")

    assert response.status_code == 302
    assert messages_of(response) == [
        (
            "success",
            f"{partly.number}: cancelled 2 units waiting for stock; 180.00 EUR card hold released.",
        ),
        (
            "success",
            f"{entirely.number}: cancelled 2 units waiting for stock; 24.90 EUR card hold released.",
        ),
    ]
    assert line_quantities(partly.lines.get()) == (1, 0, 0, 2)
    assert line_quantities(entirely.lines.get()) == (0, 0, 0, 2)
    voids = PaymentTransaction.objects.filter(kind="void").order_by("pk")
    assert [(v.payment.order_id, v.amount, v.user) for v in voids] == [
        (partly.pk, Decimal("180.00"), admin_user),
        (entirely.pk, Decimal("24.90"), admin_user),
    ]
    assert list(
        Order.objects.filter(pk__in=[partly.pk, entirely.pk]).order_by("pk").values_list("status")
    ) == [
        ("ready",),
        ("cancelled",),
    ]
    event = OrderEvent.objects.get(order=partly, kind="cancelled")
    assert (event.message.startswith("Cancelled by staff: 2 × "), event.user) == (True, admin_user)
    assert Payment.objects.get(order=ready).transactions.count() == 1


def test_cancel_action_confirmed_on_an_order_with_nothing_waiting_reports_it(admin_client, three_orders):
    ready = three_orders[2]

    response = run_action(admin_client, "cancel_backordered_action", [ready], post="yes")

    assert messages_of(response) == [("error", f"{ready.number}: Nothing is waiting to be cancelled.")]
    assert line_quantities(ready.lines.get()) == (1, 0, 0, 0)
    assert ready.payment.transactions.count() == 1


# --- actions: priority -----------------------------------------------------------------------------


def test_priority_actions_mark_and_unmark_through_the_service(admin_client, admin_user):
    first, second = OrderFactory(), OrderFactory(is_priority=True)

    marked = run_action(admin_client, "mark_priority_action", [first, second])
    admin_client.get(ORDERS)  # shows, and so clears, the first messages
    removed = run_action(admin_client, "remove_priority_action", [first])

    assert messages_of(marked) == [
        ("success", f"{first.number} is now a priority order."),
        ("info", f"{second.number} was already a priority order."),
    ]
    assert messages_of(removed) == [("success", f"{first.number} is no longer a priority order.")]
    assert list(Order.objects.order_by("pk").values_list("is_priority", flat=True)) == [False, True]
    events = OrderEvent.objects.filter(kind="priority").order_by("pk")
    assert [(e.order_id, e.message, e.user) for e in events] == [
        (first.pk, "Marked as priority", admin_user),
        (first.pk, "Priority removed", admin_user),
    ]


# --- read-only: nothing is edited, added or deleted by hand ---------------------------------------


def test_order_page_shows_everything_and_a_tampered_post_changes_nothing(admin_client, admin_user):
    order = place([(in_stock("30.00"), 2), (backorderable("50.00"), 1)]).order
    order_ship(order_id=order.pk, user_id=admin_user.pk)
    shipped, waiting = order.lines.order_by("pk")
    url = reverse("admin:orders_order_change", args=[order.pk])

    page = admin_client.get(url).content.decode()

    assert "Partly shipped" in page  # the status
    assert "Waiting for stock" in page  # the waiting line's status
    assert "Authorized 114.90 EUR, captured 64.90 EUR" in page
    assert "Timeline" in page
    for name in ("total", "email", "status", "lines-0-quantity_shipped", "lines-1-quantity_allocated"):
        assert f'name="{name}"' not in page

    response = admin_client.post(
        url,
        {
            "email": "someone@else.example",
            "status": "shipped",
            "total": "0.00",
            "shipping_cost": "0.00",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "2",
            "lines-0-id": shipped.pk,
            "lines-0-quantity_shipped": "0",
            "lines-0-quantity_allocated": "2",
            "lines-1-id": waiting.pk,
            "lines-1-quantity_backordered": "0",
            "lines-1-quantity_shipped": "1",
        },
    )

    assert response.status_code == 403
    order.refresh_from_db()
    assert (order.email, order.status, order.total, order.shipping_cost) == (
        "ada@example.com",
        "partially_shipped",
        Decimal("114.90"),
        Decimal("4.90"),
    )
    assert line_quantities(shipped) == (0, 0, 2, 0)
    assert line_quantities(waiting) == (0, 1, 0, 0)


def test_a_tampered_payment_post_changes_nothing(admin_client):
    order = place([(in_stock("30.00"), 1)]).order
    url = reverse("admin:orders_payment_change", args=[order.payment.pk])

    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"amount_captured": "34.90", "status": "captured"})

    assert response.status_code == 403
    payment = Payment.objects.get()
    assert (payment.amount_captured, payment.status) == (Decimal("0"), "authorized")


def test_payment_shipment_event_and_cart_pages_show_their_parts(admin_client, admin_user):
    mug = in_stock("30.00")
    order = place([(mug, 2)]).order
    shipment = order_ship(order_id=order.pk, user_id=admin_user.pk)
    cart = Cart.objects.create(user=admin_user)
    CartLine.objects.create(cart=cart, variant=mug, quantity=3)
    pages = {
        "payment": (order.payment.pk, ["Gateway calls", "Capture", "64.90"]),
        "shipment": (shipment.pk, [order.number, mug.sku, "64.90 EUR (OK)"]),
        "orderevent": (order.events.get(kind="shipped").pk, [order.number, "Items shipped"]),
        "cart": (cart.pk, [mug.sku, admin_user.email]),
    }

    for model, (pk, expected) in pages.items():
        response = admin_client.get(reverse(f"admin:orders_{model}_change", args=[pk]))
        assert response.status_code == 200
        page = response.content.decode()
        assert [text for text in expected if text not in page] == [], model


@pytest.mark.parametrize("model", ["order", "payment", "shipment", "orderevent", "cart"])
def test_nothing_can_be_added_by_hand(admin_client, model):
    assert admin_client.get(reverse(f"admin:orders_{model}_add")).status_code == 403


def test_orders_cannot_be_deleted(admin_client):
    order = OrderLineFactory().order

    assert admin_client.get(reverse("admin:orders_order_delete", args=[order.pk])).status_code == 403
    assert admin_client.post(reverse("admin:orders_order_delete", args=[order.pk])).status_code == 403
    choices = dict(admin_client.get(ORDERS).context["action_form"].fields["action"].choices)
    assert list(choices) == [
        "",
        "ship_action",
        "cancel_backordered_action",
        "mark_priority_action",
        "remove_priority_action",
    ]
    run_action(admin_client, "delete_selected", [order], post="yes")
    assert Order.objects.count() == 1


def test_staff_who_may_only_view_orders_see_them_but_get_no_actions(client):
    order = place([(in_stock(), 1)]).order
    staff = User.objects.create_user(email="viewer@example.com", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=["view_order", "view_payment"]))
    client.force_login(staff)

    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    listing = client.get(ORDERS)
    run_action(client, "ship_action", [order])

    assert order.lines.get().sku in page  # the lines inline is visible
    assert "Timeline" in page
    assert listing.context["action_form"] is None
    assert Shipment.objects.count() == 0
