"""The supplier loop on the staff dashboard (docs/staff.md): suppliers' answers (purchase orders
awaiting confirmation, dates suppliers moved, overdue orders) and the waiting units that no open
purchase order covers, each with "Draft a purchase order for the shortfall" (POST).

The figures come from `inventory.selectors.supplier_loop` in a constant number of queries; a draft is
created only by `inventory.services.purchase_order_create`, as the replenishment page drafts, once per
submitted form (its one-time key).
"""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from inventory.forms import DraftShortfallForm
from inventory.models import PurchaseOrderStatus, Supplier, Warehouse
from inventory.selectors.supplier_loop import (
    SUPPLIER_MOVES_WINDOW_DAYS,
    supplier_answers,
    uncovered_waiting_units,
)
from inventory.services import StockError, purchase_order_create
from shop.submissions import AlreadySubmitted, submission_key_new

from .page import url_with_query
from .replenishment import next_draft_reference


def supplier_loop_context(request, *, today: date) -> dict:
    """What the dashboard's supplier-loop include shows. Six queries, whatever the number of rows."""
    answers = supplier_answers(today=today)
    uncovered, uncovered_total = uncovered_waiting_units()
    changelist = "admin:inventory_purchaseorder_changelist"
    return {
        "answers": answers,
        "moves_window_days": SUPPLIER_MOVES_WINDOW_DAYS,
        "tiles": [
            {
                "label": "Awaiting supplier confirmation",
                "value": answers.awaiting,
                "note": "open purchase orders whose date the supplier has not confirmed",
                "url": url_with_query(changelist, answer="awaiting"),
                "definition": (
                    "Open purchase orders (ordered or partly received) with an expected date that the supplier "
                    "has not confirmed from the link in their email: never, or a date that has changed since."
                ),
            },
            {
                "label": f"Dates moved by suppliers, last {SUPPLIER_MOVES_WINDOW_DAYS} days",
                "value": answers.moved,
                "note": "from the link in their purchase order's email",
                "url": url_with_query(changelist, answer="moved"),
                "alert": answers.moved > 0,
                "definition": (
                    f"Expected-date changes made by suppliers on their purchase order's page in the last "
                    f"{SUPPLIER_MOVES_WINDOW_DAYS} days; waiting customers whose date moved later were emailed."
                ),
            },
            {
                "label": "Waiting units no purchase order covers",
                "value": sum(item.shortfall for item in uncovered),
                "note": f"on {uncovered_total} item{'s' if uncovered_total != 1 else ''}"
                + (f" (the {len(uncovered)} largest below)" if uncovered_total > len(uncovered) else ""),
                "url": "#uncovered",
                "alert": uncovered_total > 0,
                "definition": (
                    "Per item: units customers wait for, less free stock, less the units open purchase orders "
                    "still bring, when that is above zero; the note counts the items. Drafts cover nothing "
                    "until they are marked ordered."
                ),
            },
        ],
        "uncovered": [{"item": item, "key": submission_key_new()} for item in uncovered],
        "uncovered_total": uncovered_total,
        "can_draft": request.user.has_perm("inventory.add_purchaseorder"),
        "draft_url": reverse("staff_draft_shortfall"),
    }


@require_POST
def draft_shortfall_view(request):
    """One draft purchase order for one item's uncovered units, from its usual supplier; once per form."""
    if not request.user.has_perm("inventory.add_purchaseorder"):
        raise PermissionDenied
    back = reverse("staff_dashboard") + "#uncovered"
    form = DraftShortfallForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return HttpResponseRedirect(back)
    variant_id = form.cleaned_data["variant"]
    # Recomputed now: the page may be minutes old, and another draft may have been ordered since.
    items, _ = uncovered_waiting_units(variant_ids=[variant_id])
    if not items:
        messages.info(request, "Open purchase orders cover that item's waiting units now: nothing to draft.")
        return HttpResponseRedirect(back)
    item = items[0]
    if item.supplier_id is None:
        messages.warning(
            request, f"{item.sku}: no supplier known (never on a purchase order); order it by hand."
        )
        return HttpResponseRedirect(back)
    warehouse = Warehouse.objects.filter(is_active=True).order_by("priority", "pk").first()
    supplier = Supplier.objects.get(pk=item.supplier_id)
    today = timezone.localdate()
    try:
        po = purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=warehouse.pk if warehouse else 0,
            reference=next_draft_reference(supplier.pk, today),
            lines={item.variant_id: item.shortfall},
            expected_date=today + timedelta(days=supplier.lead_time_days),
            status=PurchaseOrderStatus.DRAFT,
            notes=f"Drafted from the dashboard for {item.sku}'s uncovered waiting units "
            f"by {request.user.get_username()}.",
            user_id=request.user.pk,
            submission_key=form.cleaned_data["submission_key"],
        )
    except AlreadySubmitted as exc:
        messages.warning(request, str(exc))
        return HttpResponseRedirect(back)
    except StockError as exc:
        messages.error(request, f"{item.sku}: {exc}")
        return HttpResponseRedirect(back)
    LogEntry.objects.log_actions(
        user_id=request.user.pk,
        queryset=[po],
        action_flag=ADDITION,
        change_message="Drafted from the dashboard for uncovered waiting units.",
        single_object=True,
    )
    url = reverse("admin:inventory_purchaseorder_change", args=[quote(po.pk)])
    messages.success(
        request,
        format_html(
            'Draft <a href="{}">{}</a> for {}: {} × {}. Review it, then mark it as ordered '
            "(that emails it to the supplier).",
            url,
            po.reference,
            supplier.name,
            item.shortfall,
            item.sku,
        ),
    )
    return HttpResponseRedirect(back)
