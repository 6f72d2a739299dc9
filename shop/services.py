"""Writes for the catalog app: the workers' heartbeat, a password reset request."""

from django.db import transaction
from django.utils import timezone

from .events import password_reset_requested
from .models import WorkerHeartbeat


@transaction.atomic
def heartbeat_record(*, worker: str) -> WorkerHeartbeat:
    """Record that `worker` is alive now (one row per worker, updated in place)."""
    beat, _ = WorkerHeartbeat.objects.update_or_create(worker=worker, defaults={"seen_at": timezone.now()})
    return beat


def password_reset_request(*, email: str, language: str = "") -> None:
    """Ask for a password reset link for `email`; the worker looks the address up and sends it.

    The request does the same, constant work whether or not an account has the
    address (one message to the broker after commit), so neither the answer
    nor its timing tells who has an account. The link's token is never stored:
    the worker makes it from the account when it sends. A message lost on the
    way costs the customer one more click on "reset password"; nothing else
    depends on it, so there is no outbox row (which would keep a usable token
    in the database). The worker's task listens to `password_reset_requested` (shop.apps).
    `language`: the page's (request.LANGUAGE_CODE); the email is written in it.
    """
    password_reset_requested.send(email=email, language=language)


def user_language_set(*, user, language: str) -> None:
    """Remember a signed-in customer's language (User.language: their emails are written in it).

    A user model without the field (before accounts.User) keeps nothing.
    """
    model = user._meta.model  # the request's user is a lazy object
    if any(field.name == "language" for field in model._meta.concrete_fields):
        model.objects.filter(pk=user.pk).update(language=language)
