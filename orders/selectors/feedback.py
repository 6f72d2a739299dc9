"""The feedback request behind a feedback link."""

from ..models import OrderFeedback


def feedback_get(*, feedback_id: int) -> OrderFeedback | None:
    return OrderFeedback.objects.select_related("order").filter(pk=feedback_id).first()
