"""Catalog search on PostgreSQL (shop/search.py): the pg_trgm extension and three GIN indexes.

- `shop_product_search_vector`: the weighted full-text document of a product (name A, description C,
  `english`), the same expression shop.search builds in its queries, so the planner uses it;
- `shop_product_name_trgm`: trigrams of the name, for `%>` (word similarity: typos);
- `shop_variant_sku_trgm`: trigrams of the upper-cased SKU, for `UPPER(sku) LIKE UPPER('%...%')`
  (Django's `icontains`) and the exact SKU match (`iexact`).

Built CONCURRENTLY (hence `atomic = False`), so a live shop keeps selling while they build (about
20 s for 100,000 products). On any other database every operation here does nothing: SQLite keeps
its `icontains` search. The indexes change nothing in the models' state.

Also the catalog import's job and line tables (shop/catalog_import/models.py), created here so that
the later shop migrations (0004, from a parallel branch) follow one line of history.
"""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import TrigramExtension
from django.contrib.postgres.search import SearchVector
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import Upper


def _indexes():
    """(model name, index) pairs, frozen here: a later change of shop/search.py needs a new migration."""
    document = SearchVector("name", weight="A", config="english") + SearchVector(
        "description", weight="C", config="english"
    )
    return [
        ("product", GinIndex(document, name="shop_product_search_vector")),
        ("product", GinIndex(OpClass("name", name="gin_trgm_ops"), name="shop_product_name_trgm")),
        ("variant", GinIndex(OpClass(Upper("sku"), name="gin_trgm_ops"), name="shop_variant_sku_trgm")),
    ]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name, index in _indexes():
        schema_editor.add_index(apps.get_model("shop", model_name), index, concurrently=True)


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name, index in _indexes():
        schema_editor.remove_index(apps.get_model("shop", model_name), index, concurrently=True)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("shop", "0002_submissionkey"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        TrigramExtension(),  # CREATE EXTENSION IF NOT EXISTS pg_trgm; a no-op off PostgreSQL
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
        migrations.CreateModel(
            name="CatalogImport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("products", "Products"), ("variants", "Variants and prices")], max_length=20
                    ),
                ),
                ("file", models.FileField(upload_to="imports/catalog/%Y/%m/")),
                (
                    "file_name",
                    models.CharField(help_text="The name of the file as uploaded.", max_length=255),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Waiting for a worker"),
                            ("running", "Importing"),
                            ("done", "Done"),
                            ("failed", "Stopped"),
                        ],
                        default="queued",
                        max_length=20,
                    ),
                ),
                ("message", models.TextField(blank=True, help_text="Why the import stopped, when it did.")),
                (
                    "total_rows",
                    models.PositiveIntegerField(blank=True, help_text="Counted at upload.", null=True),
                ),
                ("rows_done", models.PositiveIntegerField(default=0)),
                ("chunks_done", models.PositiveIntegerField(default=0)),
                ("created_count", models.PositiveIntegerField(default=0)),
                ("updated_count", models.PositiveIntegerField(default=0)),
                ("unchanged_count", models.PositiveIntegerField(default=0)),
                ("failed_count", models.PositiveIntegerField(default=0)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "catalog import",
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="CatalogImportLine",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "line",
                    models.PositiveIntegerField(help_text="The line of the file (the header is line 1)."),
                ),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("created", "Created"),
                            ("updated", "Updated"),
                            ("unchanged", "Unchanged"),
                            ("failed", "Failed"),
                        ],
                        max_length=20,
                    ),
                ),
                ("key", models.CharField(blank=True, help_text="The row's slug or SKU.", max_length=255)),
                ("reason", models.TextField(blank=True)),
                (
                    "job",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="shop.catalogimport",
                    ),
                ),
            ],
            options={
                "ordering": ["job", "line"],
                "indexes": [
                    models.Index(fields=["job", "outcome", "line"], name="shop_catimportline_outcome")
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("job", "line"), name="shop_catalogimportline_once")
                ],
            },
        ),
    ]
