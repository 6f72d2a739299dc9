"""Account pages of the accounts app: confirming the email address (the link from the email, and
"Send the link again" on the account page)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import get_usage

from .models import User
from .services.verification import account_email_confirm, account_verify_email_send
from .tokens import verify_token_read


def _link_invalid(request: HttpRequest) -> HttpResponse:
    """A link tampered with, expired, or for an address the account no longer has: 400, nothing changes."""
    return render(request, "registration/verify_email_invalid.html", status=400)


@require_http_methods(["GET", "POST"])
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a button (mail scanners open links; docs/security.md). POST: confirm the address and attach
    the guest orders placed with it; the page says how many."""
    claim = verify_token_read(token=token)
    if claim is None:
        return _link_invalid(request)
    if request.method == "GET":
        user = User.objects.filter(pk=claim.user_id, is_active=True).only("email").first()
        if user is None or user.email.strip().lower() != claim.email:
            return _link_invalid(request)
        return render(request, "registration/verify_email.html", {"email": user.email, "token": token})
    confirmed = account_email_confirm(token=token)
    if confirmed is None:
        return _link_invalid(request)
    return render(
        request,
        "registration/verify_email_done.html",
        {
            "email": confirmed.user.email,
            "newly_confirmed": confirmed.newly_confirmed,
            "orders_added": confirmed.orders_added,
            "signed_in_as_other": request.user.is_authenticated and request.user.pk != confirmed.user.pk,
        },
    )


@login_required
@require_POST
def verify_email_resend(request: HttpRequest) -> HttpResponse:
    """ "Send the link again", ACCOUNT_VERIFY_RESEND_RATE per account."""
    user = request.user
    if user.email_verified_at is not None:
        messages.info(request, _("Your email address is already confirmed."))
        return redirect("account")
    usage = get_usage(
        request,
        group="accounts.verify_email.resend",
        key=lambda group, request: str(request.user.pk),
        rate=lambda group, request: settings.ACCOUNT_VERIFY_RESEND_RATE,
        method="POST",
        increment=True,
    )
    if usage and usage["should_limit"]:
        minutes = -(-max(usage["time_left"], 1) // 60)
        messages.warning(
            request,
            _("We have sent you several links already. Please wait %(minutes)d minutes before asking again.")
            % {"minutes": minutes},
        )
        return redirect("account")
    account_verify_email_send(user=user)
    messages.success(request, _("We have sent a new link to %(email)s.") % {"email": user.email})
    return redirect("account")
