"""Customer questions as the order page and customer service see them."""

from ..models import CustomerQuestion, OrderLine


def order_questions_for_customer(*, order_id: int) -> list[CustomerQuestion]:
    """The questions asked about an order, oldest first (one query). The caller has checked access."""
    return list(CustomerQuestion.objects.filter(order_id=order_id).order_by("created_at", "pk"))


def customer_question_for_staff(*, question_id: int) -> CustomerQuestion | None:
    """A question with its order, whoever answered it, the order's waiting lines and the other
    questions about the same order (`waiting_lines`, `other_questions` on the question; 3 queries)."""
    question = CustomerQuestion.objects.select_related("order", "answered_by").filter(pk=question_id).first()
    if question is None:
        return None
    question.waiting_lines = list(
        OrderLine.objects.waiting().filter(order_id=question.order_id).order_by("pk")
    )
    question.other_questions = list(
        CustomerQuestion.objects.filter(order_id=question.order_id)
        .exclude(pk=question.pk)
        .select_related("answered_by")
        .order_by("created_at", "pk")
    )
    return question
