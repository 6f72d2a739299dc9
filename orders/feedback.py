"""After fulfilment: one feedback request per order that waited, and the customer's email preferences.

"Delivered" has no carrier tracking behind it yet: an order counts as
delivered FEEDBACK_DELAY_DAYS after its last shipment. A daily task asks each
such order that had backorders for a rating, once (a unique row per order and
a dedupe key), unless its address opted out of non-essential email. Order-status
emails (confirmation, shipped, delayed, cancelled) never look at the opt-out.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import EmailPreference, Notification, NotificationKind, NotificationStatus
from notifications.services.outbox import notification_create_many

from .models import Order, OrderEvent, OrderEventKind, OrderFeedback, OrderLine, OrderStatus, Shipment

# Emails an address may opt out of; everything about an order it placed always goes.
NON_ESSENTIAL_KINDS = (NotificationKind.BACK_IN_STOCK, NotificationKind.FEEDBACK_REQUEST)


class FeedbackError(Exception):
    """The feedback cannot be recorded; the message is for the customer."""


class FeedbackAlreadyGiven(FeedbackError):
    pass


def email_opted_out(*, email: str) -> bool:
    return EmailPreference.objects.filter(email=email.strip().lower(), marketing_opt_out=True).exists()


def feedback_candidates(*, now: datetime | None = None):
    """Orders to ask now: fully shipped, with units that waited on backorder and shipped, delivered
    (last shipment + FEEDBACK_DELAY_DAYS) within the last FEEDBACK_MAX_AGE_DAYS, never asked, not opted out."""
    now = now or timezone.now()
    delay = timedelta(days=getattr(settings, "FEEDBACK_DELAY_DAYS", 5))
    max_age = timedelta(days=getattr(settings, "FEEDBACK_MAX_AGE_DAYS", 30))
    last_shipped = (
        Shipment.objects.filter(order=OuterRef("pk")).order_by("-created_at").values("created_at")[:1]
    )
    waited_and_shipped = OrderLine.objects.filter(
        order=OuterRef("pk"),
        quantity_backordered_at_placement__gt=0,
        quantity_shipped__gt=F("quantity") - F("quantity_backordered_at_placement"),
    )
    opted_out = EmailPreference.objects.filter(email=Lower(OuterRef("email")), marketing_opt_out=True)
    return (
        Order.objects.filter(status=OrderStatus.SHIPPED)
        .filter(Exists(waited_and_shipped))
        .annotate(last_shipped_at=Subquery(last_shipped))
        .filter(last_shipped_at__lte=now - delay, last_shipped_at__gt=now - delay - max_age)
        .exclude(Exists(OrderFeedback.objects.filter(order=OuterRef("pk"))))
        .exclude(Exists(opted_out))
        .order_by("pk")
    )


def feedback_requests_send(*, limit: int = 1000) -> list[int]:
    """Ask every candidate order for feedback, once; returns the notifications created.

    A constant number of queries per run: the feedback rows (one per order,
    unique) and their emails (dedupe key per order) are created in bulk, so a
    second run, or two at once, asks nobody twice.
    """
    rows = list(feedback_candidates().values_list("pk", "email", "language")[:limit])
    if not rows:
        return []
    with transaction.atomic():
        OrderFeedback.objects.bulk_create(
            [OrderFeedback(order_id=pk) for pk, _, _ in rows], ignore_conflicts=True
        )
        feedback_ids = dict(
            OrderFeedback.objects.filter(order_id__in=[pk for pk, _, _ in rows]).values_list("order_id", "pk")
        )
        return notification_create_many(
            rows=[
                {
                    "kind": NotificationKind.FEEDBACK_REQUEST,
                    "recipient": email,
                    "dedupe_key": f"feedback-request:{order_id}",
                    "context": {"order_id": order_id, "feedback_id": feedback_ids[order_id]},
                    "language": language,
                }
                for order_id, email, language in rows
            ]
        )


@transaction.atomic
def feedback_record(*, feedback_id: int, rating: int, comment: str = "") -> OrderFeedback:
    """Store the customer's answer, once. Raises FeedbackAlreadyGiven on a second answer."""
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise FeedbackError(_("Choose a rating from 1 to 5."))
    answered = OrderFeedback.objects.filter(pk=feedback_id, answered_at__isnull=True).update(
        rating=rating, comment=comment.strip()[:2000], answered_at=timezone.now()
    )
    if not answered:
        raise FeedbackAlreadyGiven("Thank you, we already have your answer.")
    feedback = OrderFeedback.objects.get(pk=feedback_id)
    OrderEvent.objects.create(
        order_id=feedback.order_id,
        kind=OrderEventKind.NOTE,
        message=f"Customer feedback: {rating}/5" + (f" — {feedback.comment}" if feedback.comment else ""),
        data={"feedback": feedback.pk, "rating": rating},
        visible_to_customer=False,
    )
    return feedback


@transaction.atomic
def email_preference_set(*, email: str, marketing_opt_out: bool) -> EmailPreference:
    """Opt an address out of (or back into) non-essential email.

    Opting out also cancels non-essential emails still waiting in the outbox
    for it. Order-status emails are not affected either way.
    """
    email = email.strip().lower()
    preference, _created = EmailPreference.objects.update_or_create(
        email=email, defaults={"marketing_opt_out": marketing_opt_out}
    )
    if marketing_opt_out:
        Notification.objects.filter(
            recipient__iexact=email, kind__in=NON_ESSENTIAL_KINDS, status=NotificationStatus.PENDING
        ).update(status=NotificationStatus.CANCELLED)
    return preference
