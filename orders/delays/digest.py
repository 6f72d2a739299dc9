"""Escalation: staff hear once a day about lines waiting far past their first promised date."""

from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.models import NotificationKind
from notifications.services.outbox import notification_create_many

from ..selectors import escalated_lines

DIGEST_MAX_LINES = 500  # lines listed in one staff digest; the total is always given


def delay_digest_send(*, today: date | None = None) -> list[int]:
    """Email each address in STAFF_ALERT_EMAILS the lines waiting too long past their first promised date.

    Once a day per address (dedupe key); nothing when no line is escalated.
    The email lists up to DIGEST_MAX_LINES lines, oldest promise first, and
    always the total. Returns the notifications created.
    """
    today = today or timezone.localdate()
    recipients = getattr(settings, "STAFF_ALERT_EMAILS", [])
    lines = escalated_lines(today=today)
    line_ids = list(lines.values_list("pk", flat=True)[:DIGEST_MAX_LINES])
    if not line_ids or not recipients:
        return []
    total = len(line_ids) if len(line_ids) < DIGEST_MAX_LINES else lines.count()
    context = {"date": today.isoformat(), "line_ids": line_ids, "total": total}
    with transaction.atomic():
        return notification_create_many(
            rows=[
                {
                    "kind": NotificationKind.STAFF_DELAY_DIGEST,
                    "recipient": recipient,
                    "dedupe_key": f"delay-digest:{today.isoformat()}:{recipient.lower()}",
                    "context": context,
                }
                for recipient in recipients
            ]
        )
