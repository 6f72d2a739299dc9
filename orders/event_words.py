"""An order event's words as data, said in the reader's language when it is read (docs/i18n.md).

An event the customer sees keeps, beside its English `message` (what staff, search, the API and
webhooks read), `data["words"]`: a key naming the sentence and its raw values, e.g.

    {"key": "shipped", "params": {"items": [{"count": 1, "name": "Trail Lantern"}]}}

Amounts are strings ("64.90") with their currency, dates ISO ("2027-01-08"), so nothing in them is
in a language. `event_words_render` turns them into the sentence in the active language, through
gettext and `shop.formatting`: what the customer's timeline shows after the entry's title. An event
written before its words were stored (no `words`) says its stored `message`.

Writers build the words with `event_words_build` (and `event_words_items` for "2 × Blue mug" lists);
the allocation pass's SQL twin (orders.services.after_allocation) writes the same JSON itself.

Pure functions: no queries. Data layer: imports models, `orders.wording` and `shop.formatting` only.
"""

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shop.formatting import date_in_words, date_range_in_words, money, ships_in_words

from .models import OrderEvent
from .wording import MoneyReleased, money_released_text

WORDS = "words"


# --- writing ----------------------------------------------------------------------------------


def event_words_build(*, key: str, **params) -> dict:
    """`data["words"]` of an event: `key` (one of `KEYS`) and its params (JSON: strings, numbers,
    lists). Raises ValueError for a key nothing can render."""
    if key not in _RENDERERS:
        raise ValueError(f"no words for {key!r}")
    return {"key": key, "params": params}


def event_words_items(items: Iterable[tuple[int, str]]) -> list[dict]:
    """(units, product name) pairs as the words' `items`: [{"count": 2, "name": "Blue mug"}]."""
    return [{"count": int(count), "name": str(name)} for count, name in items]


def released_words(released: MoneyReleased) -> dict:
    """The words of a "what became of your money" event: `money_released_text`'s numbers."""
    return event_words_build(
        key="released", gateway=released.gateway, currency=released.currency, **released.as_data()
    )


def iso(value: date | None) -> str | None:
    """A date as the words store it."""
    return value.isoformat() if value else None


# --- reading ----------------------------------------------------------------------------------


def _date(value) -> date | None:
    return date.fromisoformat(value) if value else None


def _items(params: dict) -> str:
    """'2 × Blue mug, 1 × Trail Lantern'."""
    return ", ".join(
        _("%(count)s × %(name)s") % {"count": item["count"], "name": item["name"]} for item in params["items"]
    )


def _placed(params: dict) -> str:
    waiting = params.get("waiting") or []
    if not waiting:
        return ""
    return _("Waiting for stock: %(items)s") % {
        "items": "; ".join(
            _("%(count)s × %(name)s (expected %(dates)s)")
            % {
                "count": item["count"],
                "name": item["name"],
                "dates": date_range_in_words(_date(item.get("earliest")), _date(item.get("latest"))),
            }
            for item in waiting
        )
    }


def _released(params: dict) -> str:
    released = MoneyReleased.from_data(params, gateway=params.get("gateway"), currency=params["currency"])
    return money_released_text(released)


def _released_unpaid(params: dict) -> str:
    days = int(params["days"])
    return ngettext(
        "Released %(items)s to the next customer: the card payment was not completed within "
        "%(days)s day. Nothing was charged for it.",
        "Released %(items)s to the next customer: the card payment was not completed within "
        "%(days)s days. Nothing was charged for it.",
        days,
    ) % {"items": _items(params), "days": days}


def _delayed(params: dict) -> str:
    parts = []
    for line in params["lines"]:
        new = date_range_in_words(_date(line.get("new_earliest")), _date(line["new"]))
        if line.get("estimated"):
            new = _("no confirmed date yet (our estimate: %(dates)s)") % {"dates": new}
        parts.append(
            _("%(count)s × %(name)s: was %(old)s, now %(new)s")
            % {
                "count": line["count"],
                "name": line["name"],
                "old": date_in_words(_date(line["old"]), weekday=True),
                "new": new,
            }
        )
    return "; ".join(parts) + "."


def _kept_waiting(params: dict) -> str:
    dates = "; ".join(
        _("%(name)s now %(when)s")
        % {
            "name": line["name"],
            "when": ships_in_words(_date(line.get("earliest")), _date(line.get("latest"))),
        }
        for line in params["lines"]
    )
    items = _items({"items": params["lines"]})
    return _("%(items)s (%(dates)s). Thank you for your patience.") % {"items": items, "dates": dates}


def _need_by_cancelled(params: dict) -> str:
    return _(
        "Cancelled automatically, as you asked: %(items)s would now arrive by %(latest)s, after "
        "%(need_by)s, the date you need it by."
    ) % {
        "items": _items(params),
        "latest": date_in_words(_date(params["latest"]), weekday=True),
        "need_by": date_in_words(_date(params["need_by"]), weekday=True),
    }


def _card_paid(params: dict) -> str:
    amount = money(Decimal(params["amount"]), params["currency"])
    if params.get("items"):
        return _("Card payment received for %(items)s (%(amount)s).") % {
            "items": _items(params),
            "amount": amount,
        }
    return _("Card payment received (%(amount)s).") % {"amount": amount}


_RENDERERS: dict[str, Callable[[dict], str]] = {
    "placed": _placed,  # checkout; params: waiting [{count, name, earliest, latest}]
    "reserved": _items,  # in stock at checkout; items
    "reserved_from_new_stock": _items,  # the allocation pass (Python and SQL); items
    "shipped": _items,  # items
    "cancelled": _items,  # by the customer or staff (the title says who); items
    "released": _released,  # what cancelling did with the money; MoneyReleased.as_data + gateway, currency
    "released_unpaid": _released_unpaid,  # a card payment not made in time; items, days
    "delayed": _delayed,  # lines [{count, name, old, new, new_earliest, estimated}]
    "kept_waiting": _kept_waiting,  # lines [{count, name, earliest, latest}]
    "need_by_cancelled": _need_by_cancelled,  # items, latest, need_by
    "card_paid": _card_paid,  # items (may be empty), amount, currency
    "added_to_account": lambda params: _("Added to your account"),
}
KEYS = frozenset(_RENDERERS)


def event_words_render(event: OrderEvent) -> str:
    """The event's words in the active language; its stored `message` when it has no words (written
    before they were stored) or words this code cannot read."""
    words = (event.data or {}).get(WORDS)
    if not isinstance(words, dict):
        return event.message
    render = _RENDERERS.get(words.get("key"))
    if render is None:
        return event.message
    try:
        return render(words.get("params") or {})
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return event.message
