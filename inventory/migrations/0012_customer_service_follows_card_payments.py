"""Customer service follows card payments that failed (orders/0008, the grace flow): give the role view
and change access to card charges (docs/staff.md, docs/payments.md). Change is what "Send the payment
link again" needs."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_cardcharge", "change_cardcharge"]


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    for app_config in apps.get_app_configs():
        app_config.models_module = True  # see 0005: permissions may not exist yet on a fresh database
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.using(using).filter(content_type__app_label="orders", codename__in=CODENAMES)
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
            *Permission.objects.using(using).filter(content_type__app_label="orders", codename__in=CODENAMES)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0011_payment_plans"),
        ("orders", "0009_payment_plans"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
