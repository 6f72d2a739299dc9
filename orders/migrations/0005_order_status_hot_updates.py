"""Order status changes become in-place ("HOT") updates on PostgreSQL.

An UPDATE that changes no indexed column and finds room on the row's page
writes no index entries at all. The status index is dropped (staff lists
filtered by status walk the placed_at index instead), and the orders table
keeps half of each page free, so every row of a page can be rewritten there
at least once; PostgreSQL prunes the old versions when it next reads the page.
The cost is disk space: the orders table takes about twice the pages.
"""

from django.db import migrations

FILLFACTOR = 50


def _set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE orders_order SET (fillfactor = {FILLFACTOR})")


def _reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE orders_order RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_leaner_indexes")]

    operations = [
        migrations.RemoveIndex(model_name="order", name="orders_orde_status_883c98_idx"),
        migrations.RunPython(_set_fillfactor, _reset_fillfactor, elidable=False),
    ]
