"""An order's timeline as its customer reads it: what happened, said once, in plain words.

The stored events keep their English message (staff read them in the admin) and, since issue 21, their
words as data (`orders.event_words`), which are said here in the reader's language; an older event
without words says its message. This turns each event the customer may see into a title ("Set aside
for you", "Shipped", "You chose to keep waiting", in the customer's language), the moment in words,
and what it concerns, without repeating the title. A parcel says what was charged for it with
`orders.wording.money_charged_text`, the sentence the shipment email uses.

No queries: it reads the order's customer-visible events and its payment as
`order_get_for_customer` loads them.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _

from shop.formatting import date_in_words

from ..choices import DelayChoice
from ..event_words import event_words_render
from ..models import Order, OrderEvent, OrderEventKind
from ..wording import ZERO, money_charged_text, payment_method_of

# The words each kind of event began with when it was written (orders.services, orders.delays):
# said by the entry's title, so they are not said again in its detail.
_PLACED = "Order placed."
_RESERVED_AT_CHECKOUT = "In stock and reserved: "
_RESERVED_FROM_NEW_STOCK = "Stock arrived and is reserved for you: "
_SHIPPED = "Shipped: "
_DELAYED = "Sorry, delayed: "
_CANCELLED_BY_CUSTOMER = "Cancelled at the customer's request: "
_CANCELLED_BY_STAFF = "Cancelled by staff: "
_KEPT_WAITING = "You chose to keep waiting for "


@dataclass(frozen=True)
class TimelineEntry:
    title: str  # "Shipped"
    at: datetime
    detail: str  # "2 × Blue mug. €27.55 has been charged to your card for this parcel."

    @property
    def when(self) -> str:
        """'Monday 7 December 2026 at 14:05', in the shop's time zone."""
        local = timezone.localtime(self.at)
        return _("%(date)s at %(time)s") % {
            "date": date_in_words(local.date(), weekday=True),
            "time": time_format(local.time(), "H:i"),
        }


def _after(message: str, prefix: str) -> str:
    """`message` without the words its title already says; the whole message when it does not
    start with them."""
    rest = message[len(prefix) :] if message.startswith(prefix) else message
    rest = rest.strip()
    return rest[:1].upper() + rest[1:]


def _sentence(text: str) -> str:
    return text if not text or text.endswith((".", "!", "?")) else f"{text}."


def _amount(value) -> Decimal | None:
    try:
        return Decimal(value) if value not in (None, "") else None
    except (InvalidOperation, TypeError, ValueError):
        return None


def _lines_key(event: OrderEvent):
    lines = (event.data or {}).get("lines")
    return tuple(sorted((str(k), v) for k, v in lines.items())) if isinstance(lines, dict) else None


def order_timeline_for_customer(*, order: Order) -> list[TimelineEntry]:
    """The entries of `order`'s timeline its customer sees, oldest first."""
    events = list(order.events.all())
    gateway = payment_method_of(order)
    # A cancellation made from a delay email is followed by a note of that choice, naming the same
    # lines: the two are one thing to the customer, said by the cancellation's entry.
    chose_to_cancel = {
        _lines_key(event)
        for event in events
        if event.kind == OrderEventKind.NOTE and (event.data or {}).get("choice") == DelayChoice.CANCELLED
    }
    entries: list[TimelineEntry] = []
    first_parcel = True
    for event in events:
        # The event's words in the reader's language (orders.event_words); an event written before
        # its words were stored says its English message.
        message, data = event_words_render(event), event.data or {}
        if event.kind == OrderEventKind.PLACED:
            title, detail = _("You placed your order"), _after(message, _PLACED)
        elif event.kind == OrderEventKind.ALLOCATED:
            if "run" in data:  # served by the allocation pass: stock that arrived after checkout
                title, detail = _("Reserved from new stock"), _after(message, _RESERVED_FROM_NEW_STOCK)
            else:
                title, detail = _("Set aside for you"), _after(message, _RESERVED_AT_CHECKOUT)
        elif event.kind == OrderEventKind.SHIPPED:
            title, detail = _("Shipped"), _sentence(_after(message, _SHIPPED))
            captured = _amount(data.get("captured"))
            if captured is not None:
                # The first parcel carries the shipping charge (orders.services.fulfilment).
                shipping = order.shipping_cost if first_parcel and captured >= order.shipping_cost else ZERO
                charged = money_charged_text(
                    gateway=gateway, amount=captured, currency=order.currency, shipping=shipping
                )
                detail = f"{detail} {charged}"
            first_parcel = False
        elif event.kind == OrderEventKind.DELAYED:
            title, detail = _("Sorry, delayed"), _after(message, _DELAYED)
        elif event.kind == OrderEventKind.CANCELLED:
            if event.message.startswith(_CANCELLED_BY_STAFF):
                title, detail = _("We cancelled"), _after(message, _CANCELLED_BY_STAFF)
            elif _lines_key(event) in chose_to_cancel:
                title, detail = (
                    _("You chose to cancel rather than wait"),
                    _after(message, _CANCELLED_BY_CUSTOMER),
                )
            else:
                title, detail = _("You cancelled"), _after(message, _CANCELLED_BY_CUSTOMER)
        elif event.kind == OrderEventKind.REFUNDED:
            title, detail = _("Your payment"), message
        elif event.kind == OrderEventKind.NOTE and data.get("choice") == DelayChoice.KEEP_WAITING:
            title, detail = _("You chose to keep waiting"), _after(message, _KEPT_WAITING)
        elif event.kind == OrderEventKind.NOTE and data.get("choice") == DelayChoice.CANCELLED:
            if _lines_key(event) is not None:
                continue  # said by the cancellation it goes with
            title, detail = _("You chose to cancel rather than wait"), ""
        elif event.kind == OrderEventKind.NOTE:
            title, detail = _("A note from us"), message
        else:
            title, detail = event.get_kind_display(), message
        entries.append(TimelineEntry(title=title, at=event.created_at, detail=detail))
    return entries
