"""The backorder dashboard (/admin/dashboard/): its figure tiles and its three charts.

How much is waiting and for how long, what falls due, and the charts (backorder
age, units waiting per week, one item over the coming weeks), each followed by
its numbers as a table. The figures come from `inventory.console.reports`; the
page answers in a constant number of queries (docs/staff.md).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from shop.formatting import age_in_words, date_in_words, datetime_in_words, units
from shop.models import Variant

from .charts import Series, describe, svg_chart
from .page import console_page, url_with_query
from .permissions import can_change_stock, can_view_dashboard, can_view_stock
from .reports import (
    DUE_SOON_DAYS,
    AgeBucket,
    BackorderFigures,
    FillRate,
    PurchaseOrderFigures,
    VariantProjection,
    WeekPoint,
    backorder_figures,
    fill_rate,
    local_midnight,
    low_stock_variants,
    projection_variant_default,
    purchase_order_figures,
    units_waiting_by_week,
    variant_projection,
)
from .supplier_loop import supplier_loop_context
from .suppliers import suppliers_tile


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
    figures = dashboard_tiles(backorders=backorders, rate=rate, pos=pos, low_stock=low_stock)
    supplier_loop = supplier_loop_context(request, today=today)
    figures += supplier_loop["tiles"]  # the supplier loop's figures (inventory/console/supplier_loop.py)

    ages = backorders.age_buckets
    weeks = units_waiting_by_week(now=now, units_now=backorders.units)
    variant_id, sku = _chosen_variant(request)
    projection = variant_projection(variant_id=variant_id, today=today) if variant_id else None

    return console_page(
        request,
        "Backorder dashboard",
        "admin/staff/dashboard.html",
        {
            "figures": figures,
            "now": datetime_in_words(now),
            "ages": ages,
            "age_chart": _age_chart(ages),
            "weeks": weeks,
            "weeks_chart": _weeks_chart(weeks),
            "projection": projection,
            "projection_chart": _projection_chart(projection) if projection is not None else None,
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
            "suppliers_tile": suppliers_tile(),
            "supplier_loop": supplier_loop,
        },
    )


def dashboard_tiles(
    *, backorders: BackorderFigures, rate: FillRate, pos: PurchaseOrderFigures, low_stock: int
) -> list[dict]:
    """The figure tiles: label, value, a note and the admin list behind the figure (no queries)."""
    orders = "admin:orders_order_changelist"
    return [
        {
            "label": "Open backorder lines",
            "value": backorders.lines,
            "note": f"{units(backorders.units)} waiting for stock",
            "url": url_with_query(orders, backorders="yes"),
            "definition": "Order lines with units waiting for stock; the note adds up their units.",
        },
        {
            "label": "Customers waiting",
            "value": backorders.customers,
            "note": "distinct email addresses with units waiting",
            "url": url_with_query(orders, backorders="yes"),
            "definition": "Distinct email addresses of the orders with units waiting.",
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
            "definition": "Whole days since the oldest order with units still waiting was placed.",
        },
        {
            "label": "Overdue lines",
            "value": backorders.overdue_lines,
            "note": "still waiting after their expected date",
            "url": url_with_query(orders, overdue="yes"),
            "alert": backorders.overdue_lines > 0,
            "definition": "Waiting order lines whose expected date has passed.",
        },
        {
            "label": "Fill rate, last 30 days",
            "value": f"{rate.percent} %" if rate.percent is not None else "—",
            "note": (
                f"{rate.units_on_time} of {units(rate.units_promised)} on time"
                if rate.units_promised
                else "no promise fell due"
            ),
            "url": url_with_query(orders, placed_at__gte=local_midnight(rate.start).isoformat()),
            "definition": (
                "Units delivered on time ÷ units promised, for promises that fell due in the last 30 days "
                "(today included). Units in stock at checkout fall due the day the order was placed; "
                "backordered units on the date first promised at checkout, and count as on time when they "
                "shipped by that day. Cancelled units count against the rate."
            ),
        },
        {
            "label": f"Purchase orders due in the next {DUE_SOON_DAYS} days",
            "value": pos.due_soon,
            "note": f"expected from today to {date_in_words(pos.due_until, weekday=True)}",
            "url": url_with_query("admin:inventory_purchaseorder_changelist", due="week"),
            "definition": (
                f"Open purchase orders (ordered or partly received) expected today or in the "
                f"{DUE_SOON_DAYS - 1} days after."
            ),
        },
        {
            "label": "Overdue purchase orders",
            "value": pos.overdue,
            "note": "open, past their expected date",
            "url": url_with_query("admin:inventory_purchaseorder_changelist", due="overdue"),
            "alert": pos.overdue > 0,
            "definition": "Open purchase orders whose expected date has passed.",
        },
        {
            "label": "Low stock, not on order",
            "value": low_stock,
            "note": "at or below their threshold, even with what is on order",
            "url": url_with_query("admin:shop_variant_changelist", stock="low"),
            "definition": (
                "Active, not discontinued items whose free units plus the units still to arrive on open "
                "purchase orders, less the units customers wait for, are at or below their low-stock "
                "threshold: what to reorder. Items whose purchase orders cover them are left out."
            ),
        },
    ]


def _age_chart(ages: list[AgeBucket]) -> SafeString:
    """Chart 1: how long the waiting units have waited."""
    age_labels = [b.label for b in ages]
    return svg_chart(
        chart_id="chart-ages",
        title="Backorder age",
        desc="Units waiting, by time since the order was placed: "
        + describe([b.units for b in ages], age_labels, "units"),
        categories=age_labels,
        bars=[Series("Units waiting", [b.units for b in ages], "series-1")],
    )


def _weeks_chart(weeks: list[WeekPoint]) -> SafeString:
    """Chart 2: units waiting at the end of each of the last 12 weeks."""
    week_labels = [w.week_start.strftime("%-d %b") for w in weeks]
    return svg_chart(
        chart_id="chart-weeks",
        title="Units waiting per week",
        desc="Units waiting on backorder at the end of each week (weeks starting on the date shown; "
        "the last one is now): " + describe([w.units for w in weeks], week_labels, "units"),
        categories=week_labels,
        lines=[Series("Units waiting", [w.units for w in weeks], "series-2")],
    )


def _projection_chart(projection: VariantProjection) -> SafeString:
    """Chart 3: one variant over the coming weeks."""
    labels = [w.week_start.strftime("%-d %b") for w in projection.weeks]
    series = {
        "incoming": [w.incoming for w in projection.weeks],
        "on_hand": [w.on_hand for w in projection.weeks],
        "waiting": [w.waiting for w in projection.weeks],
    }
    return svg_chart(
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


def _chosen_variant(request) -> tuple[int | None, str]:
    """The variant asked for by ?sku=, else the one with the most units waiting."""
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
