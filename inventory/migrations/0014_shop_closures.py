"""Staff closures (inventory/calendar_models.py): days nothing ships, beyond weekends and public holidays.
The Warehouse role manages them (docs/staff.md); superusers too."""

from django.contrib.auth.management import create_permissions
from django.db import migrations, models

CODENAMES = ["view_shopclosure", "add_shopclosure", "change_shopclosure", "delete_shopclosure"]


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    for app_config in apps.get_app_configs():
        app_config.models_module = True  # see 0005: permissions may not exist yet on a fresh database
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.using(using).filter(content_type__app_label="inventory", codename__in=CODENAMES)
    )
    if len(permissions) != len(CODENAMES):
        raise RuntimeError(f"missing permissions among {CODENAMES}")
    group, _ = Group.objects.using(using).get_or_create(name="Warehouse")
    group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    using = schema_editor.connection.alias
    group = apps.get_model("auth", "Group").objects.using(using).filter(name="Warehouse").first()
    if group:
        Permission = apps.get_model("auth", "Permission")
        group.permissions.remove(
            *Permission.objects.using(using).filter(
                content_type__app_label="inventory", codename__in=CODENAMES
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0013_purchase_order_promised_date_at_order"),
    ]

    operations = [
        migrations.CreateModel(
            name="ShopClosure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("starts_on", models.DateField(help_text="First day closed.")),
                (
                    "ends_on",
                    models.DateField(help_text="Last day closed (the same day for a one-day closure)."),
                ),
                (
                    "reason",
                    models.CharField(
                        help_text="Shown to staff only, e.g. 'Warehouse stocktake'.", max_length=200
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["-starts_on", "pk"],
                "indexes": [models.Index(fields=["ends_on"], name="shopclosure_ends_on")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("ends_on__gte", models.F("starts_on"))),
                        name="shopclosure_ends_after_start",
                    )
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
