"""Card charges (one per Stripe PaymentIntent), read-only, and "Send the payment link again".

The list shows what each charge is for and where it stands; a charge that failed off-session shows
the bank's message and when its grace ends (the units then go to the next customer in line:
orders.services.allocation_release). The action emails the customer the payment link again
(orders.services.card_payment.card_payment_link_resend): a new outbox row per send, and the
list's one-time key makes a form sent twice send once per charge.
"""

from django.contrib import admin, messages
from django.utils import timezone

from orders.models import CardCharge, ChargeStatus
from orders.services.card_payment import card_payment_link_resend
from shop.formatting import datetime_in_words, money
from shop.submissions import AlreadySubmitted, SubmissionKeyForm, submission_key_new

from .base import ReadOnlyAdmin, order_link


@admin.register(CardCharge)
class CardChargeAdmin(ReadOnlyAdmin):
    list_display = [
        "order_number",
        "line",
        "purpose",
        "amount_with_currency",
        "status",
        "failure_message",
        "grace_ends",
    ]
    list_filter = ["status", "purpose"]
    list_select_related = ["payment__order", "order_line"]
    search_fields = ["payment__order__number", "payment__order__email", "stripe_id", "key"]
    ordering = ["-pk"]
    actions = ["resend_payment_link_action"]
    fields = [
        "order_number",
        "line",
        "purpose",
        "amount_with_currency",
        "status",
        "stripe_id",
        "key",
        "units",
        "attempts",
        "failure_code",
        "failure_message",
        "grace_ends",
        "reminded",
        "authorized",
    ]
    readonly_fields = fields

    @admin.display(description="Order", ordering="payment__order__number")
    def order_number(self, obj: CardCharge) -> str:
        return order_link(obj.payment.order)

    @admin.display(description="Line")
    def line(self, obj: CardCharge) -> str:
        if obj.order_line is None:
            return "—"
        return f"{obj.units} × {obj.order_line.product_name} ({obj.order_line.sku})"

    @admin.display(description="Amount", ordering="amount")
    def amount_with_currency(self, obj: CardCharge) -> str:
        return money(obj.amount, obj.payment.currency, plain=True)

    @admin.display(description="Grace ends", ordering="grace_ends_at")
    def grace_ends(self, obj: CardCharge) -> str:
        if obj.grace_ends_at is None or obj.status not in (ChargeStatus.FAILED, ChargeStatus.REQUIRES_ACTION):
            return datetime_in_words(obj.grace_ends_at) if obj.grace_ends_at else "—"
        over = " (over: being released)" if obj.grace_ends_at <= timezone.now() else ""
        return datetime_in_words(obj.grace_ends_at) + over

    @admin.display(description="Reminded")
    def reminded(self, obj: CardCharge) -> str:
        return datetime_in_words(obj.reminded_at) if obj.reminded_at else "—"

    @admin.display(description="Authorized")
    def authorized(self, obj: CardCharge) -> str:
        return datetime_in_words(obj.authorized_at) if obj.authorized_at else "—"

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("orders.change_order")

    def changelist_view(self, request, extra_context=None):
        # A fresh one-time key for each rendering of the list's action form (change_list.html).
        return super().changelist_view(
            request, {**(extra_context or {}), "submission_key": submission_key_new()}
        )

    @admin.action(description="Send the payment link again", permissions=["resend"])
    def resend_payment_link_action(self, request, queryset):
        form = SubmissionKeyForm(request.POST)
        if not form.is_valid():
            self.message_user(request, form.errors["submission_key"][0], messages.ERROR)
            return None
        key = form.cleaned_data["submission_key"]
        for charge in queryset.select_related("payment__order").order_by("pk"):
            number = charge.payment.order.number
            try:
                sent = card_payment_link_resend(
                    charge_id=charge.pk, submission_key=f"{key}:{charge.pk}", user_id=request.user.pk
                )
            except AlreadySubmitted as exc:
                self.message_user(request, f"{number}: {exc}", messages.WARNING)
                continue
            if sent:
                self.message_user(
                    request, f"{number}: the payment link was emailed to {charge.payment.order.email} again."
                )
            else:
                self.message_user(
                    request,
                    f"{number}: not sent; this charge is {charge.get_status_display().lower()}"
                    " or its grace has ended, so there is nothing to pay.",
                    messages.WARNING,
                )
        return None
