"""The admin index's sections in the order staff use them: orders and stock first (issue 16 item 9).

Django lists the apps alphabetically (Authentication, Inventory, Notifications, Orders, Shop, ...), which
puts orders and stock below the fold on a laptop. `staff_first` reorders the list the index already
has: no query, and apps or models it does not name keep Django's order after the ones it does.
"""

from django import template

register = template.Library()

# App labels first, in this order; then, inside an app, its busiest pages first (model object names).
APPS_FIRST = ("orders", "inventory")
MODELS_FIRST = {
    "orders": ("Order", "Shipment"),
    "inventory": ("StockItem", "PurchaseOrder", "StockMovement"),
}


def _rank(names: tuple[str, ...], name: str) -> int:
    return names.index(name) if name in names else len(names)


@register.filter
def staff_first(app_list: list[dict]) -> list[dict]:
    """The admin's app list with orders and stock first (each app's busiest models first too)."""
    # sorted() is stable: the apps it does not name keep Django's order.
    apps = sorted(app_list, key=lambda app: _rank(APPS_FIRST, app["app_label"]))
    ordered = []
    for app in apps:
        first = MODELS_FIRST.get(app["app_label"])
        if first:
            app = {**app, "models": sorted(app["models"], key=lambda m: _rank(first, m["object_name"]))}
        ordered.append(app)
    return ordered
