"""The staff view of the backorder queue: the selector (service order, projected dates, covering
purchase orders) and the admin pages (table, priority and "run allocation now" actions, permissions,
query budgets)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from inventory.console import queue
from inventory.models import AllocationRequest, StockItem
from inventory.selectors import (
    QueueSource,
    backorder_queue,
    backorder_queue_page,
    date_in_words,
    next_deliveries,
)
from inventory.services import stock_adjust
from inventory.tests.factories import PurchaseOrderLineFactory, WarehouseFactory
from inventory.tests.promises import from_lead_time, from_purchase_order, from_stock
from orders.models import OrderEvent, OrderEventKind
from orders.services import backorder_dates_refresh, order_set_priority
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.formatting import date_range_in_words
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db

LEAD_TIME = 30


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def backordered_item(**policy):
    variant = VariantFactory(sku="MUG-BLUE")
    allow_backorders(variant, lead_time_days=LEAD_TIME, **policy)
    return variant


def waiting_orders(variant, quantities, *, days_ago=None):
    """One backorder per quantity, oldest first: placed `days_ago[n]` days ago, else a minute apart."""
    start = timezone.now() - timedelta(days=1)
    orders = []
    for n, qty in enumerate(quantities):
        order = place([(variant, qty)], email=f"c{n}@example.com").order
        order.placed_at = (
            timezone.now() - timedelta(days=days_ago[n]) if days_ago else start + timedelta(minutes=n)
        )
        order.save(update_fields=["placed_at"])
        orders.append(order)
    return orders


def incoming(variant, quantity, *, in_days, reference):
    return PurchaseOrderLineFactory(
        variant=variant,
        quantity_ordered=quantity,
        purchase_order__reference=reference,
        purchase_order__expected_date=timezone.localdate() + timedelta(days=in_days),
    ).purchase_order


def queue_url(variant) -> str:
    return reverse("admin:inventory_stockitem_queue_variant", args=[variant.pk])


def staff(client, *codenames):
    user = User.objects.create_user("clerk@example.com", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return user


# --- the selector ---------------------------------------------------------------------------


def test_queue_is_in_service_order_with_a_priority_order_ahead(django_capture_on_commit_callbacks):
    # Given three waiting orders, oldest first, and the newest marked as priority
    variant = backordered_item()
    first, second, third = waiting_orders(variant, [2, 3, 1], days_ago=[12, 5, 0])
    order_set_priority(order_id=third.pk, is_priority=True)

    # When staff read the queue
    queue = backorder_queue(variant_id=variant.pk)

    # Then the priority order comes first, then the oldest
    assert [(e.position, e.order_number, e.units_waiting, e.units_ahead) for e in queue] == [
        (1, third.number, 1, 0),
        (2, first.number, 2, 1),
        (3, second.number, 3, 3),
    ]
    assert [(e.is_priority, e.age_days, e.email) for e in queue] == [
        (True, 0, "c2@example.com"),
        (False, 12, "c0@example.com"),
        (False, 5, "c1@example.com"),
    ]
    assert [e.order_id for e in queue] == [third.pk, first.pk, second.pk]

    # And it is the order the auto-allocation pass serves: 2 units go to the first two entries
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(variant_id=variant.pk, warehouse_id=WarehouseFactory().pk, quantity_change=2)
    served = [o.lines.get().quantity_allocated for o in (third, first, second)]
    assert served == [1, 1, 0]


def test_projected_dates_follow_the_purchase_orders_that_cover_each_line():
    # Given POs of 3 units on day+5 and 2 units on day+12, then 3, 2 and 1 units waiting
    today = timezone.localdate()
    variant = backordered_item()
    early = incoming(variant, 3, in_days=5, reference="PO-EARLY")
    late = incoming(variant, 2, in_days=12, reference="PO-LATE")
    orders = waiting_orders(variant, [3, 2, 1])

    # When staff read the queue
    queue = backorder_queue(variant_id=variant.pk)

    # Then each line is covered by the PO that brings its last unit; the third by nothing yet. Each
    # range is the PO's date padded by its supplier's lateness (here the shop's default), or the lead
    # time, on shipping days; the projected date is its confident end (docs/dates.md).
    assert [(e.order_number, e.projected_range, e.source, e.purchase_order_reference) for e in queue] == [
        (
            orders[0].number,
            from_purchase_order(today + timedelta(days=5)),
            QueueSource.PURCHASE_ORDER,
            "PO-EARLY",
        ),
        (
            orders[1].number,
            from_purchase_order(today + timedelta(days=12)),
            QueueSource.PURCHASE_ORDER,
            "PO-LATE",
        ),
        (orders[2].number, from_lead_time(LEAD_TIME), QueueSource.LEAD_TIME, ""),
    ]
    assert [e.projected_date for e in queue] == [e.projected_range.confident for e in queue]
    assert [e.purchase_order_id for e in queue] == [early.pk, late.pk, None]
    # And the dates are the ones promised at checkout and kept by backorder_dates_refresh
    assert [e.expected_date for e in queue] == [e.projected_date for e in queue]
    assert backorder_dates_refresh(variant_ids=[variant.pk]) == 0


def test_a_purchase_order_that_straddles_two_lines_covers_both():
    today = timezone.localdate()
    variant = backordered_item()
    incoming(variant, 4, in_days=5, reference="PO-BIG")
    incoming(variant, 10, in_days=9, reference="PO-NEXT")
    waiting_orders(variant, [1, 2, 3])

    queue = backorder_queue(variant_id=variant.pk)

    big, following = (
        from_purchase_order(today + timedelta(days=5)),
        from_purchase_order(today + timedelta(days=9)),
    )
    assert [(e.units_ahead, e.projected_range, e.purchase_order_reference) for e in queue] == [
        (0, big, "PO-BIG"),
        (1, big, "PO-BIG"),
        (3, following, "PO-NEXT"),
    ]


def test_free_stock_not_yet_allocated_serves_the_head_of_the_queue_today():
    # Given 3 units waiting, then 2 units arriving whose allocation pass has not run yet
    today = timezone.localdate()
    variant = backordered_item()
    waiting_orders(variant, [1, 2])
    give_stock(variant, 2)  # its "stock arrived" task runs only after commit
    incoming(variant, 5, in_days=4, reference="PO-SOON")

    queue = backorder_queue(variant_id=variant.pk)

    # Free stock ships on the next shipping day (today on a weekday)
    assert [(e.source, e.projected_range, e.purchase_order_reference) for e in queue] == [
        (QueueSource.STOCK, from_stock(), ""),
        (QueueSource.PURCHASE_ORDER, from_purchase_order(today + timedelta(days=4)), "PO-SOON"),
    ]


def test_an_overdue_purchase_order_is_counted_on_from_today_plus_grace(settings):
    settings.INVENTORY_OVERDUE_GRACE_DAYS = 3
    today = timezone.localdate()
    variant = backordered_item()
    waiting_orders(variant, [2])
    incoming(variant, 2, in_days=-4, reference="PO-LATE")

    (entry,) = backorder_queue(variant_id=variant.pk)

    # At least 3 shipping days from today, or later if the supplier's lateness counted from the
    # recorded date says so (docs/dates.md)
    assert (entry.projected_range, entry.purchase_order_reference, entry.purchase_order_overdue) == (
        from_purchase_order(today - timedelta(days=4)),
        "PO-LATE",
        True,
    )
    assert entry.purchase_order_expected_date == today - timedelta(days=4)


def test_a_page_in_the_middle_of_the_queue_knows_what_is_ahead_of_it():
    today = timezone.localdate()
    variant = backordered_item()
    incoming(variant, 4, in_days=6, reference="PO-A")
    orders = waiting_orders(variant, [1, 2, 1, 3, 1])

    page = backorder_queue_page(variant_id=variant.pk, offset=2, limit=2)

    assert page.total_lines == 5
    assert [(e.position, e.order_number, e.units_ahead, e.projected_range) for e in page.entries] == [
        (3, orders[2].number, 3, from_purchase_order(today + timedelta(days=6))),
        (4, orders[3].number, 4, from_lead_time(LEAD_TIME)),
    ]
    assert page.entries == backorder_queue(variant_id=variant.pk)[2:4]


def test_queue_of_an_unknown_variant_is_empty():
    assert backorder_queue(variant_id=987654) == []


# --- the admin page -------------------------------------------------------------------------


def test_queue_page_shows_the_table_in_service_order(admin_client):
    today = timezone.localdate()
    variant = backordered_item()
    po = incoming(variant, 3, in_days=5, reference="PO-EARLY")
    first, second = waiting_orders(variant, [3, 1], days_ago=[12, 1])
    order_set_priority(order_id=second.pk, is_priority=True)

    response = admin_client.get(queue_url(variant))

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(r["entry"].position, r["entry"].order_number, r["age"], r["policy"]) for r in rows] == [
        (1, second.number, "1 day", "Split"),
        (2, first.number, "12 days", "Split"),
    ]
    early, estimate = from_purchase_order(today + timedelta(days=5)), from_lead_time(LEAD_TIME)
    assert [(r["projected"], r["basis"], r["entry"].purchase_order_reference) for r in rows] == [
        (date_range_in_words(early.earliest, early.confident), "", "PO-EARLY"),
        (
            date_range_in_words(estimate.earliest, estimate.confident),
            f"no purchase order covers it yet: lead-time estimate ({LEAD_TIME} days)",
            "",
        ),
    ]
    html = response.content.decode()
    assert reverse("admin:orders_order_change", args=[second.pk]) in html
    assert reverse("admin:inventory_purchaseorder_change", args=[po.pk]) in html
    assert html.count('<span class="priority-badge">Priority</span>') == 1
    assert "12 days" in html
    assert date_range_in_words(early.earliest, early.confident) in html  # e.g. "14–21 December 2026"
    assert "Run allocation now" in html
    assert "Mark selected orders as priority" in html


def test_queue_page_explains_an_overdue_purchase_order_and_free_stock(admin_client, settings):
    settings.INVENTORY_OVERDUE_GRACE_DAYS = 3
    today = timezone.localdate()
    variant = backordered_item()
    waiting_orders(variant, [1, 2])
    give_stock(variant, 1)  # not allocated yet: its pass runs after commit
    incoming(variant, 2, in_days=-4, reference="PO-LATE")

    rows = admin_client.get(queue_url(variant)).context["rows"]

    late = date_in_words(today - timedelta(days=4)).split(" ", 1)[1]  # "17 November 2026"
    stock, overdue = from_stock(), from_purchase_order(today - timedelta(days=4))
    assert [(r["projected"], r["basis"]) for r in rows] == [
        (
            date_range_in_words(stock.earliest, stock.confident),
            "in stock now: served by the next allocation pass",
        ),
        (
            date_range_in_words(overdue.earliest, overdue.confident),
            f"PO-LATE is overdue (expected {late}): counted on at least 3 shipping days from today",
        ),
    ]


def test_queue_page_of_a_variant_nobody_waits_for_says_so(admin_client):
    variant = backordered_item()

    response = admin_client.get(queue_url(variant))

    assert response.status_code == 200
    assert "Nobody is waiting for this item." in response.content.decode()
    assert "Run allocation now" not in response.content.decode()


def test_queue_page_of_an_unknown_variant_is_404(admin_client):
    response = admin_client.get(reverse("admin:inventory_stockitem_queue_variant", args=[987654]))

    assert response.status_code == 404


@pytest.mark.parametrize("with_purchase_orders", [False, True], ids=["no POs", "two POs"])
def test_queue_page_queries_do_not_grow_with_waiting_lines(
    admin_client, django_assert_num_queries, django_assert_max_num_queries, with_purchase_orders
):
    # session, user, variant, availability (1: one statement with the shop's closures and the suppliers'
    # habits; docs/dates.md), waiting lines (1), PO references (1 when any)
    budget = 6 if with_purchase_orders else 5
    variant = backordered_item()
    if with_purchase_orders:
        incoming(variant, 3, in_days=5, reference="PO-A")
        incoming(variant, 9, in_days=12, reference="PO-B")
    waiting_orders(variant, [1, 2])
    with django_assert_num_queries(budget):
        response = admin_client.get(queue_url(variant))
    assert len(response.context["rows"]) == 2

    waiting_orders(variant, [1] * 18)
    with django_assert_max_num_queries(budget):
        response = admin_client.get(queue_url(variant))

    assert len(response.context["rows"]) == 20


def test_a_long_queue_is_paged_and_positions_continue(admin_client, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(queue, "QUEUE_PAGE_SIZE", 2)
    variant = backordered_item()
    orders = waiting_orders(variant, [1, 1, 1, 1, 1])

    # session, user, variant, availability (1, with the closures), waiting lines (1), and the page is
    # full, so the lines are counted too (1)
    with django_assert_num_queries(6):
        response = admin_client.get(queue_url(variant) + "?page=2")

    assert [(r["entry"].position, r["entry"].order_number) for r in response.context["rows"]] == [
        (3, orders[2].number),
        (4, orders[3].number),
    ]
    assert (response.context["pages"], response.context["previous_page"], response.context["next_page"]) == (
        3,
        1,
        3,
    )
    assert admin_client.get(queue_url(variant) + "?page=9").url == queue_url(variant) + "?page=3"


def test_list_page_shows_variants_with_waiting_backorders(admin_client):
    waiting_for = backordered_item()
    waiting_orders(waiting_for, [2, 3], days_ago=[12, 2])
    give_stock(waiting_for, 1)
    nobody_waits = VariantFactory(sku="TEE-RED")
    give_stock(nobody_waits, 4)

    response = admin_client.get(reverse("admin:inventory_stockitem_queue"))

    assert response.status_code == 200
    rows = response.context["rows"]
    assert [
        (r["sku"], r["units_waiting"], r["lines"], r["oldest_wait"], r["free_stock"], r["url"]) for r in rows
    ] == [("MUG-BLUE", 5, 2, "12 days", 1, queue_url(waiting_for))]


def test_list_page_when_nobody_waits(admin_client):
    response = admin_client.get(reverse("admin:inventory_stockitem_queue"))

    assert "Nobody is waiting for any item" in response.content.decode()


def test_list_page_queries_do_not_grow_with_variants(
    admin_client, django_assert_num_queries, django_assert_max_num_queries
):
    # session, user, count, the page of variants, their next deliveries (1), the shop's closures (1: the
    # shipping calendar) and the deliveries' suppliers' habits (1, all suppliers at once; docs/dates.md)
    budget = 7
    first = backordered_item()
    waiting_orders(first, [1])
    incoming(first, 5, in_days=3, reference="PO-1")
    with django_assert_num_queries(budget):
        admin_client.get(reverse("admin:inventory_stockitem_queue"))

    for n in range(9):
        variant = VariantFactory()
        allow_backorders(variant)
        waiting_orders(variant, [1, 2])
        incoming(variant, 5, in_days=4 + n, reference=f"PO-{n + 2}")
        incoming(variant, 5, in_days=20 + n, reference=f"PO-{n + 20}")
    with django_assert_max_num_queries(budget):
        response = admin_client.get(reverse("admin:inventory_stockitem_queue"))

    assert len(response.context["rows"]) == 10
    assert all(r["next_delivery"] for r in response.context["rows"])


def test_stock_and_policy_pages_link_to_the_queue(admin_client):
    variant = backordered_item()
    waiting_orders(variant, [2])
    give_stock(variant, 1)
    item = StockItem.objects.get(variant=variant)

    stock_list = admin_client.get(reverse("admin:inventory_stockitem_changelist")).content.decode()
    stock_page = admin_client.get(
        reverse("admin:inventory_stockitem_change", args=[item.pk])
    ).content.decode()
    policy_list = admin_client.get(reverse("admin:inventory_backorderpolicy_changelist")).content.decode()
    policy_page = admin_client.get(
        reverse("admin:inventory_backorderpolicy_change", args=[variant.backorder_policy.pk])
    ).content.decode()

    assert reverse("admin:inventory_stockitem_queue") in stock_list
    assert f'<a href="{queue_url(variant)}">2 units waiting</a>' in stock_list
    assert queue_url(variant) in stock_page
    assert f'<a href="{queue_url(variant)}">2 units waiting</a>' in policy_list
    assert queue_url(variant) in policy_page


# --- actions -------------------------------------------------------------------------------


def test_marking_an_order_as_priority_moves_it_to_the_front(admin_client, admin_user):
    variant = backordered_item()
    first, second, third = waiting_orders(variant, [1, 1, 1])

    response = admin_client.post(
        reverse("admin:inventory_stockitem_queue_priority", args=[variant.pk]),
        {"order": [third.pk], "priority": "mark"},
    )

    assert response.status_code == 302
    assert response.url == queue_url(variant)
    assert messages_of(response) == [f"{third.number} is now a priority order."]
    assert [e.order_id for e in backorder_queue(variant_id=variant.pk)] == [third.pk, first.pk, second.pk]
    event = OrderEvent.objects.get(order=third, kind=OrderEventKind.PRIORITY)
    assert (event.message, event.user) == ("Marked as priority", admin_user)


def test_removing_priority_puts_the_order_back_in_its_place(admin_client):
    variant = backordered_item()
    first, second = waiting_orders(variant, [1, 1])
    order_set_priority(order_id=second.pk, is_priority=True)

    response = admin_client.post(
        reverse("admin:inventory_stockitem_queue_priority", args=[variant.pk]),
        {"order": [second.pk, first.pk], "priority": "remove", "page": "1"},
    )

    assert response.url == queue_url(variant)
    assert messages_of(response) == [
        f"{first.number} was not a priority order.",
        f"{second.number} is no longer a priority order.",
    ]
    assert [e.order_id for e in backorder_queue(variant_id=variant.pk)] == [first.pk, second.pk]


def test_priority_action_ignores_orders_outside_this_queue(admin_client):
    variant, other = backordered_item(), VariantFactory()
    allow_backorders(other)
    (mine,) = waiting_orders(variant, [1])
    (elsewhere,) = waiting_orders(other, [1])

    response = admin_client.post(
        reverse("admin:inventory_stockitem_queue_priority", args=[variant.pk]),
        {"order": [elsewhere.pk], "priority": "mark"},
    )

    assert messages_of(response) == ["Select the orders to change first."]
    elsewhere.refresh_from_db()
    mine.refresh_from_db()
    assert (elsewhere.is_priority, mine.is_priority) == (False, False)
    assert OrderEvent.objects.filter(kind=OrderEventKind.PRIORITY).count() == 0


def test_run_allocation_now_serves_the_queue_from_free_stock(
    admin_client, django_capture_on_commit_callbacks
):
    # Given 3 units waiting and 2 free units whose allocation pass never ran
    variant = backordered_item()
    first, second = waiting_orders(variant, [1, 2])
    give_stock(variant, 2)
    AllocationRequest.objects.all().delete()  # its message was lost, say

    # When staff run allocation now
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(reverse("admin:inventory_stockitem_queue_allocate", args=[variant.pk]))

    # Then it was queued (the task runs after commit) and, run, served the queue in order
    assert response.status_code == 302
    assert response.url == queue_url(variant)
    task = callbacks[0]  # then the pass's own callbacks: the "backorder allocated" emails
    assert (task.func.__self__.name, task.keywords) == (
        "inventory.tasks.stock_arrived",
        {"variant_ids": [variant.pk]},
    )
    assert messages_of(response) == [
        "Allocation of MUG-BLUE is queued: free stock goes to the waiting orders in queue order as soon "
        "as a worker runs it. Reload this page in a moment to see the result."
    ]
    assert [o.lines.get().quantity_allocated for o in (first, second)] == [1, 1]
    assert AllocationRequest.objects.count() == 0
    item = StockItem.objects.get(variant=variant)
    assert (item.on_hand, item.allocated) == (2, 2)
    assert [(e.order_number, e.units_waiting) for e in backorder_queue(variant_id=variant.pk)] == [
        (second.number, 1)
    ]


def test_action_urls_refuse_get(admin_client):
    variant = backordered_item()
    waiting_orders(variant, [1])

    priority = admin_client.get(reverse("admin:inventory_stockitem_queue_priority", args=[variant.pk]))
    allocate = admin_client.get(reverse("admin:inventory_stockitem_queue_allocate", args=[variant.pk]))

    assert (priority.status_code, allocate.status_code) == (405, 405)
    assert AllocationRequest.objects.count() == 0


# --- permissions -----------------------------------------------------------------------------


def test_staff_without_permissions_get_403_and_nothing_changes(client, django_capture_on_commit_callbacks):
    variant = backordered_item()
    (order,) = waiting_orders(variant, [1])
    give_stock(variant, 1)
    AllocationRequest.objects.all().delete()
    staff(client)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        responses = [
            client.get(reverse("admin:inventory_stockitem_queue")),
            client.get(queue_url(variant)),
            client.post(
                reverse("admin:inventory_stockitem_queue_priority", args=[variant.pk]),
                {"order": [order.pk], "priority": "mark"},
            ),
            client.post(reverse("admin:inventory_stockitem_queue_allocate", args=[variant.pk])),
        ]

    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    order.refresh_from_db()
    assert order.is_priority is False
    assert (callbacks, AllocationRequest.objects.count(), order.lines.get().quantity_allocated) == ([], 0, 0)


def test_viewing_needs_view_stockitem_and_the_actions_need_their_own_permissions(client):
    variant = backordered_item()
    (order,) = waiting_orders(variant, [1])
    staff(client, "view_stockitem")

    page = client.get(queue_url(variant))
    priority = client.post(
        reverse("admin:inventory_stockitem_queue_priority", args=[variant.pk]),
        {"order": [order.pk], "priority": "mark"},
    )
    allocate = client.post(reverse("admin:inventory_stockitem_queue_allocate", args=[variant.pk]))

    assert (page.status_code, priority.status_code, allocate.status_code) == (200, 403, 403)
    html = page.content.decode()
    assert order.number in html
    assert "Mark selected orders as priority" not in html
    assert "Run allocation now" not in html
    order.refresh_from_db()
    assert order.is_priority is False
    assert AllocationRequest.objects.count() == 0


def test_change_order_permission_allows_the_priority_action(client):
    variant = backordered_item()
    first, second = waiting_orders(variant, [1, 1])
    staff(client, "view_stockitem", "change_order")

    html = client.get(queue_url(variant)).content.decode()
    response = client.post(
        reverse("admin:inventory_stockitem_queue_priority", args=[variant.pk]),
        {"order": [second.pk], "priority": "mark"},
    )

    assert "Mark selected orders as priority" in html
    assert "Run allocation now" not in html
    assert response.status_code == 302
    assert [e.order_id for e in backorder_queue(variant_id=variant.pk)] == [second.pk, first.pk]


def test_change_stockitem_permission_allows_run_allocation(client, django_capture_on_commit_callbacks):
    variant = backordered_item()
    (order,) = waiting_orders(variant, [1])
    give_stock(variant, 1)
    staff(client, "change_stockitem")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:inventory_stockitem_queue_allocate", args=[variant.pk]))

    assert response.status_code == 302
    assert order.lines.get().quantity_allocated == 1


# --- the list's "Next delivery" column (issue 16 item 4) ------------------------------------


def test_list_page_shows_the_next_delivery_of_each_waiting_item(admin_client, settings):
    settings.INVENTORY_OVERDUE_GRACE_DAYS = 3
    today = timezone.localdate()
    coming = backordered_item()
    waiting_orders(coming, [2])
    later = incoming(coming, 4, in_days=12, reference="PO-LATER")
    soon = incoming(coming, 6, in_days=5, reference="PO-SOON")
    late = VariantFactory(sku="LATE-1")
    allow_backorders(late)
    waiting_orders(late, [1])
    overdue = incoming(late, 3, in_days=-2, reference="PO-OVERDUE")
    nothing = VariantFactory(sku="NONE-1")
    allow_backorders(nothing)
    waiting_orders(nothing, [1])

    response = admin_client.get(reverse("admin:inventory_stockitem_queue"))

    deliveries = {r["sku"]: r["next_delivery"] for r in response.context["rows"]}
    po_url = lambda po: reverse("admin:inventory_purchaseorder_change", args=[po.pk])  # noqa: E731
    # The day the projection counts on: the supplier's p90 lateness added (docs/dates.md)
    counted = from_purchase_order(today + timedelta(days=5)).confident
    assert deliveries["MUG-BLUE"] == {
        "when": date_in_words(counted),
        "note": f"in {(counted - today).days} days",
        "reference": "PO-SOON",
        "url": po_url(soon),
        "units": "6 units",
    }
    counted = from_purchase_order(today - timedelta(days=2)).confident
    assert deliveries["LATE-1"]["when"] == date_in_words(counted)
    assert deliveries["LATE-1"]["reference"] == "PO-OVERDUE"
    assert deliveries["LATE-1"]["note"].startswith(f"in {(counted - today).days} days; overdue, expected ")
    assert deliveries["NONE-1"] is None
    page = response.content.decode()
    assert '<th scope="col">Next delivery</th>' in page
    assert f'<a href="{po_url(soon)}">PO-SOON</a>, 6 units' in page
    assert f'<a href="{po_url(overdue)}">PO-OVERDUE</a>, 3 units' in page
    assert "No purchase order" in page
    assert po_url(later) not in page


def test_next_delivery_skips_drafts_and_received_and_puts_undated_last():
    variant = backordered_item()
    draft = incoming(variant, 5, in_days=1, reference="PO-DRAFT")
    draft.status = "draft"
    draft.save(update_fields=["status"])
    undated = PurchaseOrderLineFactory(
        variant=variant,
        quantity_ordered=4,
        purchase_order__reference="PO-UNDATED",
        purchase_order__expected_date=None,
    ).purchase_order
    other = VariantFactory()
    PurchaseOrderLineFactory(variant=other, quantity_ordered=2, quantity_received=2)

    result = next_deliveries(variant_ids=[variant.pk, other.pk])

    assert list(result) == [variant.pk]
    assert (result[variant.pk].reference, result[variant.pk].promised_date, result[variant.pk].quantity) == (
        "PO-UNDATED",
        None,
        4,
    )
    assert result[variant.pk].purchase_order_id == undated.pk

    dated = incoming(variant, 9, in_days=40, reference="PO-DATED")
    assert next_deliveries(variant_ids=[variant.pk])[variant.pk].purchase_order_id == dated.pk
