""" "Ask about this order" (orders.views.questions, orders.services.questions): who may ask, the
throttle, bad input, and the three emails as their readers get them."""

import re
import uuid
from dataclasses import astuple
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import dateformat, timezone

from inventory.tests.promises import from_lead_time
from notifications.models import Notification
from orders.models import CustomerQuestion
from orders.services import OrderActionError, customer_question_answer, customer_question_ask
from orders.tests.helpers import allow_backorders, give_stock, place
from orders.tokens import make_order_token
from orders.views.questions import wait_in_words
from shop.formatting import date_range_in_words
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
FOOTER = (
    "--\n"
    "Backorder Shop · http://127.0.0.1:8000/\n"
    "Customer service: support@example.com · +44 20 7946 0321 (Monday to Friday, 9:00 to 17:00 UK time)\n"
    "Backorder Shop Ltd, 12 Analytical Row, London N1 9GU, United Kingdom\n"
)


@pytest.fixture(autouse=True)
def contact_and_counters(settings):
    """The README's contact defaults (a developer's .env must not change what the emails say), and
    throttle counters of this test only (the cache may be a Redis shared with other runs)."""
    settings.SHOP_NAME = "Backorder Shop"
    settings.SHOP_BASE_URL = "http://127.0.0.1:8000"
    settings.SHOP_CONTACT_EMAIL = "support@example.com"
    settings.SHOP_CONTACT_PHONE = "+44 20 7946 0321"
    settings.SHOP_ADDRESS = "Backorder Shop Ltd, 12 Analytical Row, London N1 9GU, United Kingdom"
    settings.SHOP_SUPPORT_HOURS = "Monday to Friday, 9:00 to 17:00 UK time"
    settings.RATELIMIT_CACHE_PREFIX = f"rl:test-{uuid.uuid4().hex}:"


@pytest.fixture
def tent():
    """Nothing in stock but one unit; backorders allowed, 14 days' lead time."""
    variant = VariantFactory(
        product=ProductFactory(name="Alpine Tent"),
        sku="TENT-3P",
        price=Decimal("150.00"),
        option_values={"size": "3 person"},
    )
    allow_backorders(variant, lead_time_days=14)
    give_stock(variant, 1)
    return variant


@pytest.fixture
def alice():
    return User.objects.create_user(email="alice@example.com", password="x")


@pytest.fixture
def bob():
    return User.objects.create_user(email="bob@example.com", password="x")


@pytest.fixture
def order(alice, tent, mailoutbox, django_capture_on_commit_callbacks):
    """Alice's order of 3 tents: 1 in stock, 2 waiting. Its confirmation email is cleared."""
    with django_capture_on_commit_callbacks(execute=True):
        placed = place([(tent, 3)], email="alice@example.com", user_id=alice.pk).order
    mailoutbox.clear()
    Notification.objects.all().delete()
    return placed


def question_url(order) -> str:
    return reverse("orders:question", args=[order.number])


def ask(client, order, captured, *, token="", subject="when_ship", message="When will my tent ship?"):
    with captured(execute=True):
        return client.post(question_url(order), {"token": token, "subject": subject, "message": message})


def in_words(day) -> str:
    return dateformat.format(day, "l j F Y")


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.tags, m.message) for m in get_messages(response.wsgi_request)]


# --- who may ask ----------------------------------------------------------------------------------


def test_the_owner_asks_from_the_order_page_and_sees_it_there(
    client, alice, order, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    page = client.get(order.get_absolute_url()).content.decode()
    assert '<h2 id="questions-heading" class="h5">Ask about this order</h2>' in page
    assert f'action="{question_url(order)}#questions"' in page

    response = ask(client, order, django_capture_on_commit_callbacks, message="Hello,\r\nwhen will it ship?")

    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    question = CustomerQuestion.objects.get()
    assert (question.order, question.email, question.subject, question.message) == (
        order,
        "alice@example.com",
        "when_ship",
        "Hello,\nwhen will it ship?",
    )
    assert (question.answered_at, question.answered_by, question.answer) == (None, None, "")
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.com", "support@example.com"]
    page = client.get(response["Location"])
    assert messages_of(page) == [
        (
            "success",
            "Thank you: your question has reached our customer service. We have emailed a copy to "
            "alice@example.com and will answer you there. You will find it under “Ask about this order” below.",
        )
    ]
    content = page.content.decode()
    assert "Your questions so far" in content
    assert "Hello,<br>when will it ship?" in content
    assert "Waiting for our answer: we will reply by email to alice@example.com." in content


def test_the_signed_link_asks_without_an_account(
    client, order, mailoutbox, django_capture_on_commit_callbacks
):
    token = make_order_token(order.number)

    response = ask(client, order, django_capture_on_commit_callbacks, token=token, subject="change_cancel")

    assert response.status_code == 302
    assert response["Location"] == f"{order.get_absolute_url()}?token={token.replace(':', '%3A')}"
    assert list(CustomerQuestion.objects.values_list("order", "subject")) == [(order.pk, "change_cancel")]
    assert len(mailoutbox) == 2


def test_a_stranger_gets_404_and_nothing_is_sent(
    client, bob, order, mailoutbox, django_capture_on_commit_callbacks
):
    anonymous = ask(client, order, django_capture_on_commit_callbacks)
    client.force_login(bob)
    other_customer = ask(client, order, django_capture_on_commit_callbacks)

    assert (anonymous.status_code, other_customer.status_code) == (404, 404)
    assert "Ask about this order" not in other_customer.content.decode()
    assert CustomerQuestion.objects.count() == 0
    assert Notification.objects.count() == 0
    assert mailoutbox == []


@pytest.mark.parametrize("which", ["tampered", "another order's", "expired"])
def test_a_bad_or_expired_token_gets_404(
    client, order, tent, which, mailoutbox, django_capture_on_commit_callbacks
):
    token = make_order_token(order.number)
    if which == "tampered":
        token = token[:-2] + "xx"
    elif which == "another order's":
        token = make_order_token(place([(tent, 1)], email="eve@example.com").order.number)
    Notification.objects.all().delete()

    with time_machine.travel(timezone.now() + timedelta(days=401 if which == "expired" else 0)):
        response = ask(client, order, django_capture_on_commit_callbacks, token=token)

    assert response.status_code == 404
    assert CustomerQuestion.objects.count() == 0
    assert Notification.objects.count() == 0
    assert mailoutbox == []


def test_a_token_still_valid_after_399_days_asks(client, order, django_capture_on_commit_callbacks):
    token = make_order_token(order.number)

    with time_machine.travel(timezone.now() + timedelta(days=399)):
        response = ask(client, order, django_capture_on_commit_callbacks, token=token)

    assert response.status_code == 302
    assert CustomerQuestion.objects.count() == 1


def test_without_a_contact_address_there_is_no_form(settings, client, alice, order):
    settings.SHOP_CONTACT_EMAIL = ""
    client.force_login(alice)

    page = client.get(order.get_absolute_url()).content.decode()
    response = client.post(question_url(order), {"subject": "other", "message": "Hello?"})

    assert "Ask about this order" not in page
    assert response.status_code == 404
    assert CustomerQuestion.objects.count() == 0


# --- the throttle -----------------------------------------------------------------------------------


def test_questions_about_one_order_are_throttled(
    settings, client, order, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ORDER_QUESTION_RATE_PER_ORDER = "2/d"
    token = make_order_token(order.number)
    for n in range(2):
        assert (
            ask(client, order, django_capture_on_commit_callbacks, token=token, message=f"Q{n}").status_code
            == 302
        )
    mailoutbox.clear()

    response = ask(client, order, django_capture_on_commit_callbacks, token=token, message="Third <b>one</b>")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    content = response.content.decode()
    assert "This question was not sent." in content
    assert re.search(
        r"Please wait (\d+ minutes?|about \d+ hours) and send it again, or reach us directly:", content
    )
    assert "Third &lt;b&gt;one&lt;/b&gt;</blockquote>" in content  # what was typed, to copy
    assert 'href="mailto:support@example.com"' in content
    assert 'href="tel:+442079460321"' in content
    assert CustomerQuestion.objects.count() == 2
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 minute"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (5340, "89 minutes"),
        (5400, "90 minutes"),
        (5401, "about 2 hours"),
        (61200, "about 17 hours"),
        (86400, "about 24 hours"),
    ],
)
def test_the_wait_is_told_in_minutes_then_hours(seconds, words):
    assert wait_in_words(seconds) == words


def test_every_form_sent_from_one_address_counts(settings, client, order, django_capture_on_commit_callbacks):
    settings.ORDER_QUESTION_RATE_PER_IP = "2/h"
    token = make_order_token(order.number)
    assert ask(client, order, django_capture_on_commit_callbacks, token=token, message="").status_code == 400
    assert ask(client, order, django_capture_on_commit_callbacks, token=token, message="").status_code == 400

    response = ask(client, order, django_capture_on_commit_callbacks, token=token)

    assert response.status_code == 429
    assert re.search(r"Please wait \d+ minutes? and send it again", response.content.decode())
    assert CustomerQuestion.objects.count() == 0
    assert Notification.objects.count() == 0


def test_a_stranger_cannot_use_up_an_orders_questions(
    settings, client, bob, order, django_capture_on_commit_callbacks
):
    """The per-order counter moves only for visitors who may see the order (the 404 comes first)."""
    settings.ORDER_QUESTION_RATE_PER_ORDER = "1/d"
    client.force_login(bob)
    for _ in range(3):
        assert ask(client, order, django_capture_on_commit_callbacks).status_code == 404
    client.logout()

    token = make_order_token(order.number)
    assert ask(client, order, django_capture_on_commit_callbacks, token=token).status_code == 302


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "message", "error"),
    [
        ("when_ship", "", "Write your question."),
        ("when_ship", " \r\n\t ", "Write your question."),
        ("when_ship", "x" * 2001, "Your question can be at most 2000 characters long (it has 2001)."),
        ("when_ship", "Bell \x07 here", "Your question contains invisible control characters"),
        ("when_ship", "Nul \x00 here", "Your question contains invisible control characters"),
        ("when_ship", "Escape \x1b[31m red", "Your question contains invisible control characters"),
        ("", "Where is it?", "Choose what your question is about."),
        ("refund-me-now", "Where is it?", "Choose what your question is about."),
    ],
)
def test_bad_input_is_a_clear_form_error(
    client, alice, order, subject, message, error, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(alice)

    response = ask(client, order, django_capture_on_commit_callbacks, subject=subject, message=message)

    assert response.status_code == 400
    content = response.content.decode()
    assert error in content
    assert "Ask about this order" in content and f"Order {order.number}" in content  # the order page, again
    assert CustomerQuestion.objects.count() == 0
    assert mailoutbox == []


def test_a_long_question_with_browser_newlines_fits(client, alice, order, django_capture_on_commit_callbacks):
    """Browsers post CRLF; a newline counts once, as the textarea's maxlength counted it."""
    client.force_login(alice)
    message = ("x" * 99 + "\r\n") * 20  # 2000 characters with LF newlines, 2020 as posted

    response = ask(client, order, django_capture_on_commit_callbacks, message=message)

    assert response.status_code == 302
    assert len(CustomerQuestion.objects.get().message) == 1999  # the last newline is trimmed


def test_the_form_shows_the_limits(client, alice, order):
    client.force_login(alice)

    content = client.get(order.get_absolute_url()).content.decode()

    assert 'maxlength="2000"' in content
    assert "Up to 2,000 characters." in content
    for label in ("When will it ship?", "Change or cancel", "Something else"):
        assert label in content


def test_the_same_question_sent_twice_is_asked_once(
    client, alice, order, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(alice)

    first = ask(client, order, django_capture_on_commit_callbacks)
    again = ask(client, order, django_capture_on_commit_callbacks)

    assert (first.status_code, again.status_code) == (302, 302)
    assert CustomerQuestion.objects.count() == 1
    assert len(mailoutbox) == 2


def test_the_service_refuses_what_the_form_would(order):
    with pytest.raises(OrderActionError, match="Choose what your question is about."):
        customer_question_ask(order_id=order.pk, subject="nope", message="Hi")
    with pytest.raises(OrderActionError, match="Write your question."):
        customer_question_ask(order_id=order.pk, subject="other", message="   ")
    with pytest.raises(OrderActionError, match="at most 2000 characters"):
        customer_question_ask(order_id=order.pk, subject="other", message="x" * 2001)
    assert CustomerQuestion.objects.count() == 0


# --- the emails, as their readers get them ------------------------------------------------------------


def test_customer_service_gets_the_question_with_the_order(
    client, alice, order, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    line = order.lines.get()
    # No purchase order: today + the 14 days' lead time, and + the default p90 lateness (docs/dates.md)
    assert (line.expected_earliest_date, line.expected_date) == astuple(from_lead_time(14))
    expected = date_range_in_words(line.expected_earliest_date, line.expected_date)

    ask(
        client,
        order,
        django_capture_on_commit_callbacks,
        message="Hello,\r\nwhen will my tent ship?\r\n\r\nThanks",
    )

    question = CustomerQuestion.objects.get()
    email = next(m for m in mailoutbox if m.to == ["support@example.com"])
    headers = email.message()
    assert headers["Reply-To"] == "alice@example.com"
    assert email.subject == f"Question about order {order.number}: When will it ship?"
    assert email.body == (
        f"alice@example.com (Ada Lovelace) asks about order {order.number} (When will it ship?):\n"
        "\n"
        "> Hello,\n"
        "> when will my tent ship?\n"
        ">\n"
        "> Thanks\n"
        "\n"
        "Answer in the admin: the customer gets your answer by email, and the question is marked answered "
        "with your name.\n"
        f"http://127.0.0.1:8000/admin/orders/customerquestion/{question.pk}/change/\n"
        "(Replying to this email also reaches the customer, but leaves the question open in the admin.)\n"
        "\n"
        f"Order {order.number}, placed {dateformat.format(timezone.localtime(order.placed_at), 'j F Y')}: "
        "Partly ready to ship\n"
        "Waiting for stock:\n"
        f"- 2 × TENT-3P Alpine Tent (3 person), expected to ship {expected}\n"
        "\n"
        f"The order in the admin: http://127.0.0.1:8000/admin/orders/order/{order.pk}/change/\n"
        "\n" + FOOTER + "You are receiving this email at support@example.com.\n\n"
    )
    html = email.alternatives[0][0]
    assert "<blockquote>Hello,<br>when will my tent ship?<br><br>Thanks</blockquote>" in html
    assert (
        f'href="http://127.0.0.1:8000/admin/orders/customerquestion/{question.pk}/change/">Answer in the admin'
        in html
    )


def test_the_customer_gets_an_acknowledgement(
    client, alice, order, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    line = order.lines.get()
    # No purchase order: today + the 14 days' lead time, and + the default p90 lateness (docs/dates.md)
    assert (line.expected_earliest_date, line.expected_date) == astuple(from_lead_time(14))
    expected = date_range_in_words(line.expected_earliest_date, line.expected_date)

    ask(
        client, order, django_capture_on_commit_callbacks, subject="other", message="Can I <b>collect</b> it?"
    )

    email = next(m for m in mailoutbox if m.to == ["alice@example.com"])
    assert email.message()["Reply-To"] == "support@example.com"
    assert email.subject == f"We have your question about order {order.number}"
    order_link = f"http://127.0.0.1:8000/orders/{order.number}/?token={make_order_token(order.number)}"
    assert email.body == (
        "Hello Ada Lovelace,\n"
        "\n"
        f"Thank you for your question about your order {order.number}. It has reached our customer service "
        "team, and we will answer by email to alice@example.com. We answer Monday to Friday, 9:00 to 17:00 "
        "UK time.\n"
        "\n"
        "You asked: Something else\n"
        "> Can I <b>collect</b> it?\n"
        "\n"
        "Still waiting for stock:\n"
        f"- 2 × Alpine Tent (3 person), expected to ship {expected}\n"
        "\n"
        "Your order page always shows the latest dates:\n"
        f"{order_link}\n"
        "\n"
        "Something to add? Reply to this email.\n"
        "\n" + FOOTER + "You are receiving this email at alice@example.com.\n\n"
    )
    html = email.alternatives[0][0]
    assert "<blockquote>Can I &lt;b&gt;collect&lt;/b&gt; it?</blockquote>" in html
    assert 'href="mailto:support@example.com"' in html  # the footer's contact details
    assert "+44 20 7946 0321<br>Monday to Friday, 9:00 to 17:00 UK time<br>" in html
    assert "Backorder Shop Ltd, 12 Analytical Row, London N1 9GU, United Kingdom" in html


def test_the_answer_reaches_the_customer(order, admin_user, mailoutbox, django_capture_on_commit_callbacks):
    admin_user.first_name = "Grace"
    admin_user.save()
    with django_capture_on_commit_callbacks(execute=True):
        question, _ = customer_question_ask(order_id=order.pk, subject="when_ship", message="When?\nSoon?")
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        customer_question_answer(
            question_id=question.pk, answer="Hello Ada,\r\n\r\nit ships on Monday.", user_id=admin_user.pk
        )

    [email] = mailoutbox
    assert email.to == ["alice@example.com"]
    assert email.message()["Reply-To"] == "support@example.com"
    assert email.subject == f"Your question about order {order.number}: our answer"
    assert email.body == (
        "Hello Ada,\n"
        "\n"
        "it ships on Monday.\n"
        "\n"
        "Grace, Backorder Shop customer service\n"
        "\n"
        f"You asked on {dateformat.format(timezone.localtime(question.created_at), 'j F Y')} "
        "(When will it ship?):\n"
        "> When?\n"
        "> Soon?\n"
        "\n"
        f"Your order {order.number}:\n"
        f"http://127.0.0.1:8000/orders/{order.number}/?token={make_order_token(order.number)}\n"
        "\n"
        "Another question? Reply to this email.\n"
        "\n" + FOOTER + "You are receiving this email at alice@example.com.\n\n"
    )
    question.refresh_from_db()
    assert (question.answer, question.answered_by) == ("Hello Ada,\n\nit ships on Monday.", admin_user)
    assert question.answered_at is not None


def test_every_email_footer_has_the_contact_details(
    order, settings, mailoutbox, django_capture_on_commit_callbacks, tent
):
    """An order confirmation, as one more kind: the footer comes from the base templates."""
    settings.SHOP_CONTACT_PHONE = ""
    settings.SHOP_ADDRESS = "Unit 4, Dock Road, Leith"
    with django_capture_on_commit_callbacks(execute=True):
        place([(tent, 1)], email="carol@example.com")

    [email] = mailoutbox
    assert email.body.endswith(
        "--\n"
        "Backorder Shop · http://127.0.0.1:8000/\n"
        "Customer service: support@example.com (Monday to Friday, 9:00 to 17:00 UK time)\n"
        "Unit 4, Dock Road, Leith\n"
        "You are receiving this email at carol@example.com.\n\n"
    )
    html = email.alternatives[0][0]
    assert (
        '<a href="mailto:support@example.com">support@example.com</a>'
        "<br>Monday to Friday, 9:00 to 17:00 UK time<br>Unit 4, Dock Road, Leith</p>" in html
    )


def test_question_emails_have_previews(admin_client, order, admin_user, django_capture_on_commit_callbacks):
    previews = {
        kind: reverse("admin:notifications_notification_preview", args=[kind])
        for kind in ("question_to_staff", "question_received", "question_answered")
    }
    assert all("No sample data yet" in admin_client.get(url).content.decode() for url in previews.values())
    with django_capture_on_commit_callbacks(execute=True):
        question, _ = customer_question_ask(order_id=order.pk, subject="other", message="Gift wrap?")
    assert "No sample data yet" in admin_client.get(previews["question_answered"]).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        customer_question_answer(question_id=question.pk, answer="Yes, gladly.", user_id=admin_user.pk)
    Notification.objects.all().delete()  # samples come from the rows too

    for kind, subject in [
        ("question_to_staff", f"Question about order {order.number}: Something else"),
        ("question_received", f"We have your question about order {order.number}"),
        ("question_answered", f"Your question about order {order.number}: our answer"),
    ]:
        content = admin_client.get(previews[kind]).content.decode()
        assert subject in content, kind
