"""The home page and the product page from the page cache (shop/cache.py: the tokens, the TTL).

What may be stale, and for how long: docs/operations.md, "The page cache". In short:

* The home page's content (heading, category chips, the featured or newest cards) is stored per
  language and currency with the catalog token; its cards' availability badges with the tokens of
  their variants and the day, and computed again (two or three queries) when those moved, as the
  listing's are (`shop.cache`).
* A product page's content is stored per product, selected variant (`?variant=`, only a variant the
  product has), language, currency and site (the JSON-LD names absolute URLs) with the catalog
  token, the availability tokens of every variant it shows (its own and its alternatives') and the
  day (dates count from today). A page whose selected variant cannot ship now lists alternatives
  that can: any product of its category may become one, so that page is kept only while the
  availability epoch is unchanged. Any change renders the whole page again.

Never cached: anything about the visitor. The view renders the page around the cached content on
every request (navbar: cart count, sign-in state, CSRF inputs; messages), and fills the content's
per-visitor slots: the add-to-cart form's CSRF input and `next`, and the "notify me" form (it
names a signed-in customer's address).
"""

import hashlib
from dataclasses import dataclass
from datetime import date
from urllib.parse import urljoin

from django.conf import settings
from django.core.cache import cache
from django.middleware.csrf import get_token
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation
from django.utils.encoding import iri_to_uri
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from imagekit.cachefiles.state import prefetch_cachefile_states, use_cachefile_state_cache

from inventory.selectors import Availability
from orders.selectors import MAX_LINE_QUANTITY

from .badges import card_badge_html
from .cache import (
    BADGE_SLOT,
    ListedProduct,
    _availability_key,
    _catalog_key,
    _epoch_key,
    _join,
    _key,
    _tokens,
    badges_brought_up_to_date,
    nav_categories_cached,
)
from .media.pictures import product_gallery
from .models import Product, Variant
from .selectors import (
    AVAILABLE_NOW,
    product_list_attach_availability,
    product_list_featured,
    product_list_newest,
    product_page_get,
    product_structured_data,
)

HOME_PRODUCT_LIMIT = 8
# The add-to-cart form's CSRF input as the cached content holds it: format_html escapes the value,
# so no product text (escaped too, never holding a raw `<` or `"`) can spell this input.
_CSRF_PLACEHOLDER = "<!--csrf-slot-->"
CSRF_SLOT = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', _CSRF_PLACEHOLDER)
NEXT_SLOT = mark_safe("<!--next-slot-->")  # the add-to-cart form's `next`: this request's path and query
NOTIFY_SLOT = mark_safe("<!--notify-slot-->")  # the "notify me" form, rendered per visitor
# Around the availability section: product.html shows it in its block `availability`.
AVAILABILITY_MARK = mark_safe("<!--availability-->")
# A longer `?variant=` names no variant: computed, never looked up or stored.
SKU_MAX_LENGTH = Variant._meta.get_field("sku").max_length


def _card_thumbnails_prefetched(products) -> dict:
    """Every card picture's thumbnail state in one cache round trip (else one per card); use the
    returned mapping with `use_cachefile_state_cache` while the grid renders. Each product with a
    picture gets `card_image_url`, its thumbnail's URL, from the same file object (the grid reads it
    rather than making the thumbnail file again)."""
    states: dict = {}
    cards = [(p, p.card_thumbnail) for p in products if p.image]
    prefetch_cachefile_states([thumbnail for _, thumbnail in cards], state_cache=states)
    with use_cachefile_state_cache(states):
        for product, thumbnail in cards:
            product.card_image_url = thumbnail.url
    return states


def _render(template: str, context: dict, *, cards) -> SafeString:
    with use_cachefile_state_cache(_card_thumbnails_prefetched(cards)):
        return render_to_string(template, context)


# --- the home page -----------------------------------------------------------------------------


@dataclass
class _HomeEntry:
    catalog: int | None
    heading: str
    segments: list[str]  # the content around its badge slots: len(products) + 1 pieces
    products: list[ListedProduct]
    badges: list[str]
    epoch: int | None
    tokens: dict[int, int | None]
    day: date
    category_nav: str


@dataclass(frozen=True)
class HomePage:
    html: SafeString | None  # templates/shop/includes/home_body.html; None: no product to show (not cached)
    products: list  # ListedProduct summaries on a hit, else products
    heading: str
    nav_categories: list
    category_nav_html: SafeString | None
    source: str  # "hit", "badges" or "miss" (the X-Page-Cache header)


def _home_key() -> str:
    return _key("home", translation.get_language(), settings.SHOP_CURRENCY)


def _home_products() -> tuple[list[Product], str]:
    products = product_list_featured(limit=HOME_PRODUCT_LIMIT)
    if products:
        return products, _("Featured products")
    return product_list_newest(limit=HOME_PRODUCT_LIMIT), _("New arrivals")


def home_page() -> HomePage:
    """The home page's content, from the cache when it can be.

    On a hit: no query, one cache round trip (two when some availability changed since it was
    stored). Badges out of date: the availability queries. On a miss: products, their variants,
    availability, and the navbar's categories unless cached.
    """
    ttl = settings.SHOP_PAGE_CACHE_TTL
    today = timezone.localdate()
    catalog = epoch = None
    if ttl:
        key = _home_key()
        values = cache.get_many([_catalog_key(), _epoch_key(), key])
        catalog, epoch = values.get(_catalog_key()), values.get(_epoch_key())
        entry: _HomeEntry | None = values.get(key)
        if entry is not None and entry.catalog == catalog:
            source = badges_brought_up_to_date(entry, key=key, epoch=epoch, today=today)
            return HomePage(
                html=_join(entry.segments, entry.badges),
                products=entry.products,
                heading=entry.heading,
                nav_categories=[],
                category_nav_html=mark_safe(entry.category_nav),
                source=source,
            )

    products, heading = _home_products()
    variant_ids = [v.pk for p in products for v in p.active_variants]
    tokens = _tokens(variant_ids) if ttl else {}  # read before the data: a change meanwhile is seen next time
    products = product_list_attach_availability(products=products, today=today)
    categories = nav_categories_cached()
    category_nav = render_to_string("includes/category_nav.html", {"nav_categories": categories})
    if not products:  # the empty shop's page shows staff a link: rendered per request, never cached
        return HomePage(
            html=None,
            products=[],
            heading=heading,
            nav_categories=categories,
            category_nav_html=category_nav,
            source="miss",
        )
    context = {
        "SHOP_NAME": settings.SHOP_NAME,
        "nav_categories": categories,
        "products": products,
        "products_heading": heading,
        "badge_slot": BADGE_SLOT,
    }
    segments = _render("shop/includes/home_body.html", context, cards=products).split(BADGE_SLOT)
    badges = [card_badge_html(p.availability) for p in products]
    if ttl:
        entry = _HomeEntry(
            catalog=catalog,
            heading=heading,
            segments=segments,
            products=[
                ListedProduct(pk=p.pk, name=p.name, variant_ids=tuple(v.pk for v in p.active_variants))
                for p in products
            ],
            badges=badges,
            epoch=epoch,
            tokens=tokens,
            day=today,
            category_nav=category_nav,
        )
        cache.set(key, entry, timeout=ttl)
    return HomePage(
        html=_join(segments, badges),
        products=products,
        heading=heading,
        nav_categories=categories,
        category_nav_html=category_nav,
        source="miss",
    )


# --- the product page --------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantShown:
    """A variant as a cached product page showed it (the context of a hit: what tests and tools read)."""

    pk: int
    sku: str
    price: object
    availability: Availability | None


@dataclass
class _ProductEntry:
    catalog: int | None
    epoch: int | None
    epoch_bound: bool  # alternatives were looked for: kept only while the availability epoch is unchanged
    tokens: dict[int, int | None]
    day: date
    name: str
    html: str  # templates/shop/includes/product_body.html with its slots
    category_nav: str
    notify: tuple[int, Availability] | None  # the "notify me" form's variant id and availability
    variants: list[VariantShown]
    selected: VariantShown | None
    alternatives: list[ListedProduct]


@dataclass(frozen=True)
class ProductPageHtml:
    name: str
    html: SafeString  # with its per-visitor slots (`fill_product_slots`)
    category_nav_html: SafeString
    notify: tuple[int, Availability] | None
    variants: list
    selected_variant: object
    availability: Availability | None
    alternatives: list
    source: str  # "hit" or "miss" (the X-Page-Cache header)


def _product_key(*, slug: str, sku: str, site: str) -> str:
    # The slug (as typed in the URL, before any product is found), the SKU and the site (scheme and
    # host) hashed: the key stays short and clean whatever they hold (memcached refuses keys over 250
    # characters or with spaces).
    named = hashlib.sha256(f"{site}\n{slug}\n{sku}".encode()).hexdigest()[:40]
    return _key("product", translation.get_language(), settings.SHOP_CURRENCY, named)


class _SlotRequest:
    """What the add-to-cart form reads of `request` while the shared content renders: its `next`."""

    @staticmethod
    def get_full_path() -> SafeString:
        return NEXT_SLOT


def _shown(variant) -> VariantShown:
    return VariantShown(
        pk=variant.pk,
        sku=variant.sku,
        price=variant.price,
        availability=getattr(variant, "availability", None),
    )


def _absolute(origin: str, location: str) -> str:
    """As `request.build_absolute_uri(location)`: a storage's absolute URL (S3, a CDN) stays as it is."""
    return iri_to_uri(urljoin(origin + "/", location))


def _from_entry(entry: _ProductEntry, source: str) -> ProductPageHtml:
    return ProductPageHtml(
        name=entry.name,
        html=mark_safe(entry.html),
        category_nav_html=mark_safe(entry.category_nav),
        notify=entry.notify,
        variants=entry.variants,
        selected_variant=entry.selected,
        availability=entry.selected.availability if entry.selected else None,
        alternatives=entry.alternatives,
        source=source,
    )


def product_page_html(*, slug: str, sku: str | None, origin: str) -> ProductPageHtml:
    """A product page's content, from the cache when it can be; `origin` is the site's scheme and
    host (the JSON-LD's absolute URLs). Raises Http404 for a product a customer may not see.

    On a hit: no query, one cache round trip (two when some availability changed since it was
    stored). On a miss: `product_page_get`'s queries, and the navbar's categories unless cached.
    """
    ttl = settings.SHOP_PAGE_CACHE_TTL
    today = timezone.localdate()
    if sku and len(sku) > SKU_MAX_LENGTH:
        ttl = 0
    key = _product_key(slug=slug, sku=sku or "", site=origin)
    catalog = epoch = None
    if ttl:
        values = cache.get_many([_catalog_key(), _epoch_key(), key])
        catalog, epoch = values.get(_catalog_key()), values.get(_epoch_key())
        entry: _ProductEntry | None = values.get(key)
        if entry is not None and entry.catalog == catalog and entry.day == today:
            if entry.epoch == epoch:
                return _from_entry(entry, "hit")
            if not entry.epoch_bound and _tokens(list(entry.tokens)) == entry.tokens:
                entry.epoch = epoch
                cache.set(key, entry, timeout=ttl)
                return _from_entry(entry, "hit")

    page = product_page_get(slug=slug, sku=sku, today=today)
    product = page.product
    url = _absolute(origin, product.get_absolute_url())
    structured_data = product_structured_data(
        product=product,
        variants=page.variants,
        sku=page.selected_variant.sku if page.selected_variant else None,
        url=url,
        image_url=_absolute(origin, product.image.url) if product.image else None,
        currency=settings.SHOP_CURRENCY,
    )
    availability = page.availability
    context = {
        "product": product,
        "variants": page.variants,
        "selected_variant": page.selected_variant,
        "availability": availability,
        "alternatives": page.alternatives,
        "gallery": product_gallery(product=product),
        "structured_data": structured_data,
        "csrf_token": _CSRF_PLACEHOLDER,
        "request": _SlotRequest,
        "notify_slot": NOTIFY_SLOT,
        "availability_mark": AVAILABILITY_MARK,
        "MAX_LINE_QUANTITY": MAX_LINE_QUANTITY,
    }
    html = _render("shop/includes/product_body.html", context, cards=page.alternatives)
    category_nav = render_to_string(
        "includes/category_nav.html", {"nav_categories": nav_categories_cached(), "category": None}
    )
    selected = page.selected_variant
    notify = (
        (selected.pk, availability)
        if selected is not None and availability is not None and availability.status == "out_of_stock"
        else None
    )
    entry = _ProductEntry(
        catalog=catalog,
        epoch=epoch,
        epoch_bound=availability is None or availability.status not in AVAILABLE_NOW,
        tokens={},
        day=today,
        name=product.name,
        html=html,
        category_nav=category_nav,
        notify=notify,
        variants=[_shown(v) for v in page.variants],
        selected=_shown(selected) if selected is not None else None,
        alternatives=[
            ListedProduct(pk=p.pk, name=p.name, variant_ids=tuple(v.pk for v in p.active_variants))
            for p in page.alternatives
        ],
    )
    # Stored only for the page without `?variant=` or with one of the product's variants: the keys
    # stay as few as the catalog's variants.
    if ttl and (not sku or any(v.sku == sku for v in page.variants)):
        # The page's variants are known only after its stock was read (alternatives are chosen by it),
        # so their tokens are read after the data, with the epoch: unless no availability change came
        # in between (the epoch is the one read before the data), the page is not stored.
        variant_ids = [v.pk for v in page.variants] + [v for p in entry.alternatives for v in p.variant_ids]
        found = cache.get_many([_epoch_key(), *(_availability_key(v) for v in variant_ids)])
        if found.get(_epoch_key()) == epoch:
            entry.tokens = {v: found.get(_availability_key(v)) for v in variant_ids}
            cache.set(key, entry, timeout=ttl)
    return ProductPageHtml(
        name=product.name,
        html=html,
        category_nav_html=category_nav,
        notify=notify,
        variants=page.variants,
        selected_variant=selected,
        availability=availability,
        alternatives=page.alternatives,
        source="miss",
    )


def fill_product_slots(
    html: str, *, request, notify: tuple[int, Availability] | None
) -> tuple[SafeString, SafeString, SafeString]:
    """The product page's content for this visitor: its CSRF input, the path it came to, and its
    "notify me" form (the signed-in customer's address, or a field for one); in three parts, the
    availability section in the middle."""
    token = get_token(request)
    html = html.replace(
        CSRF_SLOT, format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
    )
    html = html.replace(NEXT_SLOT, escape(request.get_full_path()))
    form = ""
    if notify is not None:
        variant_id, availability = notify
        form = get_template("notifications/includes/notify_me.html").render(
            {
                "variant": VariantShown(pk=variant_id, sku="", price=None, availability=availability),
                "availability": availability,
                "user": request.user,
                "csrf_token": token,
            }
        )
    top, availability, bottom = html.replace(NOTIFY_SLOT, form).split(AVAILABILITY_MARK)
    return mark_safe(top), mark_safe(availability), mark_safe(bottom)
