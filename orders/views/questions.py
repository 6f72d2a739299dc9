"""The order page's "Ask about this order" form: a question sent to customer service.

Who may ask is who may see the order (`order_get_for_customer`: its owner signed in, or anyone with
its signed link; everyone else gets 404). Throttled per client IP (every form sent) and per order
(every question sent), docs/security.md: over a limit nothing is recorded or emailed, and the page
(429) says so, with the question typed so far and the other ways to reach the shop.
"""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.core import get_usage

from ..forms import CustomerQuestionForm
from ..models import Order
from ..selectors import order_get_for_customer
from ..services import OrderActionError, customer_question_ask
from .order_pages import order_page_context, order_url


def _wait(request: HttpRequest, *, group: str, rate_setting: str, key: str | None = None) -> int:
    """Count this POST against `group` (per client IP, or per `key` when given); the seconds until the
    window resets when the rate in settings.`rate_setting` is exceeded, else 0."""
    usage = get_usage(
        request,
        group=group,
        key="ip" if key is None else (lambda group, request: key),
        rate=lambda group, request: getattr(settings, rate_setting),
        method="POST",
        increment=True,
    )
    return max(usage["time_left"], 1) if usage and usage["should_limit"] else 0


def wait_in_words(seconds: int) -> str:
    """'1 minute', '45 minutes', 'about 17 hours' (the per-order window is a day)."""
    minutes = -(-seconds // 60)
    if minutes <= 90:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"about {round(minutes / 60)} hours"


def _too_many(request: HttpRequest, order: Order, *, token: str, wait: int) -> HttpResponse:
    """The 429 page: nothing was recorded or sent; what was typed is shown so it is not lost."""
    response = render(
        request,
        "orders/question_limited.html",
        {
            "order": order,
            "order_url": order_url(order.number, token),
            "message": request.POST.get("message", "")[
                : CustomerQuestionForm.base_fields["message"].max_length
            ],
            "wait": wait_in_words(wait),
        },
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


@require_POST
def order_question(request: HttpRequest, number: str) -> HttpResponse:
    token = request.POST.get("token") or ""
    order = order_get_for_customer(number=number, user=request.user, token=token)
    if not settings.SHOP_CONTACT_EMAIL.strip():
        raise Http404("Questions are not taken here.")
    wait = _wait(request, group="orders.question.ip", rate_setting="ORDER_QUESTION_RATE_PER_IP")
    if wait:
        return _too_many(request, order, token=token, wait=wait)
    form = CustomerQuestionForm(request.POST)
    if form.is_valid():
        wait = _wait(
            request,
            group="orders.question.order",
            rate_setting="ORDER_QUESTION_RATE_PER_ORDER",
            key=order.number,
        )
        if wait:
            return _too_many(request, order, token=token, wait=wait)
        try:
            question, _asked = customer_question_ask(
                order_id=order.pk, subject=form.cleaned_data["subject"], message=form.cleaned_data["message"]
            )
        except OrderActionError as exc:
            form.add_error(None, str(exc))
        else:
            # The top of the order page, where the message shows; the question is listed further down.
            messages.success(
                request,
                _(
                    "Thank you: your question has reached our customer service. We have emailed a copy to "
                    "%(email)s and will answer you there. You will find it under “Ask about this order” below."
                )
                % {"email": question.email},
            )
            return redirect(order_url(order.number, token))
    context = order_page_context(order, token=token, question_form=form)
    return render(request, "orders/detail.html", context, status=400)
