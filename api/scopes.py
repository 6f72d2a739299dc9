"""What an integration may do: the API's scopes, and the admin permissions a staff session needs instead.

An API key carries a list of scopes. A staff member signed in to the admin uses the same endpoints with
the permissions the admin would ask of them (docs/staff.md "Roles"): reading needs the model's view
(or change) permission, writing its change permission. One table, read by the permission class
(api.permissions) and by the docs test that lists it in docs/api.md.
"""

from dataclasses import dataclass

CATALOG_READ = "catalog:read"
STOCK_WRITE = "stock:write"
PURCHASING = "purchasing"
ORDERS = "orders"


@dataclass(frozen=True)
class Scope:
    name: str
    label: str
    # A staff session passes a read if it has any of `staff_read`, a write if it has all of `staff_write`.
    staff_read: tuple[str, ...]
    staff_write: tuple[str, ...]


SCOPES: dict[str, Scope] = {
    s.name: s
    for s in (
        Scope(
            CATALOG_READ,
            "Read the catalog, availability, stock per warehouse and the stock ledger",
            staff_read=("inventory.view_stockitem", "inventory.change_stockitem"),
            staff_write=(),
        ),
        Scope(
            STOCK_WRITE,
            "Adjust and count stock",
            staff_read=("inventory.view_stockitem", "inventory.change_stockitem"),
            staff_write=("inventory.change_stockitem",),
        ),
        Scope(
            PURCHASING,
            "Read and drive purchase orders: create, mark ordered, move the date, receive",
            staff_read=("inventory.view_purchaseorder", "inventory.change_purchaseorder"),
            staff_write=("inventory.change_purchaseorder",),
        ),
        Scope(
            ORDERS,
            "Read orders and backorder queues; ship, cancel waiting units, set priority",
            staff_read=("orders.view_order", "orders.change_order"),
            staff_write=("orders.change_order",),
        ),
    )
}

SCOPE_CHOICES = [(s.name, f"{s.name}: {s.label}") for s in SCOPES.values()]
