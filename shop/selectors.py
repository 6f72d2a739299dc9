"""Reads for the customer-facing catalog.

What a customer may see is decided here and nowhere else: a product is visible
when it is active, its category (and that category's parent, if any) is active,
and it has at least one active variant. Views and templates only display what
these functions return.
"""

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from .models import Category, Product, Variant

# Sort keys a customer may choose, mapped to an ordering that is total (ends with
# the primary key) so that pagination never shows a product twice or skips one.
PRODUCT_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name", "pk"),
    "price": ("from_price", "name", "pk"),
    "-price": ("-from_price", "name", "pk"),
    "newest": ("-created_at", "-pk"),
}
DEFAULT_SORT = "name"

_VISIBLE_CATEGORY = Q(is_active=True) & (Q(parent__isnull=True) | Q(parent__is_active=True))


def _active_variants() -> QuerySet[Variant]:
    return Variant.objects.filter(is_active=True).order_by("position", "sku", "pk")


def _visible_products() -> QuerySet[Product]:
    """Products a customer may see, annotated with `from_price` (cheapest active variant)."""
    active_variants = _active_variants().filter(product=OuterRef("pk"))
    return (
        Product.objects.filter(
            Exists(active_variants),
            is_active=True,
            category__is_active=True,
        )
        .filter(Q(category__parent__isnull=True) | Q(category__parent__is_active=True))
        .annotate(from_price=Subquery(active_variants.order_by("price").values("price")[:1]))
        .select_related("category")
    )


def _with_active_variants(products: QuerySet[Product]) -> QuerySet[Product]:
    """Prefetch active variants into `product.active_variants`: one extra query however many products."""
    return products.prefetch_related(
        Prefetch("variants", queryset=_active_variants(), to_attr="active_variants")
    )


def category_list_for_nav() -> list[Category]:
    """Visible top-level categories, in their configured order."""
    return list(Category.objects.filter(is_active=True, parent__isnull=True).order_by("position", "name"))


def category_get_for_customer(*, slug: str) -> tuple[Category, list[Category]]:
    """Return the visible category with `slug` and its visible subcategories; else raise Http404.

    One query fetches the category together with its children.
    """
    rows = list(
        Category.objects.filter(
            (Q(slug=slug) & _VISIBLE_CATEGORY) | Q(parent__slug=slug, parent__is_active=True, is_active=True)
        )
        .select_related("parent")
        .order_by("position", "name")
    )
    category = next((row for row in rows if row.slug == slug), None)
    if category is None:
        raise Http404("No such category.")
    children = [row for row in rows if row.parent_id == category.pk]
    return category, children


def _category_tree_ids(*, category: Category) -> QuerySet[Category]:
    """A subquery of the ids of `category`, its visible children and grandchildren (no query of its own)."""
    return Category.objects.filter(
        Q(pk=category.pk)
        | Q(parent_id=category.pk, is_active=True)
        | Q(parent__parent_id=category.pk, parent__is_active=True, is_active=True)
    ).values("pk")


def product_list_featured(*, limit: int) -> list[Product]:
    """Visible featured products, newest first, with `active_variants` prefetched."""
    products = _visible_products().filter(is_featured=True).order_by("-created_at", "-pk")
    return list(_with_active_variants(products)[:limit])


def product_list_newest(*, limit: int) -> list[Product]:
    """The most recently added visible products, with `active_variants` prefetched."""
    return list(_with_active_variants(_visible_products().order_by("-created_at", "-pk"))[:limit])


def product_search(
    *, category: Category | None = None, query: str = "", sort: str = DEFAULT_SORT
) -> QuerySet[Product]:
    """Visible products, optionally within `category` (and its subcategories), matching `query`.

    `query` matches the product name (contains) or the SKU of an active variant
    (contains), case-insensitively; each product appears once however many of its
    variants match, because the SKU match is an EXISTS subquery rather than a join.
    An unknown `sort` falls back to the default. Active variants are prefetched
    into `product.active_variants` (one extra query however many products).
    """
    products = _visible_products()
    if category is not None:
        products = products.filter(category__in=_category_tree_ids(category=category))
    query = query.strip()
    if query:
        sku_match = _active_variants().filter(product=OuterRef("pk"), sku__icontains=query)
        products = products.filter(Q(name__icontains=query) | Exists(sku_match))
    ordering = PRODUCT_SORTS.get(sort, PRODUCT_SORTS[DEFAULT_SORT])
    return _with_active_variants(products.order_by(*ordering))


def product_get_for_customer(*, slug: str) -> Product:
    """Return the visible product with `slug`, its active variants prefetched; else raise Http404."""
    products = _visible_products().filter(slug=slug).select_related("category__parent")
    product = _with_active_variants(products).first()
    if product is None:
        raise Http404("No such product.")
    return product


def variant_choose(*, product: Product, sku: str | None) -> Variant | None:
    """The active variant of `product` with `sku`, else its first active variant (None if it has none).

    Uses `product.active_variants` when prefetched, so it makes no query then.
    """
    variants = getattr(product, "active_variants", None)
    if variants is None:
        variants = list(_active_variants().filter(product=product))
    if sku:
        for variant in variants:
            if variant.sku == sku:
                return variant
    return variants[0] if variants else None
