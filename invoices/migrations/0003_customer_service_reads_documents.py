"""Customer service answers customers about their invoices and credit notes: give the role view access to
the Documents admin (list, page, PDF), as inventory/0005's roles are extended (docs/staff.md). Documents
are issued by the shop, never added or changed by staff, so view is all there is."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_document"]


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    for app_config in apps.get_app_configs():
        app_config.models_module = True  # permissions may not exist yet on a fresh database
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.using(using).filter(content_type__app_label="invoices", codename__in=CODENAMES)
    )
    if len(permissions) != len(CODENAMES):
        raise RuntimeError(f"missing permissions among {CODENAMES}")
    group, _ = Group.objects.using(using).get_or_create(name="Customer service")
    group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    using = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.using(using).filter(name="Customer service").first()
    if group:
        group.permissions.remove(
            *Permission.objects.using(using).filter(
                content_type__app_label="invoices", codename__in=CODENAMES
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0002_payable_rounded"),
        ("inventory", "0015_supplier_answers"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
