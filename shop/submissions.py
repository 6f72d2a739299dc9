"""One-time submission keys: a staff form that changes stock or money is applied once.

Each rendering of such a form carries a fresh key in a hidden field. The
service that applies the form claims the key first thing in its own
transaction (`submission_claim`): a `SubmissionKey` row with a unique key. A
second submission of the same page (a double click, a resent request) fails on
the unique index and raises AlreadySubmitted, so nothing is applied twice. On
PostgreSQL a second submission that arrives while the first is still running
waits on the index until the first commits, then fails; if the first rolled
back (a refused change), its claim is gone too and the second one proceeds, so
staff can correct a refused form and send it again. docs/concurrency.md.
"""

import re
import uuid
from datetime import datetime

from django import forms
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateformat import format as format_date

from .models import SubmissionKey

OUT_OF_DATE = "This form is out of date; reload the page and try again."
_KEY_FORMAT = re.compile(r"[0-9a-f]{32}")  # what submission_key_new makes


class AlreadySubmitted(Exception):
    """The form with this key was applied before; this submission changed nothing."""

    def __init__(self, *, created_at: datetime | None):
        self.created_at = created_at
        if created_at is None:
            message = "This form was already sent; it was not applied a second time."
        else:
            when = format_date(timezone.localtime(created_at), r"H:i \o\n j F Y")
            message = f"This form was already sent at {when}; it was not applied a second time."
        super().__init__(message)


def submission_key_new() -> str:
    """A fresh key for one rendering of a staff form."""
    return uuid.uuid4().hex


def submission_claim(*, key: str, action: str, user_id: int | None) -> None:
    """Claim `key` for this submission, or raise AlreadySubmitted if it was claimed before.

    Call it inside the transaction that applies the form, before any lock or
    write, so that the claim commits or rolls back with the change it guards.
    """
    assert transaction.get_connection().in_atomic_block, "submission_claim needs the caller's transaction"
    try:
        with transaction.atomic():  # a savepoint: the failed insert leaves the caller's transaction usable
            SubmissionKey.objects.create(key=key, action=action, user_id=user_id)
    except IntegrityError:
        first = SubmissionKey.objects.filter(key=key).values_list("created_at", flat=True).first()
        raise AlreadySubmitted(created_at=first) from None


class SubmissionKeyField(forms.CharField):
    """The hidden one-time key of a staff form: fresh on each rendering, kept when the form is re-shown."""

    widget = forms.HiddenInput
    default_error_messages = {"required": OUT_OF_DATE, "invalid": OUT_OF_DATE}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("initial", submission_key_new)  # a callable: evaluated for each rendering
        kwargs.setdefault("label", "")
        super().__init__(**kwargs)

    def validate(self, value) -> None:
        super().validate(value)
        if value not in self.empty_values and not _KEY_FORMAT.fullmatch(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class SubmissionKeyForm(forms.Form):
    """Just the key, for pages whose other inputs are not a Django form (the order list's actions)."""

    submission_key = SubmissionKeyField()
