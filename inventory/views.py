"""The supplier's page behind the link in a purchase order's email (docs/inventory.md, "The supplier
loop"): no login; whoever holds the signed link (inventory.tokens) sees that one order and answers it.

GET only shows (mail scanners open links). Each form POSTs one answer, applied once
(shop.submissions); POSTs are throttled per client IP and per purchase order (django-ratelimit).
A refused answer is said on the page, never a 500.
"""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import get_usage

from shop.formatting import date_in_words
from shop.submissions import AlreadySubmitted

from .forms import SupplierAnswerForm
from .selectors.calendar import shipping_calendar
from .selectors.supplier_loop import purchase_order_for_supplier
from .services import PurchaseOrderError, purchase_order_supplier_confirm, purchase_order_supplier_propose
from .tokens import SUPPLIER_PO_MAX_AGE_DAYS, read_supplier_po_token

# Answers per client IP, and per purchase order whoever sends them. settings.SUPPLIER_PAGE_RATE_PER_IP
# and _PER_ORDER override these.
RATES = {"ip": ("SUPPLIER_PAGE_RATE_PER_IP", "30/h"), "po": ("SUPPLIER_PAGE_RATE_PER_ORDER", "20/h")}


def _throttled(request: HttpRequest, po_id: int) -> bool:
    """Count this POST per IP and per order; True when either is over its rate."""
    over = False
    for per, key in (("ip", "ip"), ("po", lambda group, request: str(po_id))):
        name, default = RATES[per]
        usage = get_usage(
            request,
            group=f"inventory.supplier_po.{per}",
            key=key,
            rate=lambda group, request, name=name, default=default: getattr(settings, name, default),
            method="POST",
            increment=True,
        )
        over = over or bool(usage and usage["should_limit"])
    return over


def _apply(form: SupplierAnswerForm, po_id: int) -> str:
    """Call the service the form asks for; what to tell the supplier."""
    data = form.cleaned_data
    if data["answer"] == "confirm":
        confirmed = purchase_order_supplier_confirm(
            purchase_order_id=po_id, submission_key=data["submission_key"]
        )
        return "Thank you: the date is confirmed." if confirmed else "This date was already confirmed."
    purchase_order_supplier_propose(
        purchase_order_id=po_id,
        expected_date=data["expected_date"],
        reason=data["reason"],
        submission_key=data["submission_key"],
        is_receiving_day=shipping_calendar().is_shipping_day,  # the shop's working days and closures
    )
    return (
        f"Thank you: we now expect the delivery on {date_in_words(data['expected_date'], weekday=True)}. "
        "We will tell the customers waiting for these items."
    )


@require_http_methods(["GET", "POST"])
def supplier_po(request: HttpRequest, token: str) -> HttpResponse:
    """The purchase order, the date we expect, and the two answers."""
    po_id = read_supplier_po_token(token)
    po = purchase_order_for_supplier(purchase_order_id=po_id) if po_id is not None else None
    if po is None:
        context = {"days": SUPPLIER_PO_MAX_AGE_DAYS}
        return render(request, "inventory/supplier_po_invalid.html", context, status=400)
    status, form = 200, None
    if request.method == "POST" and po.is_open:
        if _throttled(request, po.pk):
            messages.error(request, "Too many answers from here in a short time: please try again later.")
            status = 429
        else:
            form = SupplierAnswerForm(request.POST)
            status = 400  # unless applied
            if form.is_valid():
                try:
                    messages.success(request, _apply(form, po.pk))
                except AlreadySubmitted:
                    messages.info(request, "We already have this answer; nothing was changed.")
                except PurchaseOrderError as exc:
                    form.add_error(None, str(exc))
                if not form.errors:
                    return HttpResponseRedirect(request.path)  # a reload sends nothing again
    proposing = form is not None and form.data.get("answer") == "propose"
    context = {
        "po": po,
        "lines": list(po.lines.all()),
        "expected_in_words": date_in_words(po.expected_date, weekday=True) if po.expected_date else "",
        "confirmed": po.confirmed_date is not None and po.confirmed_date == po.expected_date,
        "confirm_form": SupplierAnswerForm(initial={"answer": "confirm"})
        if proposing or form is None
        else form,
        "propose_form": form if proposing else SupplierAnswerForm(initial={"answer": "propose"}),
    }
    return render(request, "inventory/supplier_po.html", context, status=status)
