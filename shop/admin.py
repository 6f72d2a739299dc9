"""Staff admin for the catalog.

Products and variants (with their prices) can be exported as CSV (shop/resources.py) and imported
from CSV in the background (shop.catalog_import: a worker imports the file, the import's page shows
its progress and what each line did). The lists' "Import" is that upload page.
"""

from django.contrib import admin
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.db.models import Case, Count, Exists, IntegerField, Min, OuterRef, Value, When
from django.urls import path, reverse
from django.utils.html import format_html
from import_export.admin import ExportMixin

from inventory.admin.policy import BackorderPolicyInline
from inventory.console.reports import low_stock_variants

from .catalog_import.admin import importable_kinds  # also registers the imports' admin
from .catalog_import.models import CatalogImport, CatalogImportKind
from .formatting import datetime_in_words
from .models import Category, Product, ProductImage, Variant, WorkerHeartbeat
from .resources import ProductResource, VariantResource


class CatalogImportLinkMixin:
    """The "Import" of the product and variant lists: the background import's upload page (its URL
    keeps the name django-import-export gave it, `admin:shop_<model>_import`), for this kind of file."""

    import_kind: str

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_import"
        return [path("import/", self.admin_site.admin_view(self.import_view), name=name), *super().get_urls()]

    def import_view(self, request):
        return self.admin_site._registry[CatalogImport].upload_view(request, kind=self.import_kind)

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        if self.import_kind in importable_kinds(request.user):
            extra_context["catalog_import_url"] = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_import"
            )
        return super().changelist_view(request, extra_context)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "position", "is_active", "product_count"]
    list_filter = ["is_active", "parent"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    ordering = ["position", "name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_product_count=Count("products"))

    @admin.display(description="Products", ordering="_product_count")
    def product_count(self, obj: Category) -> int:
        return obj._product_count


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 1
    fields = ["sku", "option_values", "price", "is_active", "position"]


class ProductImageInline(admin.TabularInline):
    """More pictures of the product, shown on its page after the main one, lowest position first."""

    model = ProductImage
    extra = 1
    fields = ["preview", "image", "alt_text", "position"]
    readonly_fields = ["preview"]

    @admin.display(description="Picture")
    def preview(self, obj: ProductImage) -> str:
        if not obj.pk or not obj.image:
            return "—"
        return format_html('<img src="{}" alt="" width="60" height="60">', obj.strip_thumbnail.url)


@admin.register(Product)
class ProductAdmin(CatalogImportLinkMixin, ExportMixin, admin.ModelAdmin):
    import_kind = CatalogImportKind.PRODUCTS
    resource_classes = [ProductResource]
    change_list_template = "admin/shop/catalog_change_list.html"
    list_display = ["name", "category", "is_active", "is_featured", "variant_count", "from_price", "created"]
    list_filter = ["is_active", "is_featured", "tax_class", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "slug", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["category", "substitutes"]
    date_hierarchy = "created_at"
    inlines = [VariantInline, ProductImageInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_variant_count=Count("variants"), _from_price=Min("variants__price"))
        )

    @admin.display(description="Variants", ordering="_variant_count")
    def variant_count(self, obj: Product) -> int:
        return obj._variant_count

    @admin.display(description="From", ordering="_from_price")
    def from_price(self, obj: Product):
        return obj._from_price

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: Product) -> str:
        return datetime_in_words(obj.created_at)


class StockLevelFilter(admin.SimpleListFilter):
    """Variants at or below their low-stock threshold even with what is on order (the dashboard links here)."""

    title = "stock"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [("low", "Low, not on order (at or below the threshold)")]

    def queryset(self, request, queryset):
        if self.value() == "low":
            return queryset.filter(Exists(low_stock_variants().filter(pk=OuterRef("pk"))))
        return None


class VariantAutocompleteView(AutocompleteJsonView):
    """The item pickers of staff forms (purchase-order lines, stock adjustments and counts): each result
    reads "SKU — product (options)", and a SKU typed in full or from its start comes first.

    Django's own autocomplete labels a variant "product (options)" only, so a SKU typed into the
    picker found the item under a label without it. Widget: `inventory.forms.VariantAutocompleteSelect`.
    """

    def get_queryset(self):
        term = self.term.strip()
        rank = Case(
            When(sku__iexact=term, then=Value(0)),
            When(sku__istartswith=term, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
        return super().get_queryset().select_related("product").order_by(rank, "sku")

    def serialize_result(self, obj, to_field_name):
        return {"id": str(getattr(obj, to_field_name)), "text": f"{obj.sku} — {obj}"}


@admin.register(Variant)
class VariantAdmin(CatalogImportLinkMixin, ExportMixin, admin.ModelAdmin):
    import_kind = CatalogImportKind.VARIANTS
    resource_classes = [VariantResource]
    change_list_template = "admin/shop/catalog_change_list.html"
    list_display = ["sku", "product", "options", "price", "is_active"]
    list_filter = ["is_active", StockLevelFilter, "product__category"]
    list_select_related = ["product"]
    search_fields = ["sku", "product__name"]
    autocomplete_fields = ["product"]
    inlines = [BackorderPolicyInline]

    @admin.display(description="Options")
    def options(self, obj: Variant) -> str:
        return obj.options_label or "—"

    def get_urls(self):
        picker = VariantAutocompleteView.as_view(admin_site=self.admin_site)
        return [
            path("autocomplete/", self.admin_site.admin_view(picker), name="shop_variant_autocomplete"),
            *super().get_urls(),
        ]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["worker", "last_seen"]
    list_filter = ["seen_at"]
    search_fields = ["worker"]
    ordering = ["-seen_at"]
    readonly_fields = ["worker", "seen_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def get_model_perms(self, request) -> dict:
        # Not a catalog thing: the admin index lists it in its "Operations" box (templates/admin/index.html),
        # not under Catalog (the shop app's section). Its pages keep their own permission checks.
        return {}

    @admin.display(description="Last seen", ordering="seen_at")
    def last_seen(self, obj: WorkerHeartbeat) -> str:
        return datetime_in_words(obj.seen_at)
