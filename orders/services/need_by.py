"""The customer's "I need it by" date at checkout (issue 18 item 5; docs/delays.md).

What happens when a promise later moves past the date is `orders.delays.need_by`.
"""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

from shop.formatting import date_in_words

from ..choices import NeedByAction
from ..selectors.need_by import need_by_misses
from ..selectors.quote import Quote
from .errors import CheckoutError, NeedByLate


@dataclass(frozen=True)
class NeedBy:
    """What the customer asked for at checkout."""

    date: date
    action: str  # a NeedByAction: cancel automatically, or ask
    accept_late: bool = False  # told a waiting item is expected after the date, they order anyway


def need_by_check(*, need_by: NeedBy | None, quote: Quote) -> NeedBy | None:
    """The need-by date to store on the order, or None when nothing waits (or none was given).

    Refuses a date in the past and an unknown action (CheckoutError), and a date that a waiting
    item is already expected after, unless the customer said they understand (NeedByLate).
    """
    if need_by is None or not quote.has_backorders:
        return None
    if need_by.action not in NeedByAction.values:
        raise CheckoutError(_("Choose what we should do if your items cannot arrive by your date."))
    if need_by.date < timezone.localdate():
        raise CheckoutError(
            _("The date you need your items by has passed: choose a later one, or leave it empty.")
        )
    late = need_by_misses(quote=quote, need_by=need_by.date)
    if late and not need_by.accept_late:
        raise NeedByLate(
            _(
                "We cannot promise everything by %(date)s: %(late_items)s. Tick the box to order anyway, or change the date."
            )
            % {
                "date": date_in_words(need_by.date, weekday=True),
                "late_items": _("; ").join(
                    _("%(quantity)s × %(item)s is expected by %(date)s")
                    % {
                        "quantity": line.backorder,
                        "item": line.variant,
                        "date": date_in_words(line.expected_date, weekday=True),
                    }
                    for line in late
                ),
            }
        )
    return need_by
