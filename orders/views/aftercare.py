"""After fulfilment: the feedback question, and the customer's email preferences (page and opt-out link)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ..feedback import (
    FeedbackAlreadyGiven,
    FeedbackError,
    email_opted_out,
    email_preference_set,
    feedback_record,
)
from ..forms import EmailPreferencesForm, FeedbackForm
from ..selectors import feedback_get
from ..tokens import EMAIL_PREFERENCES_MAX_AGE, EMAIL_PREFERENCES_SALT, FEEDBACK_SALT, read_link_token
from .base import DAY, link_invalid


@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, token: str) -> HttpResponse:
    """The one-question feedback form of the feedback email; an answer is taken once."""
    feedback_id = read_link_token(FEEDBACK_SALT, token, max_age=DAY * settings.FEEDBACK_LINK_MAX_AGE_DAYS)
    request_row = feedback_get(feedback_id=feedback_id) if isinstance(feedback_id, int) else None
    if request_row is None:
        return link_invalid(request)
    context = {"feedback": request_row, "order": request_row.order}
    if request_row.answered_at is not None:
        return render(request, "orders/feedback_done.html", {**context, "already": True}, status=410)
    form = FeedbackForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            feedback_record(
                feedback_id=request_row.pk,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except FeedbackAlreadyGiven:
            return render(request, "orders/feedback_done.html", {**context, "already": True}, status=410)
        except FeedbackError as exc:
            form.add_error("rating", str(exc))
        else:
            return render(request, "orders/feedback_done.html", context)
    return render(
        request, "orders/feedback.html", {**context, "form": form}, status=400 if form.is_bound else 200
    )


@login_required
@require_http_methods(["GET", "POST"])
def email_preferences(request: HttpRequest) -> HttpResponse:
    """A signed-in customer turns non-essential email on or off; order emails always come."""
    email = request.user.email
    if request.method == "POST" and email:
        form = EmailPreferencesForm(request.POST)
        if form.is_valid():
            wanted = form.cleaned_data["non_essential"]
            email_preference_set(email=email, marketing_opt_out=not wanted)
            messages.success(
                request,
                _("We will send you non-essential emails again.")
                if wanted
                else _("Done: we will only email you about your orders."),
            )
            return redirect("orders:email_preferences")
    form = EmailPreferencesForm(
        initial={"non_essential": not email_opted_out(email=email)} if email else None
    )
    return render(request, "orders/email_preferences.html", {"form": form, "email": email})


@require_http_methods(["GET", "POST"])
def email_preferences_link(request: HttpRequest, token: str) -> HttpResponse:
    """The opt-out link in non-essential emails: GET asks, the button opts the address out."""
    email = read_link_token(EMAIL_PREFERENCES_SALT, token, max_age=EMAIL_PREFERENCES_MAX_AGE)
    if not isinstance(email, str) or not email:
        return link_invalid(request)
    if request.method == "POST":
        email_preference_set(email=email, marketing_opt_out=True)
        return render(request, "orders/email_preferences_link.html", {"email": email, "done": True})
    return render(request, "orders/email_preferences_link.html", {"email": email})
