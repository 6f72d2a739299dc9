"""Reads for the customer-facing catalog.

What a customer may see is decided here and nowhere else: a product is visible
when it is active, its category (and that category's parent, if any) is active,
and it has at least one active variant. Views and templates only display what
these functions return.

Availability always comes from `inventory.selectors.availability_for_variants`,
asked once per page for every variant the page shows (one query, whatever
their number), so a listing badge and a product page never disagree.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import quote

from django.db.models import (
    DecimalField,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Abs
from django.http import Http404
from django.utils.translation import gettext_lazy

from inventory.selectors import (
    Availability,
    AvailabilityStatus,
    availability_best,
    availability_for_variants,
    can_ship_now_expression,
    product_availability_filter,
)
from orders.selectors import backorder_price

from .models import Category, Product, ProductImage, Variant
from .search import products_matching, search_rank_ordering

# Sort keys a customer may choose, mapped to an ordering that is total (ends with
# the primary key) so that pagination never shows a product twice or skips one.
PRODUCT_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name", "pk"),
    "price": ("from_price", "name", "pk"),
    "-price": ("-from_price", "name", "pk"),
    "newest": ("-created_at", "-pk"),
}
DEFAULT_SORT = "name"
# How the sort keys and the availability filters (inventory.selectors.product_availability_filter;
# "" means no filter) are offered to a customer: the catalog form (shop.forms) and the page cache's
# listing controls (shop.cache) show the same choices.
SORT_CHOICES = [
    ("name", gettext_lazy("Name (A–Z)")),
    ("price", gettext_lazy("Price (low to high)")),
    ("-price", gettext_lazy("Price (high to low)")),
    ("newest", gettext_lazy("Newest first")),
]
# The search page's extra sort, its default when a query is given: best match first (shop.search).
SEARCH_SORT = "relevance"
SEARCH_SORT_CHOICES = [(SEARCH_SORT, gettext_lazy("Best match")), *SORT_CHOICES]
AVAILABILITY_CHOICES = [
    ("", gettext_lazy("Any availability")),
    ("now", gettext_lazy("Available now")),
    ("backorder", gettext_lazy("Can be backordered")),
]

# Statuses that can ship from stock now; anything else gets alternatives on its product page.
AVAILABLE_NOW = frozenset({AvailabilityStatus.IN_STOCK, AvailabilityStatus.LOW_STOCK})
ALTERNATIVES_LIMIT = 4

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


def _active_variants_attached(products: list[Product]) -> list[Product]:
    """`products` with `product.active_variants` set from one query, as `_with_active_variants` would
    prefetch them (each variant's `product` set too), without the prefetch machinery: a page that
    lists a known handful of products (the home page) pays for one plain query."""
    by_id = {product.pk: product for product in products}
    for product in products:
        product.active_variants = []
    if not by_id:
        return products
    set_product = Variant.product.field.set_cached_value
    for variant in _active_variants().filter(product_id__in=list(by_id)):
        product = by_id[variant.product_id]
        set_product(variant, product)
        product.active_variants.append(variant)
    return products


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
    return _active_variants_attached(list(products[:limit]))


def product_list_newest(*, limit: int) -> list[Product]:
    """The most recently added visible products, with `active_variants` prefetched."""
    return _active_variants_attached(list(_visible_products().order_by("-created_at", "-pk")[:limit]))


def product_search(
    *,
    category: Category | None = None,
    query: str = "",
    sort: str = DEFAULT_SORT,
    availability: str = "",
) -> QuerySet[Product]:
    """Visible products, optionally within `category` (and its subcategories), matching `query`.

    Which products match `query`, and how well, is `shop.search.products_matching` (full-text and
    trigram search on PostgreSQL; the name or an active variant's SKU containing it elsewhere); each
    product appears once however many of its variants match. The sort "relevance" (Best match) orders
    by that rank; without a query it is the default sort. `availability` is 'now' (an active variant
    ships from stock now) or 'backorder'
    (an active variant can be ordered on backorder), also an EXISTS; other values
    are ignored. An unknown `sort` falls back to the default. Active variants are
    prefetched into `product.active_variants` (one extra query however many products).
    """
    products = _visible_products()
    if category is not None:
        products = products.filter(category__in=_category_tree_ids(category=category))
    query = query.strip()
    if query:
        products = products_matching(products=products, query=query)
    availability_condition = product_availability_filter(kind=availability) if availability else None
    if availability_condition is not None:
        products = products.filter(availability_condition)
    if sort == SEARCH_SORT:
        ordering = search_rank_ordering() if query else PRODUCT_SORTS[DEFAULT_SORT]
    else:
        ordering = PRODUCT_SORTS.get(sort, PRODUCT_SORTS[DEFAULT_SORT])
    return _with_active_variants(products.order_by(*ordering))


def product_get_for_customer(*, slug: str) -> Product:
    """Return the visible product with `slug`, its active variants prefetched; else raise Http404."""
    products = _visible_products().filter(slug=slug).select_related("category__parent")
    product = _with_active_variants(products).first()
    if product is None:
        raise Http404("No such product.")
    return product


def _with_sku(variants: list[Variant], sku: str | None) -> Variant | None:
    return next((variant for variant in variants if variant.sku == sku), None) if sku else None


def variant_choose(*, product: Product, sku: str | None) -> Variant | None:
    """The variant a product page opens on: the active variant with `sku`; else the best one to buy.

    The best one to buy is the variant whose availability `availability_best` picks, the same rule
    as the product's badge on a listing card: in stock, then the soonest backorder, then the rest,
    and the first in the product's order among equals. It reads each variant's `.availability`
    (`product_list_attach_availability`); without it, the first active variant. None if the product
    has no active variant. Makes no query when `active_variants` is prefetched.
    """
    variants = _variants_of(product)
    asked = _with_sku(variants, sku)
    if asked is not None:
        return asked
    best = availability_best(
        a for a in (getattr(variant, "availability", None) for variant in variants) if a is not None
    )
    if best is not None:
        return next(variant for variant in variants if variant.pk == best.variant_id)
    return variants[0] if variants else None


def _variants_of(product: Product) -> list[Variant]:
    variants = getattr(product, "active_variants", None)
    if variants is None:
        variants = list(_active_variants().filter(product=product))
    return variants


def product_list_attach_availability(
    *, products: Iterable[Product], today: date | None = None
) -> list[Product]:
    """Set `variant.availability` on each prefetched active variant and `product.availability`
    (the best among them, for a badge) on each product.

    One `availability_for_variants` call for every variant of every product: one
    query however many products (none for an empty list). Needs `active_variants`
    prefetched, as every product selector here does.
    """
    products = list(products)
    variants = [variant for product in products for variant in product.active_variants]
    availabilities = availability_for_variants(variant_ids=[v.pk for v in variants], today=today)
    for variant in variants:
        variant.availability = availabilities.get(variant.pk)
    for product in products:
        product.availability = availability_best(
            v.availability for v in product.active_variants if v.availability is not None
        )
    return products


def _alternative_candidates(*, product: Product, limit: int) -> list[Product]:
    """Up to `limit` visible products of `product`'s own category that can ship now: the ones staff
    named as its substitutes first, then the rest, each group closest in price to `product` first
    (its `from_price`), then by name. A substitute from another category is not offered: next to
    an item that cannot ship, a shopper expects something that can stand in for it.
    Two queries (products and their variants), the availability check being an EXISTS.
    """
    is_substitute = Exists(
        Product.substitutes.through.objects.filter(from_product_id=product.pk, to_product_id=OuterRef("pk"))
    )
    price = getattr(product, "from_price", None)
    by_price = [Abs(F("from_price") - Value(price, output_field=DecimalField()))] if price is not None else []
    candidates = (
        _visible_products()
        .annotate(is_substitute=is_substitute)
        .filter(category_id=product.category_id)
        .exclude(pk=product.pk)
        .filter(product_availability_filter(kind="now"))
        .order_by("-is_substitute", *by_price, "name", "pk")
    )
    return list(_with_active_variants(candidates)[:limit])


@dataclass(frozen=True)
class ProductPage:
    product: Product
    variants: list[Variant]  # active, each with `.availability` and `.backorder_price`
    selected_variant: Variant | None
    availability: Availability | None  # of the selected variant
    alternatives: list[Product]  # shown when the selected variant cannot ship now; each with `.availability`


def variant_backorder_price(*, variant: Variant) -> Decimal | None:
    """What one unit of `variant` costs when it waits for stock, if waiting earns a discount; else None.

    The price checkout charges for a backordered unit (`orders.selectors.backorder_price`, the one
    rule), from the discount of the variant's `.availability`. No queries.
    """
    availability = getattr(variant, "availability", None)
    if availability is None or not availability.discount_percent:
        return None
    return backorder_price(variant.price, availability.discount_percent)


def product_page_get(*, slug: str, sku: str | None, today: date | None = None) -> ProductPage:
    """Everything the product page shows: the product, its variants and their availability,
    the selected variant, and up to four alternatives that ship now when it cannot.

    The selected variant is the one `sku` names, else the best one to buy (`variant_choose`: the
    variant the product's listing badge describes). Each variant gets `.backorder_price`
    (`variant_backorder_price`).

    Queries: the product, its active variants (annotated with whether they can ship now, in plain SQL:
    `inventory.selectors.can_ship_now_expression`,
    which decides whether alternatives are needed: when `sku` names a variant, whether it can;
    otherwise whether any can, since the best one to buy then can), then, only when they are,
    the alternatives and their variants; finally one availability call for all variants on the
    page (one query); and its gallery's pictures (`product.images`, by position: one query).
    4 or 6 in all, whatever the number of variants, pictures or alternatives.
    Raises Http404 if the product is not visible.
    """
    variants = _active_variants().annotate(can_ship_now=can_ship_now_expression())
    product = (
        _visible_products()
        .filter(slug=slug)
        .select_related("category__parent")
        .prefetch_related(
            Prefetch("variants", queryset=variants, to_attr="active_variants"),
            Prefetch("images", queryset=ProductImage.objects.order_by("position", "pk")),
        )
        .first()
    )
    if product is None:
        raise Http404("No such product.")
    asked = _with_sku(product.active_variants, sku)
    if asked is not None:
        needs_alternatives = not asked.can_ship_now
    else:
        needs_alternatives = bool(product.active_variants) and not any(
            variant.can_ship_now for variant in product.active_variants
        )
    alternatives = []
    if needs_alternatives:
        alternatives = _alternative_candidates(product=product, limit=ALTERNATIVES_LIMIT)
    product_list_attach_availability(products=[product, *alternatives], today=today)
    for variant in product.active_variants:
        variant.backorder_price = variant_backorder_price(variant=variant)
    selected = variant_choose(product=product, sku=sku)
    availability = selected.availability if selected is not None else None
    if availability is None or availability.status in AVAILABLE_NOW:
        alternatives = []  # stock changed between the two reads: trust the availability answer
    alternatives = [p for p in alternatives if p.availability and p.availability.status in AVAILABLE_NOW]
    return ProductPage(
        product=product,
        variants=product.active_variants,
        selected_variant=selected,
        availability=availability,
        alternatives=alternatives,
    )


def product_structured_data(
    *,
    product: Product,
    variants: Iterable[Variant],
    sku: str | None,
    url: str,
    image_url: str | None,
    currency: str,
) -> dict:
    """A schema.org Product with one Offer per variant, for a JSON-LD block. No queries.

    `sku` is the SKU the page shows (the selected variant's); `variants` carry `.availability` (see
    `product_list_attach_availability`); a backorder offer says when it is expected to ship
    (`availabilityStarts`, ISO date) and its price is what a waiting unit costs.
    """
    data: dict = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "description": product.description,
        "url": url,
    }
    if sku:
        data["sku"] = sku
    if image_url:
        data["image"] = image_url
    offers = []
    for variant in variants:
        availability = getattr(variant, "availability", None)
        price = variant.price
        if availability is not None and availability.status == AvailabilityStatus.BACKORDER:
            price = variant_backorder_price(variant=variant) or price  # every unit waits: what it costs
        offer = {
            "@type": "Offer",
            "sku": variant.sku,
            "price": str(price),
            "priceCurrency": currency,
            "url": f"{url}?variant={quote(variant.sku)}",
        }
        if availability is not None:
            offer["availability"] = availability.schema_org
            if availability.status == AvailabilityStatus.BACKORDER and availability.expected_date:
                offer["availabilityStarts"] = availability.expected_date.isoformat()
        offers.append(offer)
    data["offers"] = offers
    return data
