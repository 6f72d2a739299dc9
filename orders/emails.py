"""Context builders for order emails (registered with the outbox in OrdersConfig.ready)."""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.urls import reverse

from notifications.emails import PermanentEmailError, absolute_url, register_builder
from notifications.models import Notification, NotificationKind

from .models import (
    CardCharge,
    CustomerQuestion,
    DelayCause,
    DelayNotice,
    DelayNoticeStatus,
    LineDelay,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderFeedback,
    OrderLine,
    PaymentTransaction,
    Shipment,
    ShipmentLine,
    TransactionKind,
)
from .selectors.vat import order_vat
from .tokens import (
    DELAY_CANCEL_SALT,
    DELAY_KEEP_SALT,
    EMAIL_PREFERENCES_SALT,
    FEEDBACK_SALT,
    card_payment_path,
    make_link_token,
    order_access_path,
)
from .wording import (
    MoneyReleased,
    cancel_money_text,
    money_charged_text,
    money_released_text,
    payment_method_of,
    when_charged_text,
)


def _order(context: dict) -> Order:
    order = (
        Order.objects.filter(pk=context.get("order_id"))
        .select_related("payment")
        .prefetch_related("lines")
        .first()
    )
    if order is None:
        raise PermanentEmailError(f"order {context.get('order_id')} no longer exists")
    return order


def _common(order: Order) -> dict:
    lines = list(order.lines.all())
    payment_method = payment_method_of(order)
    return {
        "order": order,
        "lines": lines,
        "waiting_lines": [line for line in lines if line.quantity_backordered],
        "order_url": absolute_url(order_access_path(order.number)),
        # What the customer reads about their money, true for the way they pay (orders.wording).
        "payment_method": payment_method,
        "when_charged": when_charged_text(gateway=payment_method),
    }


def order_confirmed_context(context: dict) -> dict:
    common = _common(_order(context))
    # The VAT in its total, per rate, as the checkout showed it (docs/tax.md).
    return {**common, "vat": order_vat(order=common["order"], lines=common["lines"])}


def order_shipped_context(context: dict) -> dict:
    order = _order(context)
    shipment = (
        Shipment.objects.filter(pk=context.get("shipment_id"), order=order)
        .prefetch_related("lines__order_line")
        .first()
    )
    if shipment is None:
        raise PermanentEmailError(f"shipment {context.get('shipment_id')} no longer exists")
    common = _common(order)
    shipped_lines = list(shipment.lines.all())
    waited = waited_lines(shipment=shipment, shipped_lines=shipped_lines)
    return {
        **common,
        "charged": shipment_charged_text(order=order, shipment=shipment),
        "shipment": shipment,
        "shipped_lines": shipped_lines,
        "waited_lines": waited,
        "had_backorders": bool(waited),
    }


def waited_lines(*, shipment: Shipment, shipped_lines: list[ShipmentLine]) -> list[OrderLine]:
    """The lines of this shipment that carry units which waited on backorder (one query).

    Units allocated at checkout ship first (the first shipment takes all of
    them), so a shipment carries waited units of a line exactly when the
    line's units shipped up to and including this shipment exceed those
    allocated at checkout. Lines never backordered are never thanked for.
    """
    candidates = [sl.order_line for sl in shipped_lines if sl.order_line.quantity_backordered_at_placement]
    if not candidates:
        return []
    shipped_so_far = dict(
        ShipmentLine.objects.filter(order_line__in=candidates, shipment_id__lte=shipment.pk)
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
        .values_list("order_line_id", "units")
    )
    return [
        line
        for line in candidates
        if shipped_so_far.get(line.pk, 0) > line.quantity - line.quantity_backordered_at_placement
    ]


def shipment_charged_text(*, order: Order, shipment: Shipment) -> str:
    """What the parcel cost the customer, as the payment's capture for it says (one query; the
    shipment's value when no capture was recorded). The first parcel carries the shipping charge."""
    captured = PaymentTransaction.objects.filter(
        shipment=shipment, kind=TransactionKind.CAPTURE, success=True
    ).aggregate(total=Sum("amount"))["total"]
    amount = shipment.amount if captured is None else captured
    first = not order.shipments.filter(pk__lt=shipment.pk).exists()
    shipping = order.shipping_cost if first and amount >= order.shipping_cost else Decimal("0")
    return money_charged_text(
        gateway=payment_method_of(order), amount=amount, currency=order.currency, shipping=shipping
    )


def order_cancelled_context(context: dict) -> dict:
    order = _order(context)
    common = _common(order)
    by_id = {line.pk: line for line in common["lines"]}
    cancelled = [(by_id[int(pk)], qty) for pk, qty in context.get("lines", {}).items() if int(pk) in by_id]
    released = MoneyReleased.from_data(context, gateway=common["payment_method"], currency=order.currency)
    return {
        **common,
        "cancelled": cancelled,
        # Cancelled automatically: the items could not arrive by the customer's need-by date.
        "need_by": date.fromisoformat(context["need_by"]) if context.get("need_by") else None,
        "amount": released.total,
        "money_released": money_released_text(released),
    }


def backorder_allocated_context(context: dict) -> dict:
    """The units this allocation pass reserved (from its timeline events), and what still waits.

    Units that were in stock at checkout are not news and are not listed.
    """
    order = _order(context)
    common = _common(order)
    served: dict[int, int] = {}
    for event in order.events.filter(kind=OrderEventKind.ALLOCATED, data__run=context.get("run_id")):
        for line_id, units in (event.data.get("lines") or {}).items():
            served[int(line_id)] = served.get(int(line_id), 0) + int(units)
    allocated = [(line, served[line.pk]) for line in common["lines"] if line.pk in served]
    return {
        **common,
        "when_charged": when_charged_text(gateway=common["payment_method"], what="these items"),
        "allocated_lines": allocated,
        "ships_together": order.ship_policy == "together",
        "ready": order.status == "ready",
    }


# What the delay email says happened, in plain words (the customer never sees our internal causes).
CAUSE_SENTENCES = {
    DelayCause.PO_DATE_CHANGED: "Our supplier has moved their delivery to a later date.",
    DelayCause.PO_CANCELLED: "A delivery we were counting on has been cancelled by our supplier.",
    DelayCause.PO_RECEIVED_SHORT: "Our supplier delivered fewer units than we had ordered.",
    DelayCause.QUEUE_PRIORITY: "We had to change the order in which waiting orders are served.",
    DelayCause.OVERDUE: "The stock we were expecting has not arrived on time.",
    DelayCause.RESCHEDULED: "Our delivery plans have changed.",
}


def _link(name: str, salt: str, value: int | str) -> str:
    return absolute_url(reverse(name, kwargs={"token": make_link_token(salt, value)}))


def order_delayed_context(context: dict) -> dict:
    order = _order(context)
    notice = DelayNotice.objects.filter(pk=context.get("notice_id"), order=order).first()
    if notice is None:
        raise PermanentEmailError(f"delay notice {context.get('notice_id')} no longer exists")
    delays = list(
        LineDelay.objects.filter(notice=notice, status=DelayNoticeStatus.SENT)
        .select_related("line")
        .order_by("line_id")
    )
    common = _common(order)
    delayed_ids = {d.line_id for d in delays}
    causes = sorted({d.cause for d in delays}, key=list(CAUSE_SENTENCES).index)
    return {
        **common,
        "notice": notice,
        "delays": delays,
        "reasons": [CAUSE_SENTENCES[c] for c in causes],
        "other_waiting": [line for line in common["waiting_lines"] if line.pk not in delayed_ids],
        # The customer's need-by date, and the delayed items that will now miss it.
        "need_by": order.need_by,
        "need_by_missed": [d for d in delays if order.need_by and d.new_date > order.need_by],
        "ready_lines": [line for line in common["lines"] if line.quantity_allocated],
        "cancel_money": cancel_money_text(gateway=common["payment_method"]),
        "keep_url": _link("orders:delay_keep", DELAY_KEEP_SALT, notice.pk),
        "cancel_url": _link("orders:delay_cancel", DELAY_CANCEL_SALT, notice.pk),
        "link_days": getattr(settings, "DELAY_LINK_MAX_AGE_DAYS", 30),
    }


def staff_delay_digest_context(context: dict) -> dict:
    ids = context.get("line_ids") or []
    lines = list(
        OrderLine.objects.filter(pk__in=ids).select_related("order").order_by("first_promised_date", "pk")
    )
    day = date.fromisoformat(context.get("date"))
    for line in lines:
        line.days_late = (day - line.first_promised_date).days if line.first_promised_date else None
        line.admin_url = absolute_url(reverse("admin:orders_order_change", args=[line.order_id]))
    return {
        "date": day,
        "lines": lines,
        "total": context.get("total", len(lines)),
        "more": max(context.get("total", len(lines)) - len(lines), 0),
        "after_days": getattr(settings, "DELAY_ESCALATE_AFTER_DAYS", 14),
        "admin_url": absolute_url(reverse("admin:orders_order_changelist") + "?escalated=yes"),
    }


def feedback_request_context(context: dict) -> dict:
    feedback = OrderFeedback.objects.filter(pk=context.get("feedback_id")).first()
    if feedback is None:
        raise PermanentEmailError(f"feedback request {context.get('feedback_id')} no longer exists")
    order = _order({"order_id": feedback.order_id})
    return {
        **_common(order),
        "feedback_url": _link("orders:feedback", FEEDBACK_SALT, feedback.pk),
        "ratings": range(1, 6),
        # The footer's opt-out link (base.txt / base.html show it when set).
        "unsubscribe_url": _link(
            "orders:email_preferences_link", EMAIL_PREFERENCES_SALT, order.email.lower()
        ),
    }


# --- customer questions ("Ask about this order") ------------------------------------------------


def _question(context: dict) -> CustomerQuestion:
    question = (
        CustomerQuestion.objects.filter(pk=context.get("question_id")).select_related("answered_by").first()
    )
    if question is None:
        raise PermanentEmailError(f"question {context.get('question_id')} no longer exists")
    return question


def _quoted(text: str) -> str:
    """Plain-text quoting of an earlier message: every line starts with "> "."""
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _question_common(question: CustomerQuestion) -> dict:
    return {
        **_common(_order({"order_id": question.order_id})),
        "question": question,
        "quoted_message": _quoted(question.message),
    }


def question_to_staff_context(context: dict) -> dict:
    """To customer service: the question, the order's waiting lines and dates, links into the admin.
    A reply goes to the customer (Reply-To)."""
    question = _question(context)
    return {
        **_question_common(question),
        "reply_to": question.email,
        "admin_order_url": absolute_url(reverse("admin:orders_order_change", args=[question.order_id])),
        "answer_url": absolute_url(reverse("admin:orders_customerquestion_change", args=[question.pk])),
    }


def question_received_context(context: dict) -> dict:
    """To the customer: we have your question. A reply goes to customer service (Reply-To)."""
    return {**_question_common(_question(context)), "reply_to": settings.SHOP_CONTACT_EMAIL.strip()}


def question_answered_context(context: dict) -> dict:
    """To the customer: the answer, signed with the first name of whoever wrote it (if staff have one)."""
    question = _question(context)
    if question.answered_at is None:
        raise PermanentEmailError(f"question {question.pk} has no answer")
    staff = question.answered_by
    return {
        **_question_common(question),
        "signed_by": staff.first_name.strip() if staff else "",
        "reply_to": settings.SHOP_CONTACT_EMAIL.strip(),
    }


# --- a card payment that failed off-session (orders.services.card_payment, allocation_release) ---


def card_payment_context(context: dict) -> dict:
    """The three emails about one failed charge: what it is for, until when, the signed pay link."""
    charge = (
        CardCharge.objects.filter(pk=context.get("charge_id")).select_related("order_line", "payment").first()
    )
    if charge is None:
        raise PermanentEmailError(f"card charge {context.get('charge_id')} no longer exists")
    common = _common(_order(context))
    line, units = charge.order_line, context.get("units", charge.units)
    released = MoneyReleased.from_data(
        context, gateway=common["payment_method"], currency=charge.payment.currency
    )
    return {
        **common,
        "charge": charge,
        "item": f"{units} × {line.product_name}" if line else "your items",
        "options": line.options_label if line else "",
        "pay_url": absolute_url(card_payment_path(charge.pk)),
        "other_lines": [x for x in common["lines"] if x.quantity_open and x.pk != charge.order_line_id],
        "money_released": money_released_text(released) if released.total else "",
        "grace_days": settings.PAYMENT_GRACE_DAYS,
    }


def _sample_card_charge() -> dict | None:
    row = (
        CardCharge.objects.exclude(grace_ends_at=None)
        .order_by("-pk")
        .values("pk", "payment__order_id")
        .first()
    )
    return None if row is None else {"order_id": row["payment__order_id"], "charge_id": row["pk"]}


# --- samples for the admin preview ----------------------------------------------------------
#
# Each returns the context of an email of its kind built from real rows, or None when the shop
# has nothing to show yet. The latest email of the kind that was actually queued is the best
# sample (it is what a customer got); otherwise the newest rows that fit are used.


def _latest_queued(kind: str) -> dict | None:
    return Notification.objects.filter(kind=kind).order_by("-pk").values_list("context", flat=True).first()


def _sample_confirmed() -> dict | None:
    order_id = Order.objects.order_by("-pk").values_list("pk", flat=True).first()
    return None if order_id is None else {"order_id": order_id}


def _sample_shipped() -> dict | None:
    shipment = Shipment.objects.order_by("-pk").values("pk", "order_id").first()
    return None if shipment is None else {"order_id": shipment["order_id"], "shipment_id": shipment["pk"]}


def _sample_cancelled() -> dict | None:
    line = OrderLine.objects.filter(quantity_cancelled__gt=0).order_by("-pk").first()
    if line is None:
        return None
    amount = line.unit_price * line.quantity_cancelled
    return {
        "order_id": line.order_id,
        "lines": {str(line.pk): line.quantity_cancelled},
        "amount": str(amount),
    }


def _sample_allocated() -> dict | None:
    event = (
        OrderEvent.objects.filter(kind=OrderEventKind.ALLOCATED, data__has_key="run")
        .order_by("-pk")
        .values("order_id", "data")
        .first()
    )
    return None if event is None else {"order_id": event["order_id"], "run_id": event["data"]["run"]}


def _sample_delayed() -> dict | None:
    notice = DelayNotice.objects.order_by("-pk").values("pk", "order_id").first()
    return None if notice is None else {"order_id": notice["order_id"], "notice_id": notice["pk"]}


def _sample_digest() -> dict | None:
    ids = list(
        OrderLine.objects.waiting()
        .filter(first_promised_date__isnull=False)
        .order_by("first_promised_date", "pk")
        .values_list("pk", flat=True)[:5]
    )
    return {"line_ids": ids, "date": date.today().isoformat(), "total": len(ids)} if ids else None


def _sample_feedback() -> dict | None:
    feedback_id = OrderFeedback.objects.order_by("-pk").values_list("pk", flat=True).first()
    return None if feedback_id is None else {"feedback_id": feedback_id}


def _sample_question() -> dict | None:
    question_id = CustomerQuestion.objects.order_by("-pk").values_list("pk", flat=True).first()
    return None if question_id is None else {"question_id": question_id}


def _sample_answered_question() -> dict | None:
    question_id = (
        CustomerQuestion.objects.filter(answered_at__isnull=False)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return None if question_id is None else {"question_id": question_id}


def _sample(kind: str, fallback):
    def sample() -> dict | None:
        return _latest_queued(kind) or fallback()

    return sample


def register() -> None:
    for kind, builder, fallback in [
        (NotificationKind.ORDER_CONFIRMED, order_confirmed_context, _sample_confirmed),
        (NotificationKind.ORDER_SHIPPED, order_shipped_context, _sample_shipped),
        (NotificationKind.ORDER_CANCELLED, order_cancelled_context, _sample_cancelled),
        (NotificationKind.BACKORDER_ALLOCATED, backorder_allocated_context, _sample_allocated),
        (NotificationKind.ORDER_DELAYED, order_delayed_context, _sample_delayed),
        (NotificationKind.STAFF_DELAY_DIGEST, staff_delay_digest_context, _sample_digest),
        (NotificationKind.FEEDBACK_REQUEST, feedback_request_context, _sample_feedback),
        (NotificationKind.QUESTION_TO_STAFF, question_to_staff_context, _sample_question),
        (NotificationKind.QUESTION_RECEIVED, question_received_context, _sample_question),
        (NotificationKind.QUESTION_ANSWERED, question_answered_context, _sample_answered_question),
        (NotificationKind.CARD_PAYMENT_NEEDED, card_payment_context, _sample_card_charge),
        (NotificationKind.CARD_PAYMENT_REMINDER, card_payment_context, _sample_card_charge),
        (NotificationKind.CARD_PAYMENT_RELEASED, card_payment_context, _sample_card_charge),
    ]:
        register_builder(kind, builder, sample=_sample(kind, fallback))
