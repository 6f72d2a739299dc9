"""Product picture galleries: ProductImage (more pictures of a product, after its main one).

Thumbnails are not in the database (shop/media/thumbnails.py): the help text of Product.image is the
only change to an existing table.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0003_search_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="product",
            name="image",
            field=models.ImageField(
                blank=True,
                help_text="The main picture: on listing cards, and first on its page.",
                upload_to="products/",
            ),
        ),
        migrations.CreateModel(
            name="ProductImage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("image", models.ImageField(upload_to="products/")),
                (
                    "alt_text",
                    models.CharField(
                        blank=True,
                        help_text="What the picture shows, for those who cannot see it; empty: the product's name.",
                        max_length=200,
                    ),
                ),
                (
                    "position",
                    models.PositiveIntegerField(default=0, help_text="Lower numbers are shown first."),
                ),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="images", to="shop.product"
                    ),
                ),
            ],
            options={
                "ordering": ["product_id", "position", "pk"],
            },
        ),
    ]
