"""A signed-in customer's saved addresses: list, add, change, delete, make default.

Every page reads and changes only the customer's own addresses: another customer's address is a
404 (`address_get_for_user`, and the services refuse it too).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from .forms_addresses import AddressForm, country_choices
from .selectors.addresses import address_get_for_user, address_list
from .services.addresses import (
    ADDRESS_LIMIT,
    AddressError,
    AddressNotFound,
    address_create,
    address_delete,
    address_set_default,
    address_update,
)


def with_country_names(addresses: list) -> list:
    """Each address with `country_name`, the name the checkout shows for its code."""
    names = dict(country_choices())
    for address in addresses:
        address.country_name = names.get(address.country, address.country)
    return addresses


@login_required
def addresses(request: HttpRequest) -> HttpResponse:
    saved = with_country_names(address_list(user_id=request.user.pk))
    return render(
        request,
        "accounts/addresses.html",
        {"addresses": saved, "address_limit": ADDRESS_LIMIT, "can_add": len(saved) < ADDRESS_LIMIT},
    )


@login_required
@require_http_methods(["GET", "POST"])
def address_add(request: HttpRequest) -> HttpResponse:
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            address_create(
                user_id=request.user.pk,
                data=form.address_data(),
                make_default=form.cleaned_data["is_default"],
            )
        except AddressError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Address saved."))
            return redirect("accounts:addresses")
    return render(request, "accounts/address_form.html", {"form": form, "adding": True})


@login_required
@require_http_methods(["GET", "POST"])
def address_edit(request: HttpRequest, pk: int) -> HttpResponse:
    address = address_get_for_user(user_id=request.user.pk, address_id=pk)
    form = AddressForm(request.POST or None, instance=address)
    if request.method == "POST" and form.is_valid():
        try:
            address_update(
                user_id=request.user.pk,
                address_id=pk,
                data=form.address_data(),
                make_default=form.cleaned_data["is_default"],
            )
        except AddressNotFound:
            raise Http404("No such address.") from None
        messages.success(request, _("Address saved."))
        return redirect("accounts:addresses")
    return render(request, "accounts/address_form.html", {"form": form, "address": address, "adding": False})


@login_required
@require_http_methods(["GET", "POST"])
def address_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """A page that asks first; the POST deletes."""
    address = address_get_for_user(user_id=request.user.pk, address_id=pk)
    if request.method == "POST":
        try:
            successor = address_delete(user_id=request.user.pk, address_id=pk)
        except AddressNotFound:
            raise Http404("No such address.") from None
        if successor is not None:
            messages.success(
                request,
                _("Address deleted. Your default address is now %(address)s.")
                % {"address": f"{successor.full_name}, {successor.city}"},
            )
        else:
            messages.success(request, _("Address deleted."))
        return redirect("accounts:addresses")
    with_country_names([address])
    return render(request, "accounts/address_confirm_delete.html", {"address": address})


@login_required
@require_POST
def address_make_default(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        address = address_set_default(user_id=request.user.pk, address_id=pk)
    except AddressNotFound:
        raise Http404("No such address.") from None
    messages.success(
        request,
        _("%(address)s is now your default address.") % {"address": f"{address.full_name}, {address.city}"},
    )
    return redirect("accounts:addresses")
