"""Order pages: an order (for its owner or a signed link), cancelling its waiting units, the history."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from invoices.views import order_documents_for_page

from ..forms import CancelBackorderedForm, CustomerQuestionForm, form_error_text
from ..models import Order
from ..selectors import (
    order_get_for_customer,
    order_list_for_user,
    order_questions_for_customer,
    order_queue_places,
    order_timeline_for_customer,
)
from ..selectors.need_by import need_by_late_lines
from ..selectors.vat import order_vat
from ..services import OrderActionError
from ..services.cancellation import order_cancel_by_customer
from ..wording import money_released_text
from .base import request_user_id, thank_you_done, thank_you_pending

ORDERS_PER_PAGE = 20


def order_url(number: str, token: str) -> str:
    """The order page's address, with the signed link's token when the visitor came with one."""
    url = reverse("orders:detail", kwargs={"number": number})
    return f"{url}?{urlencode({'token': token})}" if token else url


def order_page_context(
    order: Order, *, token: str, thank_you: bool = False, question_form: CustomerQuestionForm | None = None
) -> dict:
    """What orders/detail.html shows of an order the visitor may see: its lines, the cancel form for
    waiting units with their places in the queues, the need-by date, and "Ask about this order" (the questions asked so far, one query, and the form,
    `question_form` when it is shown again with its errors) when questions can reach customer service."""
    waiting = [line for line in order.lines.all() if line.quantity_backordered]
    # Each waiting line's place in its queue, in words, on the line the table shows (the
    # prefetched lines are the same objects every time `order.lines.all()` is read).
    places = order_queue_places(order=order)
    for line in waiting:
        place = places.get(line.pk)
        line.queue_place_text = place.text() if place else ""
    cancel_form = None
    if waiting:
        cancel_form = CancelBackorderedForm(lines=waiting, initial={"token": token})
    asking = bool(settings.SHOP_CONTACT_EMAIL.strip())
    return {
        "order": order,
        "token": token,
        "thank_you": thank_you,
        "waiting_lines": waiting,
        "need_by_late": need_by_late_lines(waiting, need_by=order.need_by),
        "cancel_form": cancel_form,
        "timeline": order_timeline_for_customer(order=order),
        "questions": order_questions_for_customer(order_id=order.pk) if asking else [],
        "question_form": (question_form or CustomerQuestionForm()) if asking else None,
        # Its invoices and credit notes, with their links (one query, invoices.views).
        "documents": order_documents_for_page(order_id=order.pk, token=token),
        # The VAT in its total, per rate (from the lines: no query; docs/tax.md).
        "vat": order_vat(order=order, lines=list(order.lines.all())),
    }


@require_GET
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    token = request.GET.get("token") or ""
    order = order_get_for_customer(number=number, user=request.user, token=token)
    thank_you = thank_you_pending(request, number=order.number)
    response = render(
        request, "orders/detail.html", order_page_context(order, token=token, thank_you=thank_you)
    )
    return thank_you_done(response) if thank_you else response


@require_POST
def order_cancel(request: HttpRequest, number: str) -> HttpResponseRedirect:
    """Cancel waiting units at the customer's request; ownership or the token is checked again."""
    token = request.POST.get("token") or ""
    order = order_get_for_customer(number=number, user=request.user, token=token)
    back = order_url(order.number, token)
    form = CancelBackorderedForm(request.POST, lines=list(order.lines.all()))
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return redirect(back)
    quantities = form.quantities()
    if not quantities:
        messages.error(request, _("Enter how many of the waiting units you want to cancel."))
        return redirect(back)
    try:
        outcome = order_cancel_by_customer(
            order_id=order.pk, quantities=quantities, user_id=request_user_id(request)
        )
    except OrderActionError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    units = sum(outcome.quantities.values())
    messages.success(
        request,
        ngettext(
            "Cancelled %(count)s waiting unit. %(money)s We have emailed you a confirmation.",
            "Cancelled %(count)s waiting units. %(money)s We have emailed you a confirmation.",
            units,
        )
        % {"count": units, "money": money_released_text(outcome.released)},
    )
    return redirect(back)


@login_required
@require_GET
def order_history(request: HttpRequest) -> HttpResponse:
    page = Paginator(order_list_for_user(user=request.user), ORDERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "orders/history.html", {"page_obj": page, "orders": page.object_list})
