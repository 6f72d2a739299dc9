"""A purchase order keeps the expected date it had when it was ordered (`promised_date_at_order`),
which supplier habits are measured against (inventory.selectors.suppliers, docs/inventory.md).

Existing orders get it from their date history: the old date of the first change made after
`ordered_at` (or `created_at` for an order made before `ordered_at` was recorded), else the
current expected date; an order that had no date then gets the first date given after it.
A change stamped at the very same instant as the ordering counts as made before it.
"""

from django.db import migrations, models


def fill(apps, schema_editor):
    PurchaseOrder = apps.get_model("inventory", "PurchaseOrder")
    PurchaseOrderDateChange = apps.get_model("inventory", "PurchaseOrderDateChange")
    using = schema_editor.connection.alias
    orders = list(PurchaseOrder.objects.using(using).exclude(status="draft"))
    changes: dict[int, list] = {}
    for change in (
        PurchaseOrderDateChange.objects.using(using)
        .filter(purchase_order__in=[po.pk for po in orders])
        .order_by("changed_at", "pk")
    ):
        changes.setdefault(change.purchase_order_id, []).append(change)
    for po in orders:
        since = po.ordered_at or po.created_at
        after = [c for c in changes.get(po.pk, []) if c.changed_at > since]
        promised = after[0].old_date if after else po.expected_date
        if promised is None:
            promised = next((c.new_date for c in after if c.new_date is not None), None)
        po.promised_date_at_order = promised
    PurchaseOrder.objects.using(using).bulk_update(orders, ["promised_date_at_order"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0012_customer_service_follows_card_payments"),
    ]

    operations = [
        migrations.AddField(
            model_name="purchaseorder",
            name="promised_date_at_order",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
