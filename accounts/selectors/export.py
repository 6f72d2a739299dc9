"""Everything the shop keeps about a signed-in customer, as one JSON-ready dict ("Download my data").

What it holds: the profile, the saved addresses, the orders (their lines, amounts, statuses, the
payment's amounts, the shipments and the timeline the customer sees on the order page, the
feedback and the questions asked about them) and the back-in-stock subscriptions (made signed in,
or under the account's address). Only the user's own rows: every query is filtered by their id
(or, for subscriptions and the email preference, by their address too).

A constant number of queries however many orders (accounts/tests/test_export.py asserts it with 1
and 5 orders): one per kind of row, the related rows prefetched.
"""

from datetime import date, datetime
from decimal import Decimal

from django.db.models import Prefetch, Q
from django.utils import timezone

from notifications.models import BackInStockSubscription, EmailPreference
from orders.models import CustomerQuestion, Order, OrderEvent, Shipment
from orders.selectors.timeline import order_timeline_for_customer

from .addresses import ADDRESS_FIELDS, address_list

EXPORT_FORMAT_VERSION = 1


def _when(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    return value.isoformat()


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _profile(user, *, marketing_opt_out: bool) -> dict:
    return {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "language": user.language,
        "date_joined": _when(user.date_joined),
        "last_login": _when(user.last_login),
        "email_verified_at": _when(user.email_verified_at),
        "non_essential_emails": not marketing_opt_out,
    }


def _line(line) -> dict:
    return {
        "sku": line.sku,
        "product": line.product_name,
        "options": line.options_label,
        "quantity": line.quantity,
        "unit_price": _money(line.unit_price),
        "backorder_unit_price": _money(line.backorder_unit_price)
        if line.backorder_discount_percent
        else None,
        "backorder_discount_percent": _money(line.backorder_discount_percent),
        "total": _money(line.total),
        "tax_rate_percent": _money(line.tax_rate),
        "status": line.status,
        "quantity_allocated": line.quantity_allocated,
        "quantity_backordered": line.quantity_backordered,
        "quantity_shipped": line.quantity_shipped,
        "quantity_cancelled": line.quantity_cancelled,
        "expected_date": _when(line.expected_date),
        "promised_date": _when(line.promised_date),
    }


def _payment(order: Order) -> dict | None:
    payment = getattr(order, "payment", None)
    if payment is None:
        return None
    return {
        "method": payment.gateway,
        "status": payment.status,
        "authorized": _money(payment.amount_authorized),
        "captured": _money(payment.amount_captured),
        "voided": _money(payment.amount_voided),
        "refunded": _money(payment.amount_refunded),
    }


def _order(order: Order) -> dict:
    skus = {line.pk: line.sku for line in order.lines.all()}
    feedback = getattr(order, "feedback", None)
    return {
        "number": order.number,
        "placed_at": _when(order.placed_at),
        "status": order.status,
        "email": order.email,
        "address": {name: getattr(order, name) for name in ADDRESS_FIELDS},
        "vat_number": order.vat_number,
        "shipping_method": order.shipping_method,
        "ship_policy": order.ship_policy,
        "need_by": _when(order.need_by),
        "currency": order.currency,
        "subtotal": _money(order.subtotal),
        "discount_total": _money(order.discount_total),
        "shipping_cost": _money(order.shipping_cost),
        "total": _money(order.total),
        "payment": _payment(order),
        "lines": [_line(line) for line in order.lines.all()],
        "shipments": [
            {
                "shipped_at": _when(shipment.created_at),
                "amount": _money(shipment.amount),
                "lines": [
                    {"sku": skus.get(sl.order_line_id, ""), "quantity": sl.quantity}
                    for sl in shipment.lines.all()
                ],
            }
            for shipment in order.shipments.all()
        ],
        "timeline": [
            {"at": _when(entry.at), "title": str(entry.title), "detail": str(entry.detail)}
            for entry in order_timeline_for_customer(order=order)
        ],
        "feedback": None
        if feedback is None
        else {
            "requested_at": _when(feedback.requested_at),
            "rating": feedback.rating,
            "comment": feedback.comment,
            "answered_at": _when(feedback.answered_at),
        },
        "questions": [
            {
                "asked_at": _when(question.created_at),
                "subject": question.subject,
                "message": question.message,
                "answered_at": _when(question.answered_at),
                "answer": question.answer,
            }
            for question in order.questions.all()
        ],
    }


def account_export(*, user) -> dict:
    """Everything kept about `user` (a signed-in customer, already loaded: no query for it)."""
    orders = (
        Order.objects.filter(user_id=user.pk)
        .select_related("payment", "feedback")
        .prefetch_related(
            "lines",
            Prefetch(
                "shipments", queryset=Shipment.objects.order_by("created_at", "pk").prefetch_related("lines")
            ),
            Prefetch(
                "events",
                queryset=OrderEvent.objects.filter(visible_to_customer=True).order_by("created_at", "pk"),
            ),
            Prefetch("questions", queryset=CustomerQuestion.objects.order_by("created_at", "pk")),
        )
        .order_by("placed_at", "pk")
    )
    subscriptions = (
        BackInStockSubscription.objects.filter(Q(user_id=user.pk) | Q(email__iexact=user.email))
        .select_related("variant__product")
        .order_by("created_at", "pk")
    )
    opt_out = EmailPreference.objects.filter(email__iexact=user.email, marketing_opt_out=True).exists()
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": _when(timezone.now()),
        "profile": _profile(user, marketing_opt_out=opt_out),
        "addresses": [
            {**{name: getattr(a, name) for name in ADDRESS_FIELDS}, "is_default": a.is_default}
            for a in address_list(user_id=user.pk)
        ],
        "orders": [_order(order) for order in orders],
        "back_in_stock_subscriptions": [
            {
                "product": s.variant.product.name,
                "sku": s.variant.sku,
                "email": s.email,
                "status": s.status,
                "subscribed_at": _when(s.created_at),
                "confirmed_at": _when(s.confirmed_at),
                "notified_at": _when(s.notified_at),
            }
            for s in subscriptions
        ],
    }
