"""CSV import/export of the catalog with django-import-export: products, and variants with their prices.

Rows are matched by natural keys (a product's slug, a variant's SKU), so a file
exported here, edited in a spreadsheet and imported again updates the same
rows. Every row is validated (`full_clean`, which includes the database
constraints such as a price of at least 0). Files are imported in the
background (shop.catalog_import): a bad row is reported with its line number
and reason, and the other rows are written.
"""

import json
from decimal import InvalidOperation

from import_export import fields, resources, widgets
from import_export.instance_loaders import CachedInstanceLoader

from .models import Category, Product, Variant


class SlugWidget(widgets.ForeignKeyWidget):
    """A related row named by its slug; an unknown slug is a clear error on that row and column."""

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row=row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(f"No {self.model._meta.verbose_name} has the slug “{value}”.") from None


class OptionsWidget(widgets.JSONWidget):
    """A variant's options as JSON; empty means no options ({}), never null."""

    def clean(self, value, row=None, **kwargs):
        return super().clean(value, row=row, **kwargs) or {}

    def render(self, value, obj=None, **kwargs):
        return json.dumps(value or {})


class PriceWidget(widgets.DecimalWidget):
    """A price such as 24.50; anything else is a clear error on that row (not Python's decimal error)."""

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row=row, **kwargs)
        except (InvalidOperation, ValueError):
            raise ValueError(f"“{value}” is not a price (write it like 24.50).") from None


class ProductResource(resources.ModelResource):
    category = fields.Field(
        attribute="category", column_name="category", widget=SlugWidget(Category, field="slug")
    )

    class Meta:
        model = Product
        fields = ("slug", "name", "category", "description", "is_active", "is_featured", "tax_class")
        export_order = fields
        import_id_fields = ("slug",)
        instance_loader_class = CachedInstanceLoader  # one query for a file's (or chunk's) rows, not one each
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True


class VariantResource(resources.ModelResource):
    product = fields.Field(
        attribute="product", column_name="product", widget=SlugWidget(Product, field="slug")
    )
    option_values = fields.Field(
        attribute="option_values", column_name="option_values", widget=OptionsWidget()
    )
    price = fields.Field(attribute="price", column_name="price", widget=PriceWidget())

    class Meta:
        model = Variant
        fields = ("sku", "product", "option_values", "price", "is_active", "position")
        export_order = fields
        import_id_fields = ("sku",)
        instance_loader_class = CachedInstanceLoader
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def get_queryset(self):
        return Variant.objects.select_related("product").order_by("sku")
