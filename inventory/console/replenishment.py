"""The replenishment page (/admin/replenishment/): the report's rows sorted, filtered and paged, its
CSV download, and drafting one purchase order per supplier from the ticked suggestions (POST).

Rows come from `inventory.console.reports.replenishment_rows`; drafts are created only through
`inventory.services.purchase_order_create`, and the admin history records who drafted them.
"""

import csv
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from inventory.models import PurchaseOrder, PurchaseOrderStatus, Supplier, Warehouse
from inventory.services import StockError, purchase_order_create

from .page import console_page
from .permissions import can_view_stock
from .reports import (
    group_suggestions_by_supplier,
    replenishment_rows,
    replenishment_settings,
    replenishment_sort,
)

COLUMNS = [
    # (sort key, heading)
    ("sku", "SKU"),
    ("supplier", "Supplier"),
    ("on_hand", "On hand"),
    ("allocated", "Set aside for orders"),
    ("backordered", "Backordered"),
    ("incoming", "Incoming"),
    ("velocity", "Units / day"),
    ("days_of_cover", "Days of cover"),
    ("reorder_point", "Reorder point"),
    ("suggested", "Suggested order"),
]
PAGE_SIZE = 100


def _int_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def replenishment_view(request):
    """What to reorder: per variant stock, demand and a suggested quantity; CSV; draft purchase orders."""
    if not can_view_stock(request.user):
        raise PermissionDenied
    if request.method == "POST":
        return _draft_purchase_orders(request)
    config = replenishment_settings()
    supplier_id = _int_param(request, "supplier")
    warehouse_id = _int_param(request, "warehouse")
    search = request.GET.get("q", "").strip()
    need_only = request.GET.get("need") == "1"
    order = request.GET.get("o", "-suggested")
    key, descending = order.lstrip("-"), order.startswith("-")
    rows = replenishment_rows(
        now=timezone.now(), supplier_id=supplier_id, warehouse_id=warehouse_id, search=search, config=config
    )
    if need_only:
        rows = [r for r in rows if r.suggested > 0]
    rows = replenishment_sort(rows, key=key, descending=descending)

    if request.GET.get("format") == "csv":
        return _replenishment_csv(rows)

    params = {
        k: v
        for k, v in {
            "supplier": supplier_id,
            "warehouse": warehouse_id,
            "q": search,
            "need": "1" if need_only else "",
        }.items()
        if v
    }
    paginator = Paginator(rows, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    headings = []
    for column, label in COLUMNS:
        active = column == key
        next_order = column if active and descending else f"-{column}"
        headings.append(
            {
                "label": label,
                "url": "?" + urlencode({**params, "o": next_order}),
                "sorted": "descending" if active and descending else ("ascending" if active else ""),
            }
        )
    return console_page(
        request,
        "Replenishment",
        "admin/staff/replenishment.html",
        {
            "rows": page.object_list,
            "page": page,
            "headings": headings,
            "suppliers": Supplier.objects.order_by("name"),
            "warehouses": Warehouse.objects.filter(is_active=True),
            "supplier_id": supplier_id,
            "warehouse_id": warehouse_id,
            "search": search,
            "need_only": need_only,
            "order": order,
            "config": config,
            "csv_url": "?" + urlencode({**params, "o": order, "format": "csv"}),
            "page_query": urlencode({**params, "o": order}),
            "can_draft": request.user.has_perm("inventory.add_purchaseorder"),
            "dashboard_url": reverse("staff_dashboard"),
        },
    )


def _replenishment_csv(rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="replenishment-{timezone.localdate():%Y-%m-%d}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(
        [
            "sku",
            "item",
            "supplier",
            "lead_time_days",
            "on_hand",
            "allocated",
            "backordered",
            "incoming",
            "units_sold_in_window",
            "units_per_day",
            "days_of_cover",
            "safety_stock",
            "reorder_point",
            "position",
            "suggested_order",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                r.sku,
                r.name,
                r.supplier_name,
                r.lead_time_days,
                r.on_hand,
                r.allocated,
                r.backordered,
                r.incoming,
                r.sold,
                r.velocity,
                "" if r.days_of_cover is None else r.days_of_cover,
                r.safety_stock,
                r.reorder_point,
                r.position,
                r.suggested,
            ]
        )
    return response


def _draft_purchase_orders(request):
    """One draft purchase order per supplier from the selected suggestions, through purchase_order_create."""
    back = reverse("staff_replenishment") + ("?" + request.POST["query"] if request.POST.get("query") else "")
    if not request.user.has_perm("inventory.add_purchaseorder"):
        raise PermissionDenied
    variant_ids = [int(v) for v in request.POST.getlist("variant") if v.isdigit()]
    warehouse = Warehouse.objects.filter(pk=request.POST.get("warehouse") or 0, is_active=True).first()
    if not variant_ids:
        messages.warning(request, "Select the items to order first.")
        return HttpResponseRedirect(back)
    if warehouse is None:
        messages.error(request, "Choose the warehouse the purchase orders are for.")
        return HttpResponseRedirect(back)
    # Suggestions are recomputed now: the numbers on the page may be minutes old.
    rows = replenishment_rows(now=timezone.now(), variant_ids=variant_ids)
    groups, skipped = group_suggestions_by_supplier(rows)
    for reason in skipped:
        messages.warning(request, reason)
    suppliers = Supplier.objects.in_bulk(groups)
    skus = {r.variant_id: r.sku for r in rows}
    today = timezone.localdate()
    for supplier_id, lines in sorted(groups.items()):
        supplier = suppliers[supplier_id]
        reference = next_draft_reference(supplier_id, today)
        try:
            po = purchase_order_create(
                supplier_id=supplier_id,
                warehouse_id=warehouse.pk,
                reference=reference,
                lines=lines,
                expected_date=today + timedelta(days=supplier.lead_time_days),
                status=PurchaseOrderStatus.DRAFT,
                notes=f"Drafted from the replenishment report by {request.user.get_username()}.",
            )
        except StockError as exc:
            messages.error(request, f"{supplier.name}: {exc}")
            continue
        # The admin's history records who drafted it (a purchase order has no "created by" field).
        LogEntry.objects.log_actions(
            user_id=request.user.pk,
            queryset=[po],
            action_flag=ADDITION,
            change_message="Drafted from the replenishment report.",
            single_object=True,
        )
        url = reverse("admin:inventory_purchaseorder_change", args=[quote(po.pk)])
        items = ", ".join(f"{q} × {skus[v]}" for v, q in sorted(lines.items(), key=lambda i: skus[i[0]]))
        messages.success(
            request,
            format_html(
                'Draft <a href="{}">{}</a> for {}: {}. Review it, then mark it as ordered.',
                url,
                po.reference,
                supplier.name,
                items,
            ),
        )
    return HttpResponseRedirect(back)


def next_draft_reference(supplier_id: int, today) -> str:
    """The next free reference of a draft for this supplier today: RP-20260302-4-1, -2, ..."""
    prefix = f"RP-{today:%Y%m%d}-{supplier_id}-"
    taken = set(
        PurchaseOrder.objects.filter(reference__startswith=prefix).values_list("reference", flat=True)
    )
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"
