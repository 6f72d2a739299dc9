"""Customer questions ("Ask about this order"): a customer asks from the order's page, customer service
answers by email from the admin. Each step is a `CustomerQuestion` write and outbox rows in one
transaction.

Who may ask is the caller's check (the order page's: its owner, or its signed link); the answer always
goes to the order's address, so the form cannot make the shop email anyone else.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from notifications.models import NotificationKind
from notifications.services.outbox import notification_create
from shop.formatting import datetime_in_words
from shop.submissions import submission_claim

from ..models import CustomerQuestion, Order, QuestionSubject
from .errors import OrderActionError

# The same question about the same order again within this time is the first one sent twice (a
# double click, a page sent again): nothing new is recorded or emailed.
REPEAT_WINDOW = timedelta(minutes=10)

MESSAGE_MAX_LENGTH = CustomerQuestion._meta.get_field("message").max_length
ANSWER_MAX_LENGTH = CustomerQuestion._meta.get_field("answer").max_length


def _text(value: str, *, what: str, limit: int) -> str:
    """`value` trimmed, one newline style; refused when empty or over `limit` characters."""
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise OrderActionError(_("Write %(what)s.") % {"what": what})
    if len(text) > limit:
        raise OrderActionError(
            _("%(What)s can be at most %(limit)s characters long.") % {"What": capfirst(what), "limit": limit}
        )
    return text


@transaction.atomic
def customer_question_ask(*, order_id: int, subject: str, message: str) -> tuple[CustomerQuestion, bool]:
    """Record a question about an order and email it: to customer service (`SHOP_CONTACT_EMAIL`, with
    the customer's address as Reply-To) and an acknowledgement to the order's address.

    Returns (question, created): the same subject and message about the same order again within
    REPEAT_WINDOW gives back the first question, and sends nothing. The caller has checked that the
    visitor may see the order.
    """
    if not settings.SHOP_CONTACT_EMAIL.strip():
        raise OrderActionError(_("Questions cannot be sent here at the moment; please email or call us."))
    if subject not in QuestionSubject.values:
        raise OrderActionError(_("Choose what your question is about."))
    message = _text(message, what=pgettext("write …", "your question"), limit=MESSAGE_MAX_LENGTH)
    order = Order.objects.filter(pk=order_id).only("pk", "email", "language").first()
    if order is None:
        raise OrderActionError(_("This order no longer exists."))
    earlier = (
        CustomerQuestion.objects.filter(
            order_id=order.pk,
            subject=subject,
            message=message,
            created_at__gte=timezone.now() - REPEAT_WINDOW,
        )
        .order_by("pk")
        .first()
    )
    if earlier is not None:
        return earlier, False
    question = CustomerQuestion.objects.create(
        order=order, email=order.email, subject=subject, message=message
    )
    context = {"question_id": question.pk}
    notification_create(
        kind=NotificationKind.QUESTION_TO_STAFF,
        recipient=settings.SHOP_CONTACT_EMAIL.strip(),
        dedupe_key=f"question:{question.pk}:staff",
        context=context,
    )
    notification_create(
        kind=NotificationKind.QUESTION_RECEIVED,
        recipient=question.email,
        dedupe_key=f"question:{question.pk}:received",
        context=context,
        language=order.language,
    )
    return question, True


@transaction.atomic
def customer_question_answer(
    *, question_id: int, answer: str, user_id: int | None, submission_key: str | None = None
) -> CustomerQuestion:
    """Record customer service's answer and email it to the question's address (once).

    With `submission_key` (the answer form's one-time key) the same form sent twice raises
    AlreadySubmitted and sends nothing more. A question is answered once: answering it again (another
    member of staff, another form) is refused with who answered and when; the conversation goes on
    by email.
    """
    if submission_key is not None:
        submission_claim(key=submission_key, action="customer_question_answer", user_id=user_id)
    answer = _text(answer, what="an answer", limit=ANSWER_MAX_LENGTH)
    # A conditional update, not a lock: of two answers sent at once, one updates the row, the other
    # finds it answered (PostgreSQL re-checks the condition after the first commits).
    answered = CustomerQuestion.objects.filter(pk=question_id, answered_at__isnull=True).update(
        answer=answer, answered_at=timezone.now(), answered_by_id=user_id
    )
    question = CustomerQuestion.objects.select_related("answered_by", "order").filter(pk=question_id).first()
    if question is None:
        raise OrderActionError(_("This question no longer exists."))
    if not answered:
        by = question.answered_by.get_username() if question.answered_by else "someone"
        raise OrderActionError(
            f"This question was already answered by {by} on {datetime_in_words(question.answered_at)}; "
            "nothing was sent."
        )
    notification_create(
        kind=NotificationKind.QUESTION_ANSWERED,
        recipient=question.email,
        dedupe_key=f"question:{question.pk}:answered",
        context={"question_id": question.pk},
        language=question.order.language if question.order_id else "",
    )
    return question
