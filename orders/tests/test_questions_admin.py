"""Customer service answers customers' questions in the admin (orders.admin.questions): the list,
unanswered first; a question's page; the answer, emailed once however often the page is sent."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from config.tests.authz import make_user
from notifications.models import Notification, NotificationKind
from orders.models import CustomerQuestion
from orders.services import customer_question_answer, customer_question_ask
from orders.tests.helpers import allow_backorders, give_stock, place
from shop.submissions import submission_key_new
from shop.tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

# Session, user, the count, the rows with their orders and whoever answered: the same for 1 question
# and for 20.
CHANGELIST_QUERIES = 4


@pytest.fixture(autouse=True)
def contact(settings):
    settings.SHOP_CONTACT_EMAIL = "support@example.com"
    settings.RATELIMIT_CACHE_PREFIX = f"rl:test-{uuid.uuid4().hex}:"


@pytest.fixture
def order():
    tent = VariantFactory(product=ProductFactory(name="Alpine Tent"), sku="TENT-3P", price=Decimal("150.00"))
    allow_backorders(tent, lead_time_days=14)
    give_stock(tent, 1)
    return place([(tent, 3)], email="alice@example.com").order


def ask(order, message="When will my tent ship?", subject="when_ship") -> CustomerQuestion:
    return customer_question_ask(order_id=order.pk, subject=subject, message=message)[0]


def page_url(question) -> str:
    return reverse("admin:orders_customerquestion_change", args=[question.pk])


def answered_emails() -> list[tuple[str, dict]]:
    return list(
        Notification.objects.filter(kind=NotificationKind.QUESTION_ANSWERED).values_list(
            "recipient", "context"
        )
    )


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.tags, m.message) for m in get_messages(response.wsgi_request)]


def test_the_list_shows_unanswered_questions_first_the_longest_waiting_on_top(
    admin_client, admin_user, order
):
    start = timezone.now()
    with time_machine.travel(start - timedelta(days=3)):
        oldest = ask(order, "Oldest")
    with time_machine.travel(start - timedelta(days=2)):
        answered_first = ask(order, "Answered first")
    with time_machine.travel(start - timedelta(days=1)):
        newer = ask(order, "Newer")
        customer_question_answer(question_id=answered_first.pk, answer="Yes.", user_id=admin_user.pk)
    answered_last = ask(order, "Answered last")
    customer_question_answer(question_id=answered_last.pk, answer="No.", user_id=admin_user.pk)

    response = admin_client.get(reverse("admin:orders_customerquestion_changelist"))

    assert response.status_code == 200
    assert [q.message for q in response.context["cl"].result_list] == [
        "Oldest",
        "Newer",
        "Answered last",
        "Answered first",
    ]
    content = response.content.decode()
    assert "Not yet (waiting 3 days)" in content
    assert f"by {admin_user.get_username()}" in content
    assert oldest.pk and newer.pk


def test_the_list_filters_unanswered(admin_client, admin_user, order):
    ask(order, "Open")
    done = ask(order, "Done")
    customer_question_answer(question_id=done.pk, answer="Yes.", user_id=admin_user.pk)

    response = admin_client.get(reverse("admin:orders_customerquestion_changelist") + "?answered=no")

    assert [q.message for q in response.context["cl"].result_list] == ["Open"]


def test_changelist_queries_do_not_grow_with_questions(
    admin_client, order, django_assert_num_queries, django_assert_max_num_queries
):
    url = reverse("admin:orders_customerquestion_changelist")
    ask(order, "Q0")
    with django_assert_num_queries(CHANGELIST_QUERIES):
        admin_client.get(url)
    for n in range(1, 20):
        ask(order, f"Q{n}")

    with django_assert_max_num_queries(CHANGELIST_QUERIES):
        response = admin_client.get(url)

    assert len(response.context["cl"].result_list) == 20


def test_a_questions_page_shows_it_with_its_order_and_the_answer_form(admin_client, order):
    question = ask(order, "Hello,\nwhen will it ship?")
    other = ask(order, "And can I pay by invoice?", subject="other")

    response = admin_client.get(page_url(question))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Hello,<br>when will it ship?" in content
    assert f'href="{reverse("admin:orders_order_change", args=[order.pk])}">{order.number}</a>' in content
    assert "<td>TENT-3P</td><td>Alpine Tent</td>" in content
    assert "<td>2</td>" in content  # units waiting
    assert f'href="{page_url(other)}"' in content  # the other question about the order
    assert response.context["form"]["answer"].value() == "Hello Ada Lovelace,\n\n"
    assert 'name="submission_key"' in content


def test_the_answer_is_sent_once_even_when_the_page_is_posted_twice(
    admin_client, admin_user, order, mailoutbox, django_capture_on_commit_callbacks
):
    question = ask(order)
    mailoutbox.clear()
    data = {"answer": "Hello Ada,\r\n\r\nit ships on Monday.", "submission_key": submission_key_new()}

    with django_capture_on_commit_callbacks(execute=True):
        first = admin_client.post(page_url(question), data)
        second = admin_client.post(page_url(question), data)

    assert first.status_code == 302
    assert first["Location"] == reverse("admin:orders_customerquestion_changelist")
    assert second.status_code == 302
    assert second["Location"] == page_url(question)
    assert messages_of(second)[-1][0] == "warning"
    assert messages_of(second)[-1][1].startswith("This form was already sent at ")
    assert answered_emails() == [("alice@example.com", {"question_id": question.pk})]
    assert [(m.to, m.subject) for m in mailoutbox] == [
        (["alice@example.com"], f"Your question about order {order.number}: our answer")
    ]
    question.refresh_from_db()
    assert (question.answer, question.answered_by) == ("Hello Ada,\n\nit ships on Monday.", admin_user)
    assert question.answered_at is not None


def test_a_second_answer_is_refused_and_says_who_answered(admin_client, admin_user, order):
    question = ask(order)
    customer_question_answer(question_id=question.pk, answer="First.", user_id=admin_user.pk)

    response = admin_client.post(
        page_url(question), {"answer": "Second.", "submission_key": submission_key_new()}
    )

    assert response.status_code == 400
    content = response.content.decode()
    assert "The answer was not sent." in content
    assert f"This question was already answered by {admin_user.get_username()} on " in content
    assert len(answered_emails()) == 1
    question.refresh_from_db()
    assert question.answer == "First."


def test_an_answered_question_shows_the_answer_and_no_form(admin_client, admin_user, order):
    question = ask(order)
    customer_question_answer(question_id=question.pk, answer="It ships on Monday.", user_id=admin_user.pk)

    response = admin_client.get(page_url(question))

    content = response.content.decode()
    assert response.context["form"] is None
    assert "It ships on Monday." in content
    assert f"by {admin_user.get_username()}" in content
    assert 'name="answer"' not in content


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("", "Write an answer."),
        ("  \r\n ", "Write an answer."),
        ("x" * 5001, "The answer can be at most 5000 characters long (it has 5001)."),
        ("Hi \x00 there", "The answer contains invisible control characters"),
        ("Hi \x1b[1m there", "The answer contains invisible control characters"),
    ],
)
def test_bad_answers_are_form_errors_and_nothing_is_sent(admin_client, order, answer, error):
    question = ask(order)

    response = admin_client.post(
        page_url(question), {"answer": answer, "submission_key": submission_key_new()}
    )

    assert response.status_code == 400
    assert error in response.content.decode()
    assert answered_emails() == []
    question.refresh_from_db()
    assert question.answered_at is None


def test_a_form_without_its_key_is_refused(admin_client, order):
    question = ask(order)

    response = admin_client.post(page_url(question), {"answer": "Hello"})

    assert response.status_code == 400
    assert "This form is out of date; reload the page and try again." in response.content.decode()
    assert answered_emails() == []


def test_customer_service_answers_and_the_warehouse_may_not(client, order):
    question = ask(order)
    warehouse = make_user("Warehouse", staff=True, group="Warehouse")
    service = make_user("Customer service", staff=True, group="Customer service")
    data = {"answer": "On Monday.", "submission_key": submission_key_new()}

    client.force_login(warehouse)
    assert client.get(page_url(question)).status_code == 403
    assert client.post(page_url(question), data).status_code == 403
    assert answered_emails() == []

    client.force_login(service)
    assert client.get(page_url(question)).status_code == 200
    assert client.post(page_url(question), data).status_code == 302
    question.refresh_from_db()
    assert question.answered_by == service


def test_an_unknown_question_goes_back_to_the_list(admin_client):
    for object_id in ("999999", "abc"):
        response = admin_client.get(reverse("admin:orders_customerquestion_change", args=[object_id]))
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:index")
