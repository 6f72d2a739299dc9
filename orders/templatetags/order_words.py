"""What templates say about an order's progress and money: the sentences of `orders.wording`.

{% load order_words %}
{% payment_method order as gateway %}        test_card, invoice, or None (no payment)
{% when_charged gateway %}                    when waiting items are paid for
{% when_charged None what="it" one=True %}    ... before a payment method is chosen
{% cancel_money gateway %}                    what cancelling does to the money
{% order_status order lines %}                the order in one sentence
{% line_status line order lines as phrases %} where the line's units are, each state once
"""

from collections.abc import Sequence

from django import template
from django.conf import settings

from ..models import Order, OrderLine
from ..wording import (
    STRIPE_CARD,
    STRIPE_CARD_DEPOSIT,
    STRIPE_CARD_NOW,
    AmountDue,
    amount_due,
    cancel_money_text,
    line_status_text,
    order_status_text,
    payment_method_of,
    payment_terms_text,
    when_charged_text,
)

register = template.Library()


@register.simple_tag
def payment_method(order: Order) -> str | None:
    return payment_method_of(order)


@register.simple_tag
def when_charged(gateway: str | None, what: str = "items waiting for stock", one: bool = False) -> str:
    return when_charged_text(gateway=gateway, what=what, one=one)


@register.simple_tag
def cancel_money(gateway: str | None) -> str:
    return cancel_money_text(gateway=gateway)


@register.simple_tag
def order_status(order: Order, lines: Sequence[OrderLine]) -> str:
    return order_status_text(order, lines)


@register.simple_tag
def line_status(line: OrderLine, order: Order, lines: Sequence[OrderLine]) -> list[str]:
    return line_status_text(line, order=order, lines=lines)


@register.simple_tag
def payment_terms(plan=None) -> str:
    """`plan`: the checkout's orders.selectors.payment_plans.PlanChoice (None: the shop's default)."""
    card = None
    percent = plan.deposit_percent if plan else settings.PAYMENT_DEPOSIT_PERCENT
    if settings.STRIPE_ENABLED:
        name = plan.plan if plan else settings.PAYMENT_PLAN_DEFAULT
        card = {"now": STRIPE_CARD_NOW, "deposit": STRIPE_CARD_DEPOSIT}.get(name, STRIPE_CARD)
    return payment_terms_text(card=card, grace_days=settings.PAYMENT_GRACE_DAYS, deposit_percent=percent)


@register.simple_tag
def order_amount_due(order: Order) -> AmountDue:
    return amount_due(order, order.events.all())
