"""The delay email's two links: signed, single-purpose, expiring, single use; GET never changes anything;
"Cancel these items" cancels exactly the units still waiting and releases exactly their price."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from inventory.services import purchase_order_receive, purchase_order_set_expected_date
from orders.models import DelayChoice, DelayNotice, OrderEvent, OrderEventKind, OrderLine, Payment
from orders.services import order_ship
from orders.tasks import send_due_delay_notices
from orders.tests.delays_helpers import (
    T0,
    backorderable,
    day,
    delay_emails,
    link_in,
    purchase_order,
    text_of,
    waiting_order,
)
from orders.tests.helpers import give_stock, timeline_of
from orders.tokens import DELAY_CANCEL_SALT, DELAY_KEEP_SALT, make_link_token, order_access_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def delayed(clock, commit, mailoutbox):
    """Ada ordered 5 tents at 100.00 (10 % off those that wait): 2 from stock, 3 waiting for a purchase
    order due 10 March that slipped to 20 March (told 12–17 March, then 23–27 March: the supplier's default
    lateness, docs/dates.md); the delay email went out at 09:31."""
    tent = backorderable(backorder_discount_percent=Decimal("10"))
    give_stock(tent, 2)
    po = purchase_order(tent, 5, day(8))
    order = waiting_order(tent, 5, email="ada@example.com")
    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(18))
    clock.move_to(T0 + timedelta(minutes=31))
    with commit():
        send_due_delay_notices()
    (message,) = delay_emails(mailoutbox)
    text = text_of(message)
    return {
        "tent": tent,
        "po": po,
        "order": order,
        "line": order.lines.get(),
        "notice": DelayNotice.objects.get(),
        "keep": link_in(text, "keep-waiting"),
        "cancel": link_in(text, "cancel"),
    }


def quantities(line: OrderLine) -> tuple[int, int, int, int]:
    line.refresh_from_db()
    return (
        line.quantity_allocated,
        line.quantity_backordered,
        line.quantity_shipped,
        line.quantity_cancelled,
    )


def payment_of(order) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    p = Payment.objects.get(order=order)
    return (p.amount_authorized, p.amount_captured, p.amount_voided, p.amount_refunded)


def choice_of(notice) -> str:
    notice.refresh_from_db()
    return notice.choice


# --- keep waiting --------------------------------------------------------------------------------


def test_keep_waiting_page_asks_and_changes_nothing(client, delayed):
    response = client.get(delayed["keep"])

    assert response.status_code == 200
    content = response.content.decode()
    assert "Keep waiting for your items?" in content
    # The new range: 20 March + the supplier's default lateness, 2 to 7 days (docs/dates.md)
    assert "now <strong>expected to ship 23–27 March 2026</strong>" in content
    assert choice_of(delayed["notice"]) == DelayChoice.NONE
    assert OrderEvent.objects.filter(order=delayed["order"], kind=OrderEventKind.NOTE).count() == 0


def test_keep_waiting_records_the_choice_once_and_the_order_page_shows_it(client, delayed):
    # When Ada presses the button
    response = client.post(delayed["keep"])

    # Then her choice is recorded, nothing else changes, and the timeline shows the delay and the choice
    assert response.status_code == 200
    assert "Thank you for your patience" in response.content.decode()
    assert choice_of(delayed["notice"]) == DelayChoice.KEEP_WAITING
    assert quantities(delayed["line"]) == (2, 3, 0, 0)
    page = client.get(order_access_path(delayed["order"].number)).content.decode()
    delay, kept = timeline_of(page)[-2:]
    assert (delay[0], delay[2]) == (
        "Sorry, delayed",
        # what was promised (the confident end of 12–17 March), then the new range
        "3 × Alpine Tent: was Tuesday 17 March 2026, now 23–27 March 2026.",
    )
    assert kept == (
        "You chose to keep waiting",
        "Monday 2 March 2026 at 09:31",
        "3 × Alpine Tent (Alpine Tent now expected to ship 23–27 March 2026). Thank you for your patience.",
    )

    # And the link is used up: GET and POST are refused, and nothing is recorded twice
    again = client.post(delayed["keep"])
    assert again.status_code == 410
    assert "You told us you would keep waiting" in again.content.decode()
    assert client.get(delayed["keep"]).status_code == 410
    assert OrderEvent.objects.filter(order=delayed["order"], kind=OrderEventKind.NOTE).count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_keep_link_is_refused(client, delayed, method):
    path = delayed["keep"]
    token = path.split("/")[3]
    tampered = path.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))

    response = getattr(client, method)(tampered)

    assert response.status_code == 400
    assert "This link is invalid or has expired" in response.content.decode()
    assert choice_of(delayed["notice"]) == DelayChoice.NONE


def test_a_keep_link_is_refused_after_30_days(client, delayed, clock):
    clock.move_to(T0 + timedelta(days=30, minutes=32))

    response = client.post(delayed["keep"])

    assert response.status_code == 400
    assert choice_of(delayed["notice"]) == DelayChoice.NONE


def test_a_token_for_one_link_does_not_open_the_other(client, delayed):
    # The keep-waiting token on the cancel page, and the other way round: each salt is its own purpose
    keep_token = delayed["keep"].split("/")[3]
    cancel_token = delayed["cancel"].split("/")[3]

    on_cancel = client.post(reverse("orders:delay_cancel", kwargs={"token": keep_token}))
    on_keep = client.post(reverse("orders:delay_keep", kwargs={"token": cancel_token}))

    assert (on_cancel.status_code, on_keep.status_code) == (400, 400)
    assert choice_of(delayed["notice"]) == DelayChoice.NONE
    assert quantities(delayed["line"]) == (2, 3, 0, 0)


def test_a_signed_link_to_a_notice_that_was_never_emailed_is_refused(client, delayed):
    pending = DelayNotice.objects.create(order=delayed["order"], due_at=T0 + timedelta(hours=1))
    token = make_link_token(DELAY_KEEP_SALT, pending.pk)

    response = client.post(reverse("orders:delay_keep", kwargs={"token": token}))

    assert response.status_code == 400
    assert choice_of(pending) == DelayChoice.NONE


# --- cancel these items --------------------------------------------------------------------------


def test_cancel_page_shows_the_units_and_the_exact_amount_and_changes_nothing(client, delayed):
    response = client.get(delayed["cancel"])

    assert response.status_code == 200
    content = response.content.decode()
    # 3 waiting units at the backorder price (100.00 - 10 %)
    assert '<td>Alpine Tent</td><td>3</td><td class="text-end">€270.00</td>' in content
    assert "€270.00</td></tr></tfoot>" in content
    assert quantities(delayed["line"]) == (2, 3, 0, 0)
    assert choice_of(delayed["notice"]) == DelayChoice.NONE


def test_cancel_releases_exactly_the_waiting_units_and_never_touches_allocated_or_shipped(
    client, delayed, commit
):
    # Given Ada's 2 units from stock shipped (captured 200.00 + 4.90 shipping) and 1 more arrived for her
    order, line = delayed["order"], delayed["line"]
    with commit():
        order_ship(order_id=order.pk)
    with commit():
        purchase_order_receive(
            purchase_order_id=delayed["po"].pk, quantities={delayed["po"].lines.get().pk: 1}
        )
    assert quantities(line) == (1, 2, 2, 0)
    before = payment_of(order)
    assert before == (Decimal("474.90"), Decimal("204.90"), Decimal("0.00"), Decimal("0.00"))

    # When she cancels from the delay email
    with commit():
        response = client.post(delayed["cancel"])

    # Then only the 2 units still waiting are cancelled, and exactly their price (2 × 90.00) is released
    assert response.status_code == 200
    assert (
        "We cancelled 2 waiting units from order "
        f"{order.number}. You pay nothing for the cancelled items: the €180.00 reserved on your card for "
        "them has been released (your bank may take a few days to show it)." in response.content.decode()
    )
    assert quantities(line) == (1, 0, 2, 2)
    assert payment_of(order) == (Decimal("474.90"), Decimal("204.90"), Decimal("180.00"), Decimal("0.00"))
    assert choice_of(delayed["notice"]) == DelayChoice.CANCELLED
    assert list(
        OrderEvent.objects.filter(order=order, kind__in=["cancelled", "refunded", "note"]).values_list(
            "kind", "message"
        )
    ) == [
        ("cancelled", "Cancelled at the customer's request: 2 × Alpine Tent"),
        (
            "refunded",
            "You pay nothing for the cancelled items: the €180.00 reserved on your card for them has been "
            "released (your bank may take a few days to show it).",
        ),
        ("note", "You chose to cancel the delayed items rather than wait."),
    ]

    # And the link works once: a second POST is refused and cancels nothing more
    again = client.post(delayed["cancel"])
    assert again.status_code == 410
    assert "have already been cancelled" in again.content.decode()
    assert quantities(line) == (1, 0, 2, 2)
    assert payment_of(order)[2] == Decimal("180.00")


def test_cancel_when_nothing_waits_any_more_does_nothing_and_keeps_the_link(client, delayed, commit):
    # Given the 3 waiting units arrived and were allocated before Ada clicked
    with commit():
        purchase_order_receive(purchase_order_id=delayed["po"].pk)
    assert quantities(delayed["line"]) == (5, 0, 0, 0)

    response = client.post(delayed["cancel"])

    assert response.status_code == 409
    assert "there is nothing to cancel" in response.content.decode()
    assert quantities(delayed["line"]) == (5, 0, 0, 0)
    assert payment_of(delayed["order"])[2] == Decimal("0.00")
    assert choice_of(delayed["notice"]) == DelayChoice.NONE


def test_cancel_after_choosing_to_keep_waiting_is_still_possible(client, delayed):
    assert client.post(delayed["keep"]).status_code == 200

    response = client.post(delayed["cancel"])

    assert response.status_code == 200
    assert quantities(delayed["line"]) == (2, 0, 0, 3)
    assert choice_of(delayed["notice"]) == DelayChoice.CANCELLED
    assert client.post(delayed["keep"]).status_code == 410  # keeping waiting makes no sense any more


@pytest.mark.parametrize("how", ["tampered", "expired", "wrong notice"])
def test_a_bad_cancel_link_is_refused_and_cancels_nothing(client, delayed, clock, how):
    path = delayed["cancel"]
    if how == "tampered":
        token = path.split("/")[3]
        path = path.replace(token, "x" + token[1:])
    elif how == "expired":
        clock.move_to(T0 + timedelta(days=31))
    else:
        path = reverse("orders:delay_cancel", kwargs={"token": make_link_token(DELAY_CANCEL_SALT, 999999)})

    assert client.get(path).status_code == 400
    assert client.post(path).status_code == 400
    assert quantities(delayed["line"]) == (2, 3, 0, 0)
    assert payment_of(delayed["order"])[2] == Decimal("0.00")


def test_link_pages_query_budget(client, delayed, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        assert client.get(delayed["keep"]).status_code == 200
    with django_assert_max_num_queries(4):
        assert client.get(delayed["cancel"]).status_code == 200
