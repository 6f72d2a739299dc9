"""Context builders of the emails to suppliers (registered with the outbox in InventoryConfig.ready()).

`supplier_po`: the purchase order, sent when it is marked ordered (inventory.services.supplier_mail).
`supplier_po_reminder`: unconfirmed after a few days, or overdue. Both carry the signed link to the
supplier's page (inventory.tokens), made when the email is rendered, and ask replies to go to the shop.
"""

from django.conf import settings
from django.utils import timezone

from notifications.emails import PermanentEmailError, absolute_url, register_builder
from notifications.models import NotificationKind
from shop.formatting import date_in_words

from .models import PurchaseOrder, PurchaseOrderStatus
from .tokens import SUPPLIER_PO_MAX_AGE_DAYS, supplier_po_path


def _purchase_order(context: dict) -> PurchaseOrder:
    po = (
        PurchaseOrder.objects.select_related("supplier", "warehouse")
        .prefetch_related("lines__variant__product")
        .filter(pk=context.get("purchase_order_id"))
        .first()
    )
    if po is None:
        raise PermanentEmailError(f"purchase order {context.get('purchase_order_id')} no longer exists")
    return po


def supplier_po_context(context: dict) -> dict:
    po = _purchase_order(context)
    today = timezone.localdate()
    lines = [
        {
            "sku": line.variant.sku,
            "name": str(line.variant),
            "quantity": line.quantity_ordered,
            "outstanding": line.quantity_outstanding,
        }
        for line in po.lines.all()
    ]
    reason = context.get("reason", "")
    return {
        "po": po,
        "supplier": po.supplier,
        "lines": lines,
        "units": sum(line["quantity"] for line in lines),
        "outstanding_units": sum(line["outstanding"] for line in lines),
        "expected_in_words": date_in_words(po.expected_date, weekday=True) if po.expected_date else "",
        "days_overdue": (today - po.expected_date).days if po.expected_date else 0,
        "reason": reason,
        "po_url": absolute_url(supplier_po_path(po.pk)),
        "link_days": SUPPLIER_PO_MAX_AGE_DAYS,
        "deliver_to": po.warehouse.name,
        # A supplier's reply reaches the shop's people, not a no-reply sender.
        "reply_to": settings.SHOP_CONTACT_EMAIL.strip(),
    }


def _sample(reason: str = ""):
    def sample() -> dict | None:
        po_id = (
            PurchaseOrder.objects.exclude(status=PurchaseOrderStatus.DRAFT)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        ) or PurchaseOrder.objects.order_by("-pk").values_list("pk", flat=True).first()
        if po_id is None:
            return None
        return {"purchase_order_id": po_id, **({"reason": reason} if reason else {})}

    return sample


def register() -> None:
    register_builder(NotificationKind.SUPPLIER_PO, supplier_po_context, sample=_sample())
    register_builder(
        NotificationKind.SUPPLIER_PO_REMINDER, supplier_po_context, sample=_sample("unconfirmed")
    )
