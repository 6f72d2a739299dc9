"""Which card payment plan an order gets: its waiting units' backorder policies, strictest first.

Each backorder policy may name a plan (`BackorderPolicy.payment_plan`, empty: the shop's
PAYMENT_PLAN_DEFAULT) and a deposit share (`deposit_percent`, empty: PAYMENT_DEPOSIT_PERCENT). An
order has one plan for all its waiting units: the strictest of theirs (pay now, then a deposit,
then pay when it ships), with the largest deposit share among the policies asking for a deposit.
An order with nothing waiting pays when it ships (what ships now is held, and captured as it
ships). One query.
"""

from dataclasses import dataclass

from django.conf import settings

from inventory.models import BackorderPolicy, PaymentPlan

from .quote import Quote

STRICTNESS = {PaymentPlan.SHIP: 0, PaymentPlan.DEPOSIT: 1, PaymentPlan.NOW: 2}


@dataclass(frozen=True)
class PlanChoice:
    plan: str
    deposit_percent: int = 0  # only with PaymentPlan.DEPOSIT


def checkout_payment_plan(quote: Quote) -> PlanChoice:
    waiting = [line.variant.pk for line in quote.lines if line.backorder]
    if not waiting:
        return PlanChoice(PaymentPlan.SHIP)
    policies = {
        variant_id: (plan, percent)
        for variant_id, plan, percent in BackorderPolicy.objects.filter(variant_id__in=waiting).values_list(
            "variant_id", "payment_plan", "deposit_percent"
        )
    }
    chosen = []
    for variant_id in waiting:
        plan, percent = policies.get(variant_id, ("", None))
        chosen.append((plan or settings.PAYMENT_PLAN_DEFAULT, percent or settings.PAYMENT_DEPOSIT_PERCENT))
    plan = max((plan for plan, _ in chosen), key=STRICTNESS.__getitem__)
    if plan != PaymentPlan.DEPOSIT:
        return PlanChoice(plan)
    return PlanChoice(plan, max(percent for p, percent in chosen if p == PaymentPlan.DEPOSIT))
