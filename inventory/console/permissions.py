"""Who may open which staff console page (docs/staff.md, "Roles"): predicates on the staff user."""


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


def can_set_priority(user) -> bool:
    """Marking orders as priority changes orders: the "change order" permission (customer service)."""
    return user.has_perm("orders.change_order")
