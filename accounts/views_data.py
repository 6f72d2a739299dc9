"""A signed-in customer's own data: "Download my data" (a JSON file) and deleting the account."""

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.decorators import ratelimit

from .forms_addresses import AccountDeleteForm
from .selectors.export import account_export
from .services.deletion import AccountDeletionRefused, account_delete

# Wrong passwords on the deletion page, per account: enough for typos, not for guessing.
DELETE_ATTEMPTS_RATE = "5/15m"


@login_required
@require_GET
def data_export(request: HttpRequest) -> HttpResponse:
    """Everything the shop keeps about the signed-in customer, as a JSON file to save."""
    data = account_export(user=request.user)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    filename = f"my-data-{timezone.localdate().isoformat()}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _is_staff(user) -> bool:
    return bool(user.is_staff or user.is_superuser)


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit(key="user", rate=DELETE_ATTEMPTS_RATE, method="POST", block=False)
def account_delete_page(request: HttpRequest) -> HttpResponse:
    """What deleting the account removes and what it keeps; the password confirms it."""
    staff = _is_staff(request.user)
    form = AccountDeleteForm(request.POST or None)
    if request.method == "POST" and not staff:
        if getattr(request, "limited", False):
            response = render(
                request,
                "registration/rate_limited.html",
                {"what": _("delete an account"), "minutes": 15},
                status=429,
            )
            response["Retry-After"] = str(15 * 60)
            return response
        if form.is_valid():
            try:
                deleted = account_delete(
                    user_id=request.user.pk,
                    password=form.cleaned_data["password"],
                    language=getattr(request, "LANGUAGE_CODE", ""),
                )
            except AccountDeletionRefused as exc:
                form.add_error("password" if exc.code == "password" else None, str(exc))
            else:
                logout(request)
                messages.success(
                    request,
                    _("Your account has been deleted. We sent a confirmation to %(email)s.")
                    % {"email": deleted.email},
                )
                return redirect("shop:home")
    status = 403 if staff and request.method == "POST" else 200
    return render(request, "accounts/account_delete.html", {"form": form, "staff": staff}, status=status)
