"""Staff roles: the groups "Warehouse", "Customer service" and "Catalog" with only the permissions each
needs (docs/staff.md lists them and what each role can do).

Permissions are normally created after `migrate` (post_migrate), so on a fresh
database they do not exist yet: they are created here first for the apps in
the migration state. The lists are frozen in this file on purpose; a later
change of roles is a new migration. Staff still need "staff status" on their
user to open the admin.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def crud(model: str, *actions: str) -> list[str]:
    return [f"{action}_{model}" for action in (actions or ("view", "add", "change", "delete"))]


ROLES = {
    # Stock, receiving, shipping, purchase orders: adjusts and counts stock (and imports counts),
    # receives and drafts purchase orders, ships orders. Never cancels waiting units or refunds.
    "Warehouse": {
        "inventory": [
            "view_warehouse",
            *crud("stockitem", "view", "change"),
            "view_stockmovement",
            "view_backorderpolicy",
            *crud("supplier", "view", "add", "change"),
            *crud("purchaseorder"),
            *crud("purchaseorderline"),
            "view_purchaseorderdatechange",
        ],
        "orders": ["view_order", "view_orderline", *crud("shipment", "view", "add"), "view_shipmentline"],
        "shop": ["view_product", "view_variant"],
    },
    # Orders, cancellations, refunds, notifications: reads stock and purchase orders to answer
    # customers, never changes stock.
    "Customer service": {
        "orders": [
            *crud("order", "view", "change"),
            "view_orderline",
            "view_orderevent",
            *crud("payment", "view", "change"),
            "view_paymenttransaction",
            "view_shipment",
            "view_shipmentline",
            "view_cart",
            "view_cartline",
        ],
        "notifications": [
            *crud("notification", "view", "change"),
            *crud("backinstocksubscription", "view", "change"),
            "view_restockwave",
            "view_lowstockstate",
            *crud("emailpreference", "view", "change"),
        ],
        "inventory": [
            "view_stockitem",
            "view_backorderpolicy",
            "view_purchaseorder",
            "view_purchaseorderline",
        ],
        "shop": ["view_category", "view_product", "view_variant"],
    },
    # Products and prices (and how each variant may be sold on backorder).
    "Catalog": {
        "shop": [*crud("category"), *crud("product"), *crud("variant")],
        "inventory": crud("backorderpolicy"),
    },
}


def create_roles(apps, schema_editor):
    using = schema_editor.connection.alias
    for app_config in apps.get_app_configs():
        app_config.models_module = True  # the migration state's apps have none; create_permissions needs one
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, by_app in ROLES.items():
        permissions = []
        for app_label, codenames in by_app.items():
            found = list(
                Permission.objects.using(using).filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )
            missing = set(codenames) - {p.codename for p in found}
            if missing:
                raise RuntimeError(f"{name}: unknown permissions {app_label}.{sorted(missing)}")
            permissions += found
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(
        name__in=ROLES
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("inventory", "0004_allocationrequest"),
        ("orders", "0002_cart_cartline_orderevent_payment_paymenttransaction_and_more"),
        ("notifications", "0002_subscriptions_waves_low_stock"),
        ("shop", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
