"""The supplier loop on the purchase-order admin: what staff are told when an order is marked ordered
(emailed to the supplier, or not), the supplier's answer on the order's page, and the list filter the
dashboard's tiles link to (docs/staff.md)."""

from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import F
from django.utils import timezone

from inventory.models import OPEN_PO_STATUSES, DateChangeSource, PurchaseOrder
from inventory.selectors.supplier_loop import SUPPLIER_MOVES_WINDOW_DAYS, awaiting_confirmation
from shop.formatting import date_in_words, datetime_in_words


def ordered_news(po: PurchaseOrder) -> tuple[str, int]:
    """Said after `purchase_order_mark_ordered`: whether the order went to the supplier by email."""
    email = (po.supplier.contact_email or "").strip()
    if email:
        return (
            f"{po.reference} is now ordered and was emailed to {po.supplier.name} ({email}).",
            messages.SUCCESS,
        )
    return (
        f"{po.reference} is now ordered, but it was NOT emailed: {po.supplier.name} has no contact email. "
        "Send it to them yourself, and add their email on the supplier's page for next time.",
        messages.WARNING,
    )


def done_news(done, po: PurchaseOrder) -> tuple[str, int]:
    """`done` is a message with {reference}, or a function of the order giving (message, level)."""
    return done(po) if callable(done) else (done.format(reference=po.reference), messages.SUCCESS)


@admin.display(description="Supplier's answer")
def supplier_answer(po: PurchaseOrder) -> str:
    if po.confirmed_at is None:
        return "Not answered yet" if po.is_open else "—"
    said = f"Delivery on {date_in_words(po.confirmed_date, weekday=True)}, given {datetime_in_words(po.confirmed_at)}"
    if po.confirmed_date != po.expected_date:
        return f"{said}; the expected date has changed since, so it awaits their confirmation again."
    return said


class PurchaseOrderAnswerFilter(admin.SimpleListFilter):
    """Open purchase orders by the supplier's answer; the dashboard's supplier tiles link here."""

    title = "supplier's answer"
    parameter_name = "answer"

    def lookups(self, request, model_admin):
        return [
            ("awaiting", "Awaiting the supplier's confirmation"),
            ("confirmed", "Date confirmed by the supplier"),
            ("moved", f"Date moved by the supplier (last {SUPPLIER_MOVES_WINDOW_DAYS} days)"),
        ]

    def queryset(self, request, queryset):
        open_orders = queryset.filter(status__in=OPEN_PO_STATUSES)
        if self.value() == "awaiting":
            return queryset.filter(awaiting_confirmation())
        if self.value() == "confirmed":
            return open_orders.filter(confirmed_date=F("expected_date"))
        if self.value() == "moved":
            since = timezone.now() - timedelta(days=SUPPLIER_MOVES_WINDOW_DAYS)
            moved = PurchaseOrder.objects.filter(
                date_changes__source=DateChangeSource.SUPPLIER, date_changes__changed_at__gte=since
            )
            return queryset.filter(pk__in=moved.values("pk"))
        return None
