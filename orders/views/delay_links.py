"""The two links in a delay email: "Keep waiting" and "Cancel these items".

Mail scanners open links, so GET only shows a page; the page's button POSTs. Each link is signed
for one purpose (its own salt), expires, and works once: the service records its use on the notice.
"""

from decimal import Decimal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from ..delays import DelayLinkError, DelayLinkUsed, delay_cancel_waiting, delay_keep_waiting
from ..models import DelayChoice, DelayNotice
from ..selectors import delay_cancel_preview, delay_notice_for_link
from ..tokens import DELAY_CANCEL_SALT, DELAY_KEEP_SALT, order_access_path, read_link_token
from ..wording import money_released_text
from .base import DAY, link_invalid


def _notice_for(token: str, salt: str) -> DelayNotice | None:
    notice_id = read_link_token(salt, token, max_age=DAY * settings.DELAY_LINK_MAX_AGE_DAYS)
    return delay_notice_for_link(notice_id=notice_id) if isinstance(notice_id, int) else None


def _delay_context(notice: DelayNotice, **extra) -> dict:
    return {
        "notice": notice,
        "order": notice.order,
        "delays": notice.delays,
        "order_url": order_access_path(notice.order.number),
        **extra,
    }


def _link_used(request: HttpRequest, notice: DelayNotice) -> HttpResponse:
    return render(request, "orders/delay_link_used.html", _delay_context(notice), status=410)


@require_http_methods(["GET", "POST"])
def delay_keep(request: HttpRequest, token: str) -> HttpResponse:
    """ "Keep waiting" from a delay email: the page asks, the button records the choice (once)."""
    notice = _notice_for(token, DELAY_KEEP_SALT)
    if notice is None:
        return link_invalid(request)
    if notice.choice != DelayChoice.NONE:
        return _link_used(request, notice)
    if request.method == "POST":
        try:
            delay_keep_waiting(notice_id=notice.pk)
        except DelayLinkUsed:
            return _link_used(request, notice)
        return render(request, "orders/delay_keep_done.html", _delay_context(notice))
    return render(request, "orders/delay_keep.html", _delay_context(notice))


@require_http_methods(["GET", "POST"])
def delay_cancel(request: HttpRequest, token: str) -> HttpResponse:
    """ "Cancel these items" from a delay email: the page shows what would be cancelled and the amount;
    the button cancels the units still waiting and releases exactly their price (once), and the page
    says what became of it (`orders.wording.money_released_text`)."""
    notice = _notice_for(token, DELAY_CANCEL_SALT)
    if notice is None:
        return link_invalid(request)
    if notice.choice == DelayChoice.CANCELLED:
        return _link_used(request, notice)
    if request.method == "POST":
        try:
            result = delay_cancel_waiting(notice_id=notice.pk)
        except DelayLinkUsed:
            return _link_used(request, notice)
        except DelayLinkError as exc:
            return render(
                request,
                "orders/delay_cancel.html",
                _delay_context(notice, preview=[], error=str(exc)),
                status=409,
            )
        return render(
            request,
            "orders/delay_cancel_done.html",
            _delay_context(
                notice,
                amount=result.amount,
                money_text=money_released_text(result.released),
                units=sum(result.quantities.values()),
            ),
        )
    preview = delay_cancel_preview(notice=notice)
    total = sum((row.amount for row in preview), Decimal("0"))
    return render(request, "orders/delay_cancel.html", _delay_context(notice, preview=preview, total=total))
