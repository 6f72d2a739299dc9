"""The backorder queues (/admin/inventory/stockitem/queue/…): who waits for a variant, in the order
arriving stock serves them, and the two things staff do from there.

- `queue_list_view`: the variants customers are waiting for, longest wait first;
- `queue_view`: one variant's waiting order lines in service order, each with its projected date;
- `queue_priority_view` (POST): mark or unmark orders of that queue as priority (orders.services);
- `queue_allocate_view` (POST): ask for an allocation pass of that variant (inventory.services).

Routed by `StockItemAdmin.get_urls` (inventory/admin/stock.py) under the stock item's URL names
(`admin:inventory_stockitem_queue…`), inside the admin's login and look: the queues are a view of
stock, and the stock item list and policy pages link here (`backorder_queue_link`). The pages read
through `inventory.selectors` and write only through the services.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode

from inventory.models import StockItem
from inventory.selectors import (
    NextDelivery,
    QueueSource,
    backorder_queue_page,
    backorder_queue_variants,
    next_deliveries,
)
from inventory.services import allocation_request_add
from orders.models import Order, OrderLine, ShipPolicy
from orders.services import order_set_priority
from shop.formatting import age_in_words, date_in_words, date_range_in_words, units
from shop.models import Variant

from .page import restock_urls
from .permissions import can_change_stock, can_set_priority, can_view_stock

QUEUE_PAGE_SIZE = 500
QUEUE_VARIANTS_PAGE_SIZE = 100


def backorder_queue_link(variant_id: int, waiting: int) -> str:
    """'5 units waiting', linked to the variant's queue; 'Nobody waiting' (admin list columns)."""
    if not waiting:
        return "Nobody waiting"
    url = reverse("admin:inventory_stockitem_queue_variant", args=[variant_id])
    return format_html('<a href="{}">{} waiting</a>', url, units(waiting))


def _queue_context(request, title: str) -> dict:
    """The admin's page context, under the stock items (breadcrumbs); refused unless the user may see stock."""
    if not can_view_stock(request.user):
        raise PermissionDenied
    return {
        **admin.site.each_context(request),
        "opts": StockItem._meta,
        "title": title,
        "queue_list_url": reverse("admin:inventory_stockitem_queue"),
    }


def _page_number(request) -> int:
    try:
        return max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        return 1


def queue_list_view(request):
    """Variants that customers are waiting for, longest wait first."""
    context = _queue_context(request, "Backorder queues")
    search = request.GET.get("q", "").strip()
    paginator = Paginator(backorder_queue_variants(search=search), QUEUE_VARIANTS_PAGE_SIZE)
    page = paginator.get_page(_page_number(request))
    today = timezone.localdate()
    variants = list(page.object_list)
    deliveries = next_deliveries(variant_ids=[v.pk for v in variants], today=today)
    rows = [
        {
            "url": reverse("admin:inventory_stockitem_queue_variant", args=[variant.pk]),
            "sku": variant.sku,
            "name": str(variant),
            "units_waiting": variant.backorders_waiting,
            "lines": variant.queue_lines,
            "priority_lines": variant.queue_priority_lines,
            "oldest_wait": age_in_words((today - timezone.localdate(variant.queue_oldest_placed_at)).days),
            "oldest_placed": date_in_words(timezone.localdate(variant.queue_oldest_placed_at)),
            "free_stock": variant.stock_free,
            "next_delivery": _next_delivery(deliveries.get(variant.pk), today),
        }
        for variant in variants
    ]
    context.update({"rows": rows, "page": page, "search": search})
    return TemplateResponse(request, "admin/inventory/backorder_queue_list.html", context)


def _next_delivery(delivery: NextDelivery | None, today) -> dict | None:
    """The queue list's "Next delivery" cell: when, which purchase order (linked) and how many units."""
    if delivery is None:
        return None
    if delivery.promised_date is None:
        when, note = "No date yet", "the supplier has not given one"
    else:
        days = (delivery.promised_date - today).days
        when = date_in_words(delivery.promised_date, weekday=True)
        note = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        if delivery.overdue:
            note += f"; overdue, expected {date_in_words(delivery.expected_date)}"
    return {
        "when": when,
        "note": note,
        "reference": delivery.reference,
        "url": reverse("admin:inventory_purchaseorder_change", args=[delivery.purchase_order_id]),
        "units": units(delivery.quantity),
    }


def queue_view(request, variant_id: int):
    """One variant's waiting order lines in service order, with the date each is projected to ship."""
    context = _queue_context(request, "Backorder queue")
    variant = Variant.objects.select_related("product", "backorder_policy").filter(pk=variant_id).first()
    if variant is None:
        raise Http404("No such variant.")
    number = _page_number(request)
    queue = backorder_queue_page(
        variant_id=variant.pk, offset=(number - 1) * QUEUE_PAGE_SIZE, limit=QUEUE_PAGE_SIZE
    )
    pages = max(-(-queue.total_lines // QUEUE_PAGE_SIZE), 1)
    if number > pages:
        return HttpResponseRedirect(f"{request.path}?page={pages}")
    a = queue.availability
    policy = getattr(variant, "backorder_policy", None)
    context.update(
        {
            "title": f"Backorder queue: {variant.sku}",
            "variant": variant,
            "queue": queue,
            "rows": [_queue_row(entry, a) for entry in queue.entries],
            "units_waiting": a.waiting_backorders,
            "free_stock": a.free_stock,
            "lead_time_days": a.lead_time_days,
            "incoming": [
                {
                    "reference": inc.reference,
                    "url": reverse("admin:inventory_purchaseorder_change", args=[inc.purchase_order_id]),
                    "units": units(inc.quantity),
                    "date": date_in_words(inc.promised_date, weekday=True),
                    "overdue_since": (date_in_words(inc.expected_date) if inc.overdue else ""),
                }
                for inc in queue.incoming
            ],
            "policy_url": (
                reverse("admin:inventory_backorderpolicy_change", args=[policy.pk]) if policy else ""
            ),
            "stock_url": reverse("admin:inventory_stockitem_changelist")
            + "?"
            + urlencode({"q": variant.sku}),
            "page_number": number,
            "pages": pages,
            "previous_page": number - 1 if number > 1 else None,
            "next_page": number + 1 if number < pages else None,
            "can_set_priority": can_set_priority(request.user),
            "can_run_allocation": can_change_stock(request.user),
            "restock": restock_urls(variant.pk) if can_change_stock(request.user) else None,
            "priority_url": reverse("admin:inventory_stockitem_queue_priority", args=[variant.pk]),
            "allocate_url": reverse("admin:inventory_stockitem_queue_allocate", args=[variant.pk]),
        }
    )
    return TemplateResponse(request, "admin/inventory/backorder_queue.html", context)


def _queue_row(entry, availability) -> dict:
    if entry.source == QueueSource.STOCK:
        basis = "in stock now: served by the next allocation pass"
    elif entry.source == QueueSource.LEAD_TIME:
        basis = f"no purchase order covers it yet: lead-time estimate ({availability.lead_time_days} days)"
    elif entry.purchase_order_overdue:
        basis = (
            f"{entry.purchase_order_reference} is overdue (expected "
            f"{date_in_words(entry.purchase_order_expected_date)}): counted on "
            f"at least {availability.overdue_grace_days} shipping days from today"
        )
    else:
        basis = ""
    return {
        "entry": entry,
        "order_url": reverse("admin:orders_order_change", args=[quote(entry.order_id)]),
        "age": age_in_words(entry.age_days),
        "placed": date_in_words(timezone.localdate(entry.placed_at)),
        "policy": "Together" if entry.ship_policy == ShipPolicy.TOGETHER else "Split",
        # The range the customer is shown (docs/dates.md); its confident end is the date promised.
        "projected": date_range_in_words(
            entry.projected_range.earliest if entry.projected_range else None, entry.projected_date
        ),
        "basis": basis,
        "stored": date_in_words(entry.expected_date, weekday=True) if entry.expected_date else "—",
        "stored_differs": entry.expected_date != entry.projected_date,
        "po_url": (
            reverse("admin:inventory_purchaseorder_change", args=[entry.purchase_order_id])
            if entry.purchase_order_id
            else ""
        ),
    }


def _queue_redirect(request, variant_id: int) -> HttpResponseRedirect:
    url = reverse("admin:inventory_stockitem_queue_variant", args=[variant_id])
    page = request.POST.get("page", "")
    return HttpResponseRedirect(f"{url}?page={page}" if page.isdigit() and page != "1" else url)


def queue_priority_view(request, variant_id: int):
    """Mark or unmark the selected orders of this queue as priority (orders.services)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not (can_view_stock(request.user) and can_set_priority(request.user)):
        raise PermissionDenied
    is_priority = {"mark": True, "remove": False}.get(request.POST.get("priority", ""))
    ids = [int(v) for v in request.POST.getlist("order") if v.isdigit()]
    # Only orders that wait in this queue: the page offered nothing else.
    waiting_here = OrderLine.objects.waiting().filter(order=OuterRef("pk"), variant_id=variant_id)
    orders = Order.objects.filter(Exists(waiting_here), pk__in=ids).order_by("pk").values_list("pk", "number")
    if is_priority is None:
        messages.error(request, "Choose “Mark as priority” or “Remove priority”.")
        return _queue_redirect(request, variant_id)
    if not orders:
        messages.warning(request, "Select the orders to change first.")
    for pk, number in orders:
        if order_set_priority(order_id=pk, is_priority=is_priority, user_id=request.user.pk):
            text = "is now a priority order" if is_priority else "is no longer a priority order"
            messages.success(request, f"{number} {text}.")
        else:
            text = "was already a priority order" if is_priority else "was not a priority order"
            messages.info(request, f"{number} {text}.")
    return _queue_redirect(request, variant_id)


def queue_allocate_view(request, variant_id: int):
    """Ask for an auto-allocation pass of this variant now; a worker serves it after commit."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not (can_view_stock(request.user) and can_change_stock(request.user)):
        raise PermissionDenied
    sku = Variant.objects.filter(pk=variant_id).values_list("sku", flat=True).first()
    if sku is None:
        raise Http404("No such variant.")
    allocation_request_add(variant_ids=[variant_id])
    messages.success(
        request,
        f"Allocation of {sku} is queued: free stock goes to the waiting orders in queue order as soon "
        "as a worker runs it. Reload this page in a moment to see the result.",
    )
    return _queue_redirect(request, variant_id)
