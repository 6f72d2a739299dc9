"""Escalation to staff, the shipment email's thanks, the feedback request, and opting out of non-essential mail."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import User
from inventory.services import purchase_order_receive, stock_adjust
from inventory.tests.factories import WarehouseFactory
from notifications.models import EmailPreference, Notification, NotificationKind, NotificationStatus
from notifications.services import subscription_create
from orders.models import DelayNotice, LineDelay, OrderFeedback
from orders.services import order_ship
from orders.tasks import scan_delays, send_delay_digest, send_due_delay_notices, send_feedback_requests
from orders.tests.delays_helpers import (
    T0,
    backorderable,
    day,
    link_in,
    purchase_order,
    text_of,
    waiting_order,
)
from orders.tests.helpers import give_stock, place
from orders.tokens import FEEDBACK_SALT, make_link_token
from shop.tests.factories import VariantFactory

pytestmark = pytest.mark.django_db


def later(clock, **delta):
    clock.move_to(T0 + timedelta(**delta))


def subjects(mailbox, word: str) -> list[tuple[str, str]]:
    return [(m.to[0], m.subject) for m in mailbox if word in m.subject]


# --- escalation ------------------------------------------------------------------------------------


@pytest.fixture
def escalation(clock, settings):
    """On 1 April: Ada has waited 15 days past her first promised date (17 March: her purchase order's
    10 March + the supplier's default p90 lateness, 7 days), Bob 2 (30 March: today + 21 days' lead time
    + 7; docs/dates.md)."""
    settings.DELAY_ESCALATE_AFTER_DAYS = 14
    settings.STAFF_ALERT_EMAILS = ["ops@example.com", "Boss@example.com"]
    tent = backorderable()
    stove = backorderable(name="Camp Stove")
    purchase_order(tent, 5, day(8))
    ada = waiting_order(tent, 2, email="ada@example.com")
    bob = waiting_order(stove, 1, email="bob@example.com")
    later(clock, days=30, hours=-3)  # 1 April, 06:00
    return {"tent": tent, "ada": ada, "bob": bob}


def test_escalated_filter_lists_orders_waiting_too_long_past_their_first_promise(admin_client, escalation):
    url = reverse("admin:orders_order_changelist")

    escalated = admin_client.get(url + "?escalated=yes")
    calm = admin_client.get(url + "?escalated=no")

    assert [o.number for o in escalated.context["cl"].result_list] == [escalation["ada"].number]
    assert [o.number for o in calm.context["cl"].result_list] == [escalation["bob"].number]
    assert "Waiting too long past the first promised date" in escalated.content.decode()


def test_the_daily_digest_lists_escalated_lines_with_their_customers_once_a_day(
    escalation, commit, mailoutbox
):
    ada, tent = escalation["ada"], escalation["tent"]

    # When the daily scan and then the digest run
    with commit():
        scan_delays()
    with commit():
        send_delay_digest()

    # Then each staff address gets one digest listing Ada's line only, with her contact and the dates
    digests = [m for m in mailoutbox if m.subject.startswith("Escalated backorders")]
    assert sorted(m.to[0] for m in digests) == ["Boss@example.com", "ops@example.com"]
    assert (
        digests[0].subject == "Escalated backorders: 1 line waiting more than 14 days past the promised date"
    )
    text = text_of(digests[0])
    assert (
        f"- {ada.number} · ada@example.com (Ada Lovelace)\n"
        f"  2 × {tent.sku} Alpine Tent waiting\n"
        # the overdue grace, 3 shipping days from Wednesday 1 April: Thursday 2, then Good Friday and Easter
        # Monday are bank holidays, Tuesday 7, Wednesday 8
        "  First promised 17 March 2026 (15 days ago); now expected 8 April 2026\n"
        f"  http://127.0.0.1:8000/admin/orders/order/{ada.pk}/change/\n"
    ) in text
    assert escalation["bob"].number not in text
    assert (
        "All escalated orders in the admin: http://127.0.0.1:8000/admin/orders/order/?escalated=yes" in text
    )

    # And a second run the same day sends nothing more
    with commit():
        send_delay_digest()
    assert len([m for m in mailoutbox if m.subject.startswith("Escalated backorders")]) == 2


def test_no_digest_when_nothing_is_escalated(clock, settings, commit, mailoutbox):
    settings.STAFF_ALERT_EMAILS = ["ops@example.com"]
    waiting_order(backorderable(), 1, email="ada@example.com")

    with commit():
        send_delay_digest()

    assert mailoutbox == []


# --- shipping thanks -------------------------------------------------------------------------------


def shipped_email(mailbox):
    return [m for m in mailbox if "on its way" in m.subject][-1]


def test_the_shipment_thanks_only_for_units_that_waited(clock, commit, mailoutbox):
    # Given Ada's 5 tents: 2 from stock, 3 waiting for a purchase order
    tent = backorderable()
    give_stock(tent, 2)
    po = purchase_order(tent, 3, day(8))
    order = waiting_order(tent, 5, email="ada@example.com")

    # When the 2 in stock ship: no thanks for waiting (nothing in this parcel waited)
    with commit():
        order_ship(order_id=order.pk)
    assert "Thank you for waiting" not in text_of(shipped_email(mailoutbox))

    # When the 3 arrive and ship: thanks
    with commit():
        purchase_order_receive(purchase_order_id=po.pk)
    with commit():
        order_ship(order_id=order.pk)
    assert (
        "Thank you for waiting for Alpine Tent: we know it took longer than buying from stock, "
        "and we appreciate your patience." in text_of(shipped_email(mailoutbox))
    )


def test_the_shipment_thanks_name_only_the_items_that_were_backordered(clock, commit, mailoutbox):
    mug = VariantFactory(product__name="Enamel Mug")
    give_stock(mug, 3)
    tent = backorderable()
    po = purchase_order(tent, 3, day(8))
    order = place([(mug, 1), (tent, 1)], email="ada@example.com", policy="together").order
    with commit():
        purchase_order_receive(purchase_order_id=po.pk)

    with commit():
        order_ship(order_id=order.pk)

    text = text_of(shipped_email(mailoutbox))
    assert "Thank you for waiting for Alpine Tent:" in text
    assert "waiting for Enamel Mug" not in text


# --- feedback --------------------------------------------------------------------------------------


@pytest.fixture
def delivered(clock, commit, settings):
    """Ada's tent waited on backorder and shipped on 2 March; FEEDBACK_DELAY_DAYS = 5."""
    settings.FEEDBACK_DELAY_DAYS = 5
    tent = backorderable()
    po = purchase_order(tent, 3, day(8))
    order = waiting_order(tent, 1, email="ada@example.com")
    with commit():
        purchase_order_receive(purchase_order_id=po.pk)
    with commit():
        order_ship(order_id=order.pk)
    return order


def feedback_emails(mailbox):
    return [m for m in mailbox if "one question about your wait" in m.subject]


def test_one_feedback_request_goes_out_once_the_order_counts_as_delivered(
    delivered, clock, commit, mailoutbox
):
    # Given it is 4 days after shipping, or an order with nothing backordered shipped the same day
    mug = VariantFactory(product__name="Enamel Mug")
    give_stock(mug, 3)
    in_stock = place([(mug, 1)], email="bob@example.com").order
    with commit():
        order_ship(order_id=in_stock.pk)
    later(clock, days=4, hours=23)
    with commit():
        send_feedback_requests()
    assert feedback_emails(mailoutbox) == []

    # When the daily task runs 5 days after the shipment, and again the next day
    later(clock, days=5, minutes=1)
    with commit():
        send_feedback_requests()
    later(clock, days=6)
    with commit():
        send_feedback_requests()

    # Then Ada alone is asked, once
    (message,) = feedback_emails(mailoutbox)
    assert message.to == ["ada@example.com"]
    assert message.subject == f"Order {delivered.number}: one question about your wait"
    assert "Answer from 1 (very unhappy) to 5 (very happy)" in text_of(message)
    assert list(OrderFeedback.objects.values_list("order", flat=True)) == [delivered.pk]


def test_feedback_form_stores_one_answer_that_staff_see(
    delivered, clock, commit, mailoutbox, client, admin_client
):
    later(clock, days=5, minutes=1)
    with commit():
        send_feedback_requests()
    link = link_in(text_of(feedback_emails(mailoutbox)[0]), "feedback")

    # The page asks one question and changes nothing
    page = client.get(link)
    assert page.status_code == 200
    assert "How happy are you with how we handled the wait for your order?" in page.content.decode()
    assert OrderFeedback.objects.get().answered_at is None

    # A rating outside 1-5 is refused
    assert client.post(link, {"rating": "9"}).status_code == 400
    assert OrderFeedback.objects.get().rating is None

    # An answer is stored
    response = client.post(link, {"rating": "4", "comment": "Long wait, but you kept me posted."})
    assert response.status_code == 200
    feedback = OrderFeedback.objects.get()
    assert (feedback.rating, feedback.comment, feedback.answered_at) == (
        4,
        "Long wait, but you kept me posted.",
        T0 + timedelta(days=5, minutes=1),
    )

    # Once: a second answer is refused and changes nothing
    assert client.post(link, {"rating": "1"}).status_code == 410
    assert OrderFeedback.objects.get().rating == 4

    # Staff see it in the admin, in the list and on the order
    listing = admin_client.get(reverse("admin:orders_orderfeedback_changelist") + "?rating=4")
    assert [f.pk for f in listing.context["cl"].result_list] == [feedback.pk]
    assert "Long wait, but you kept me posted." in listing.content.decode()
    order_page = admin_client.get(reverse("admin:orders_order_change", args=[delivered.pk]))
    assert "Long wait, but you kept me posted." in order_page.content.decode()


@pytest.mark.parametrize("how", ["tampered", "expired", "another purpose"])
def test_a_bad_feedback_link_is_refused(delivered, clock, commit, mailoutbox, client, how):
    later(clock, days=5, minutes=1)
    with commit():
        send_feedback_requests()
    link = link_in(text_of(feedback_emails(mailoutbox)[0]), "feedback")
    if how == "tampered":
        link = link.replace("feedback/", "feedback/x", 1)
    elif how == "expired":
        later(clock, days=66)
    else:
        token = make_link_token("orders.delay-keep-waiting", OrderFeedback.objects.get().pk)
        link = reverse("orders:feedback", kwargs={"token": token})

    assert client.post(link, {"rating": "5"}).status_code == 400
    assert OrderFeedback.objects.get().rating is None
    assert make_link_token(FEEDBACK_SALT, 1) != make_link_token("orders.delay-keep-waiting", 1)


# --- opting out of non-essential email ------------------------------------------------------------


def test_an_opted_out_customer_gets_order_emails_but_no_feedback_request_or_back_in_stock_alert(
    delivered, clock, commit, mailoutbox, client
):
    # Given Ada (signed in) and Bob both asked for a back-in-stock alert on a sold-out lamp
    ada = User.objects.create_user("ada@example.com", "pw")
    lamp = VariantFactory(product__name="Head Lamp")
    subscription_create(variant_id=lamp.pk, email="ada@example.com", user_id=ada.pk)
    subscription_create(
        variant_id=lamp.pk, email="bob@example.com", user_id=User.objects.create_user("bob@example.com").pk
    )

    # When Ada turns non-essential email off on her account page
    client.force_login(ada)
    page = client.get(reverse("account"))
    assert reverse("orders:email_preferences") in page.content.decode()
    response = client.post(reverse("orders:email_preferences"), {})
    assert response.status_code == 302
    assert EmailPreference.objects.get(email="ada@example.com").marketing_opt_out is True

    # Then the lamp's restock alerts Bob only, no feedback request comes, but order emails still do
    with commit():
        stock_adjust(variant_id=lamp.pk, warehouse_id=WarehouseFactory().pk, quantity_change=5)
    later(clock, days=5, minutes=1)
    with commit():
        send_feedback_requests()
    assert [m.to[0] for m in mailoutbox if "back in stock" in m.subject.lower()] == ["bob@example.com"]
    assert feedback_emails(mailoutbox) == []
    tent = backorderable(name="Spare Tent")
    with commit():
        place([(tent, 1)], email="ada@example.com")
    assert [m.subject for m in mailoutbox if m.to == ["ada@example.com"]][-1].startswith("Order ")

    # And turning it back on is remembered
    client.post(reverse("orders:email_preferences"), {"non_essential": "on"})
    assert EmailPreference.objects.get(email="ada@example.com").marketing_opt_out is False


def test_the_opt_out_link_in_the_feedback_email_works_and_cancels_what_is_pending(
    delivered, clock, commit, mailoutbox, client
):
    later(clock, days=5, minutes=1)
    with commit():
        send_feedback_requests()
    text = text_of(feedback_emails(mailoutbox)[0])
    link = link_in(text, "email-preferences")
    pending = Notification.objects.create(
        kind=NotificationKind.FEEDBACK_REQUEST, recipient="ada@example.com", dedupe_key="other", context={}
    )

    # GET asks and changes nothing; POST opts out and cancels the non-essential mail still waiting
    assert client.get(link).status_code == 200
    assert not EmailPreference.objects.filter(email="ada@example.com").exists()
    assert client.post(link).status_code == 200
    assert EmailPreference.objects.get(email="ada@example.com").marketing_opt_out is True
    pending.refresh_from_db()
    assert pending.status == NotificationStatus.CANCELLED


# --- admin: query budgets ------------------------------------------------------------------------


def make_delay(clock, commit, n):
    tent = backorderable()
    po = purchase_order(tent, 5, day(8))
    waiting_order(tent, 1, email=f"c{n}@example.com")
    from inventory.services import purchase_order_set_expected_date

    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(18))


def make_feedback(clock, commit, n):
    order = waiting_order(backorderable(), 1, email=f"c{n}@example.com")
    OrderFeedback.objects.create(order=order, rating=5, comment="Fine", answered_at=T0)


@pytest.mark.parametrize(
    ("model", "make_row", "budget"), [("linedelay", make_delay, 5), ("orderfeedback", make_feedback, 5)]
)
def test_changelist_queries_do_not_grow_with_rows(
    admin_client,
    clock,
    commit,
    django_assert_num_queries,
    django_assert_max_num_queries,
    model,
    make_row,
    budget,
):
    url = reverse(f"admin:orders_{model}_changelist")
    make_row(clock, commit, 0)
    with django_assert_num_queries(budget):
        assert admin_client.get(url).context["cl"].result_count == 1
    for n in range(1, 20):
        make_row(clock, commit, n)
    with django_assert_max_num_queries(budget):
        assert admin_client.get(url).context["cl"].result_count == 20


def test_order_page_in_the_admin_shows_the_delay_and_the_answer(
    admin_client, clock, commit, client, mailoutbox
):
    tent = backorderable()
    po = purchase_order(tent, 5, day(8))
    order = waiting_order(tent, 2, email="ada@example.com")
    from inventory.services import purchase_order_set_expected_date

    with commit():
        purchase_order_set_expected_date(purchase_order_id=po.pk, expected_date=day(18))
    later(clock, minutes=31)
    with commit():
        send_due_delay_notices()
    client.post(link_in(text_of(mailoutbox[-1]), "keep-waiting"))

    content = admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    # The dates promised: the confident ends, 10 March and 20 March + the default p90 lateness (7 days)
    assert f"{tent.sku} — 17 March 2026 → 27 March 2026 (Purchase order date moved)" in content
    assert "Keeps waiting (2 March 2026, 09:31)" in content
    assert LineDelay.objects.count() == 1
    assert DelayNotice.objects.get().choice == "keep_waiting"
