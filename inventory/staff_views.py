"""Staff console pages inside the Django admin: the backorder dashboard, the replenishment
report and the stock-count import. Routed in config/urls.py under /admin/ and wrapped in
`admin.site.admin_view` (staff login, CSRF, no caching).

The views read `inventory.reports` and write only through `inventory.services`
(and `inventory.imports`, which calls them). The pages carry a strict
Content-Security-Policy: no script, no inline style; charts are inline SVG
styled from static/css/staff_console.css.
"""

import csv
from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .admin import age_in_words, date_in_words, datetime_in_words, units
from .charts import Series, describe, svg_chart
from .imports import StockCountFileError, stock_count_import
from .models import PurchaseOrder, PurchaseOrderStatus, StockItem, Supplier, Warehouse
from .reports import (
    backorder_figures,
    fill_rate,
    group_suggestions_by_supplier,
    local_midnight,
    low_stock_variants,
    projection_variant_default,
    purchase_order_figures,
    replenishment_rows,
    replenishment_settings,
    replenishment_sort,
    units_waiting_by_week,
    variant_projection,
)
from .services import StockError, purchase_order_create

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def can_view_dashboard(user) -> bool:
    """Anyone who may see stock or orders: warehouse and customer-service staff."""
    return (
        user.is_active
        and user.is_staff
        and any(
            user.has_perm(p)
            for p in (
                "inventory.view_stockitem",
                "inventory.change_stockitem",
                "orders.view_order",
                "orders.change_order",
            )
        )
    )


def can_view_stock(user) -> bool:
    return user.is_active and (
        user.has_perm("inventory.view_stockitem") or user.has_perm("inventory.change_stockitem")
    )


def can_change_stock(user) -> bool:
    return user.is_active and user.has_perm("inventory.change_stockitem")


def _page(request, title: str, template: str, context: dict) -> TemplateResponse:
    response = TemplateResponse(
        request, template, {**admin.site.each_context(request), "title": title, **context}
    )
    response["Content-Security-Policy"] = CSP
    return response


def _url(name: str, **params) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(params)}" if params else url


# --- the dashboard ------------------------------------------------------------------------------


def dashboard_view(request):
    """How much is waiting and for how long, what falls due, and three charts. Constant queries."""
    if not can_view_dashboard(request.user):
        raise PermissionDenied
    now = timezone.now()
    today = timezone.localdate(now)
    backorders = backorder_figures(today=today)
    rate = fill_rate(today=today)
    pos = purchase_order_figures(today=today)
    low_stock = low_stock_variants().count()

    orders = "admin:orders_order_changelist"
    figures = [
        {
            "label": "Open backorder lines",
            "value": backorders.lines,
            "note": f"{units(backorders.units)} waiting for stock",
            "url": _url(orders, backorders="yes"),
        },
        {
            "label": "Customers waiting",
            "value": backorders.customers,
            "note": "distinct email addresses with units waiting",
            "url": _url(orders, backorders="yes"),
        },
        {
            "label": "Oldest wait",
            "value": age_in_words(backorders.oldest_wait_days) if backorders.oldest_placed_at else "—",
            "note": (
                f"since {date_in_words(timezone.localdate(backorders.oldest_placed_at))}"
                if backorders.oldest_placed_at
                else "nobody is waiting"
            ),
            "url": reverse("admin:inventory_stockitem_queue"),
        },
        {
            "label": "Overdue lines",
            "value": backorders.overdue_lines,
            "note": "still waiting after their expected date",
            "url": _url(orders, overdue="yes"),
            "alert": backorders.overdue_lines > 0,
        },
        {
            "label": "Fill rate, last 30 days",
            "value": f"{rate.percent} %" if rate.percent is not None else "—",
            "note": (
                f"{rate.units_on_time} of {units(rate.units_promised)} on time"
                if rate.units_promised
                else "no promise fell due"
            ),
            "url": _url(orders, placed_at__gte=local_midnight(rate.start).isoformat()),
        },
        {
            "label": "Purchase orders due this week",
            "value": pos.due_this_week,
            "note": f"expected from today to {date_in_words(pos.week_end)}",
            "url": _url("admin:inventory_purchaseorder_changelist", due="week"),
        },
        {
            "label": "Overdue purchase orders",
            "value": pos.overdue,
            "note": "open, past their expected date",
            "url": _url("admin:inventory_purchaseorder_changelist", due="overdue"),
            "alert": pos.overdue > 0,
        },
        {
            "label": "Low-stock variants",
            "value": low_stock,
            "note": "sellable units at or below their threshold",
            "url": _url("admin:shop_variant_changelist", stock="low"),
        },
    ]

    # Chart 1: how long the waiting units have waited.
    ages = backorders.age_buckets
    age_labels = [b.label for b in ages]
    age_chart = svg_chart(
        chart_id="chart-ages",
        title="Backorder age",
        desc="Units waiting, by time since the order was placed: "
        + describe([b.units for b in ages], age_labels, "units"),
        categories=age_labels,
        bars=[Series("Units waiting", [b.units for b in ages], "series-1")],
    )

    # Chart 2: units waiting at the end of each of the last 12 weeks.
    weeks = units_waiting_by_week(now=now, units_now=backorders.units)
    week_labels = [w.week_start.strftime("%-d %b") for w in weeks]
    weeks_chart = svg_chart(
        chart_id="chart-weeks",
        title="Units waiting per week",
        desc="Units waiting on backorder at the end of each week (weeks starting on the date shown; "
        "the last one is now): " + describe([w.units for w in weeks], week_labels, "units"),
        categories=week_labels,
        lines=[Series("Units waiting", [w.units for w in weeks], "series-2")],
    )

    # Chart 3: one variant over the coming weeks.
    variant_id, sku = _chosen_variant(request)
    projection = variant_projection(variant_id=variant_id, today=today) if variant_id else None
    projection_chart = None
    if projection is not None:
        labels = [w.week_start.strftime("%-d %b") for w in projection.weeks]
        series = {
            "incoming": [w.incoming for w in projection.weeks],
            "on_hand": [w.on_hand for w in projection.weeks],
            "waiting": [w.waiting for w in projection.weeks],
        }
        projection_chart = svg_chart(
            chart_id="chart-projection",
            title=f"Projection for {projection.variant.sku}",
            desc=f"{projection.variant}: incoming units per week: "
            + describe(series["incoming"], labels, "units")
            + " On hand at the end of each week: "
            + describe(series["on_hand"], labels, "units")
            + " Backorders still waiting: "
            + describe(series["waiting"], labels, "units"),
            categories=labels,
            bars=[Series("Incoming", series["incoming"], "series-3")],
            lines=[
                Series("On hand", series["on_hand"], "series-1"),
                Series("Waiting", series["waiting"], "series-4"),
            ],
        )

    return _page(
        request,
        "Backorder dashboard",
        "admin/staff/dashboard.html",
        {
            "figures": figures,
            "now": datetime_in_words(now),
            "ages": ages,
            "age_chart": age_chart,
            "weeks": weeks,
            "weeks_chart": weeks_chart,
            "projection": projection,
            "projection_chart": projection_chart,
            "projection_sku": sku,
            "queue_url": (
                reverse("admin:inventory_stockitem_queue_variant", args=[projection.variant.pk])
                if projection
                else ""
            ),
            "replenishment_url": reverse("staff_replenishment"),
            "import_url": reverse("staff_stock_count_import"),
            "can_change_stock": can_change_stock(request.user),
            "can_view_stock": can_view_stock(request.user),
        },
    )


def _chosen_variant(request) -> tuple[int | None, str]:
    """The variant asked for by ?sku=, else the one with the most units waiting."""
    from shop.models import Variant

    sku = request.GET.get("sku", "").strip()
    if sku:
        found = Variant.objects.filter(sku__iexact=sku).values_list("pk", flat=True).first()
        if found is None:
            messages.warning(
                request, f"No item has the SKU “{sku}”; showing the one with most units waiting."
            )
        else:
            return found, sku
    return projection_variant_default(), sku


# --- replenishment ------------------------------------------------------------------------------

COLUMNS = [
    # (sort key, heading)
    ("sku", "SKU"),
    ("supplier", "Supplier"),
    ("on_hand", "On hand"),
    ("allocated", "Allocated"),
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
    return _page(
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
        reference = _next_reference(supplier_id, today)
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


def _next_reference(supplier_id: int, today) -> str:
    prefix = f"RP-{today:%Y%m%d}-{supplier_id}-"
    taken = set(
        PurchaseOrder.objects.filter(reference__startswith=prefix).values_list("reference", flat=True)
    )
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


# --- the stock-count import ---------------------------------------------------------------------


class StockCountImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns sku, warehouse (its code) and counted; other columns are ignored. "
        "The stock export has this shape.",
    )
    dry_run = forms.BooleanField(
        required=False, initial=True, label="Dry run: check and preview, change nothing"
    )
    note = forms.CharField(required=False, max_length=200, help_text="Recorded on each ledger movement.")


def stock_count_import_view(request):
    """Upload a stock-count CSV: check, preview (dry run) or import through the inventory services."""
    if not can_change_stock(request.user):
        raise PermissionDenied
    result, file_error = None, None
    form = StockCountImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = stock_count_import(
                source=upload.file,
                user_id=request.user.pk,
                dry_run=form.cleaned_data["dry_run"],
                note=form.cleaned_data["note"] or f"stock count import: {upload.name}"[:255],
            )
        except StockCountFileError as exc:
            file_error = str(exc)
        else:
            if result.applied:
                messages.success(
                    request,
                    f"Imported {upload.name}: {result.changed} stock levels changed "
                    f"(+{result.units_added} / −{result.units_removed} units), {result.unchanged} already right. "
                    "Waiting backorders are being allocated from the new stock.",
                )
                return HttpResponseRedirect(
                    reverse("admin:inventory_stockmovement_changelist") + "?reason__exact=counted"
                )
    return _page(
        request,
        "Import stock counts",
        "admin/staff/stock_count_import.html",
        {
            "form": form,
            "result": result,
            "file_error": file_error,
            "stock_url": reverse("admin:inventory_stockitem_changelist"),
            "export_url": reverse("admin:inventory_stockitem_export"),
            "opts": StockItem._meta,
        },
    )
