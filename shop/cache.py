"""The shop's page cache: the shared, anonymous parts of the catalog listing, and the navbar's categories;
its tokens and keys, which the home and product pages share (shop/page_cache_pages.py).

What may be cached, and for how long (docs/operations.md, "The page cache"):

* The navbar's categories, and per listing page (category, sort, page number) the
  category, the rendered shared part of the page (templates/shop/category_listing.html:
  breadcrumb, subcategories, controls, count, product grid) and the navbar's row of
  categories. They change only when the catalog does; they are stored with the *catalog
  token* of the moment and ignored once the token has been replaced.
* The availability badges of that grid. They are stored with the *availability
  token* of every variant they were computed from, and with the day (a backorder
  date counts from today). A badge whose tokens moved on is computed again from the
  database (two queries for the page, whatever the number of changed badges) and the
  entry is written back.
* Every entry expires after SHOP_PAGE_CACHE_TTL seconds: that bounds how long a
  change without a hook (see below) can go unseen.

Tokens are random values, never counters: a write replaces the token, so an entry
built from the data before the change (even one stored after the change, by a
request that read the old data) no longer matches. A missing token (never written,
or evicted) is a token too; the next change writes a new one.

* The catalog token is replaced after every commit that saves or deletes a category,
  product, variant, backorder policy or warehouse (signals connected in
  `shop.apps`; a cache being told, no business rule), and by `seed_demo`.
* A variant's availability token is replaced after every commit in which stock
  (`inventory.services`) or orders (the allocation pass, cancelled waiting units)
  change its stock, allocations, waiting backorders or purchase orders: they send
  `inventory.events.availability_changed`, whose receiver here is
  `availability_changed`. The same write replaces the *availability epoch*: a page
  looks at its variants' tokens only when the epoch moved since it was stored, so a
  quiet shop answers from one cache round trip.
* Changes with no hook, shown within the TTL: bulk `update()`s, edits in a shell, a
  token write lost while Redis was unreachable.

Every rendered entry's key has the active language (the path's: /de/ is German, docs/i18n.md),
so a German and an English visitor never share a rendered part or a link.

Never cached: anything about one visitor. The view renders the page around the
cached grid on every request: cart count, messages, sign-in state, CSRF token.

The home page's cards and a product page's content are cached the same way in
`shop.page_cache_pages` (a product page, its variants' and alternatives' tokens
and the day; one that looks for alternatives, the epoch itself).
"""

import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from inventory.selectors import availability_best, availability_for_variants

from .badges import card_badge_html
from .models import Category
from .selectors import (
    AVAILABILITY_CHOICES,
    SORT_CHOICES,
    category_get_for_customer,
    category_list_for_nav,
    product_list_attach_availability,
    product_search,
)

logger = logging.getLogger(__name__)

# Bump when the shape of a cached value changes, so a deploy never reads the old shape.
SCHEMA = "1"
TOKEN_TIMEOUT = 24 * 3600  # a token outlives the entries that carry it; an expired one only costs a miss
MAX_CACHED_PAGE = 50  # deeper pages are computed per request (their keys stay few)
# Where a card's badge goes in the rendered grid. Product names are escaped, so no content contains it.
BADGE_SLOT = mark_safe("<!--badge-slot-->")


def _key(*parts) -> str:
    return ":".join(["shop", SCHEMA, settings.SHOP_CACHE_NAMESPACE, *map(str, parts)])


def _catalog_key() -> str:
    return _key("catalog")


def _availability_key(variant_id: int) -> str:
    return _key("avail", variant_id)


def _epoch_key() -> str:
    return _key("avail")


def _new_token() -> int:
    return secrets.randbits(62)  # an int: the cache stores it as is, no pickling either way


def _write_tokens(keys: list[str]) -> None:
    token = _new_token()
    try:
        cache.set_many(dict.fromkeys(keys, token), timeout=TOKEN_TIMEOUT)
    except Exception:  # noqa: BLE001 - the cache being down must not fail a committed change
        logger.warning("page cache: could not replace %d token(s); entries expire within the TTL", len(keys))


# --- invalidation ------------------------------------------------------------------------------


def catalog_changed() -> None:
    """After the current transaction commits (now, outside one), replace the catalog token."""
    transaction.on_commit(lambda: _write_tokens([_catalog_key()]), robust=True)


def availability_changed(*, variant_ids: Iterable[int]) -> None:
    """After the current transaction commits (now, outside one), replace these variants' availability
    tokens: listing badges that show them are computed again on their next request.

    The receiver of `inventory.events.availability_changed` (connected in shop.apps). Hooks are sent
    inside the changing transaction, so, like every receiver, it defers its effect until commit: the
    tokens never move before the data they stand for is visible.
    """
    keys = [_availability_key(v) for v in sorted(set(variant_ids))]
    if keys:  # with the epoch, in one write: readers look at variant tokens only when the epoch moved
        transaction.on_commit(lambda: _write_tokens([_epoch_key(), *keys]), robust=True)


# --- the navbar's categories -------------------------------------------------------------------


def _nav_key() -> str:
    # Per language: the categories' URLs carry its prefix (/de/c/...).
    return _key("nav", translation.get_language())


def _nav_from(values: dict, catalog: int | None) -> list[Category] | None:
    entry = values.get(_nav_key())
    if entry is not None and entry[0] == catalog:
        return entry[1]
    return None


def nav_categories_fresh() -> list[Category]:
    """`category_list_for_nav()`, each with its `url` worked out once."""
    categories = category_list_for_nav()
    for category in categories:
        category.url = category.get_absolute_url()
    return categories


def _nav_store(catalog: int | None) -> list[Category]:
    categories = nav_categories_fresh()
    cache.set(_nav_key(), (catalog, categories), timeout=settings.SHOP_PAGE_CACHE_TTL)
    return categories


def nav_categories_cached() -> list[Category]:
    """`category_list_for_nav()`, from the cache while the catalog token is unchanged."""
    if not settings.SHOP_PAGE_CACHE_TTL:
        return nav_categories_fresh()
    values = cache.get_many([_catalog_key(), _nav_key()])
    catalog = values.get(_catalog_key())
    categories = _nav_from(values, catalog)
    return categories if categories is not None else _nav_store(catalog)


# --- the listing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedProduct:
    """A product of a cached listing: enough to compute its badge again, and to name it."""

    pk: int
    name: str
    variant_ids: tuple[int, ...]


@dataclass
class _Entry:
    catalog: int | None
    category: Category
    count: int
    number: int
    segments: list[str]  # the rendered listing around its badge slots: len(products) + 1 pieces
    products: list[ListedProduct]
    badges: list[str]
    epoch: int | None  # the availability epoch read before the tokens below
    tokens: dict[int, int | None]  # variant id -> availability token the badges were computed under
    day: date
    category_nav: str  # the navbar's row of categories, this one marked


@dataclass(frozen=True)
class Listing:
    """One page of a category listing without a search or an availability filter."""

    category: Category
    page_obj: Page  # its object_list: ListedProduct summaries when served from the cache, else products
    html: SafeString  # templates/shop/category_listing.html
    category_nav_html: SafeString  # templates/includes/category_nav.html
    source: str  # "hit", "badges" (the badges computed again) or "miss" (the X-Page-Cache header)


def _page_number(raw: str | None) -> int | None:
    """The page asked for, when it may be served from the cache; None: compute this request."""
    if raw is None:
        return 1
    if not raw.isdigit() or len(raw) > 3:
        return None
    number = int(raw)
    return number if 1 <= number <= MAX_CACHED_PAGE else None


def _listing_key(*, slug: str, sort: str, number: int) -> str:
    # The slug as typed in the URL (any length, before the category is found) hashed: keys stay short.
    named = hashlib.sha256(slug.encode()).hexdigest()[:40]
    return _key("listing", translation.get_language(), settings.SHOP_CURRENCY, named, sort, number)


def _tokens(variant_ids: list[int]) -> dict[int, int | None]:
    found = cache.get_many([_availability_key(v) for v in variant_ids]) if variant_ids else {}
    return {v: found.get(_availability_key(v)) for v in variant_ids}


def _join(segments: list[str], badges: list[str]) -> SafeString:
    parts = [segments[0]]
    for badge, segment in zip(badges, segments[1:], strict=True):
        parts += (badge, segment)
    return mark_safe("".join(parts))


def _paginator_page(*, count: int, number: int, object_list) -> Page:
    page = Paginator(range(count), settings.SHOP_PAGE_SIZE).page(number)
    page.object_list = object_list
    return page


def _badges_refresh(entry: _Entry, tokens: dict[int, int | None], today: date) -> None:
    """Compute again the badges of the products whose variants' tokens (or the day) changed."""
    stale = [
        n
        for n, product in enumerate(entry.products)
        if entry.day != today or any(tokens.get(v) != entry.tokens.get(v) for v in product.variant_ids)
    ]
    variant_ids = [v for n in stale for v in entry.products[n].variant_ids]
    availabilities = availability_for_variants(variant_ids=variant_ids, today=today)
    for n in stale:
        best = availability_best(
            a for a in (availabilities.get(v) for v in entry.products[n].variant_ids) if a is not None
        )
        entry.badges[n] = card_badge_html(best)
    entry.tokens = tokens
    entry.day = today


def badges_brought_up_to_date(entry, *, key: str, epoch: int | None, today: date) -> str:
    """A cached grid's badges made current (a listing's `_Entry`, the home page's): "hit" when nothing
    they show changed, "badges" when some were computed again. Looks at the variants' tokens only when
    the availability epoch (or the day) moved since the entry was stored, and stores it back then."""
    source = "hit"
    if entry.epoch != epoch or entry.day != today:
        # Some availability changed somewhere (or the day did): were these variants among it?
        tokens = _tokens(list(entry.tokens))
        if tokens != entry.tokens or entry.day != today:
            _badges_refresh(entry, tokens, today)
            source = "badges"
        entry.epoch = epoch
        cache.set(key, entry, timeout=settings.SHOP_PAGE_CACHE_TTL)
    return source


@dataclass(frozen=True)
class _Choices:
    choices: list[tuple[str, str]]


@dataclass(frozen=True)
class _ListingControls:
    """What templates/includes/listing_controls.html reads of its `form`: `form.fields.sort.choices`
    and `form.fields.availability.choices`. The shared listing is rendered for no visitor, so an
    empty catalog form (shop.forms, an interface above the cache) would only contribute these
    choices; they come from the same place as the form's (shop.selectors)."""

    fields: dict[str, _Choices]


LISTING_CONTROLS = _ListingControls(
    fields={"sort": _Choices(SORT_CHOICES), "availability": _Choices(AVAILABILITY_CHOICES)}
)


def listing_context(*, category: Category, subcategories: list[Category], sort: str, page_obj: Page) -> dict:
    """The context of templates/shop/category_listing.html for a listing without search or filter."""
    return {
        "category": category,
        "subcategories": subcategories,
        "form": LISTING_CONTROLS,
        "query": "",
        "sort": sort,
        "availability": "",
        "availability_label": "",
        "page_obj": page_obj,
        "products": page_obj.object_list,
    }


def listing_page(*, slug: str, sort: str, page: str | None) -> Listing:
    """A category's listing page (no search, no availability filter), from the cache when it can be.

    On a full hit: no query, usually one cache round trip. When badges are out of date: the two
    availability queries. On a miss: the same queries as an uncached listing (category, count,
    page, variants, availability; the navbar's categories unless cached). Raises Http404 for a
    category a customer may not see (never cached).
    """
    number = _page_number(page) if settings.SHOP_PAGE_CACHE_TTL else None
    today = timezone.localdate()
    catalog = epoch = None
    if number is not None:
        key = _listing_key(slug=slug, sort=sort, number=number)
        values = cache.get_many([_catalog_key(), _epoch_key(), key])
        catalog, epoch = values.get(_catalog_key()), values.get(_epoch_key())
        entry: _Entry | None = values.get(key)
        if entry is not None and entry.catalog == catalog:
            source = badges_brought_up_to_date(entry, key=key, epoch=epoch, today=today)
            return Listing(
                category=entry.category,
                page_obj=_paginator_page(count=entry.count, number=entry.number, object_list=entry.products),
                html=_join(entry.segments, entry.badges),
                category_nav_html=mark_safe(entry.category_nav),
                source=source,
            )

    # From the database. The tokens were read before the data, so a change committed meanwhile
    # leaves the entry behind its tokens (computed again next time), never ahead of them.
    category, subcategories = category_get_for_customer(slug=slug)
    products = product_search(category=category, sort=sort)
    page_obj = Paginator(products, settings.SHOP_PAGE_SIZE).get_page(page)
    listed = list(page_obj.object_list)
    variant_ids = [v.pk for p in listed for v in p.active_variants]
    cacheable = number is not None and page_obj.number == number
    if cacheable:
        tokens = _tokens(variant_ids)
    page_obj.object_list = product_list_attach_availability(products=listed, today=today)
    category_nav = render_to_string(
        "includes/category_nav.html", {"nav_categories": nav_categories_cached(), "category": category}
    )
    context = listing_context(category=category, subcategories=subcategories, sort=sort, page_obj=page_obj)
    if not cacheable:
        html = render_to_string("shop/category_listing.html", context)
        return Listing(
            category=category, page_obj=page_obj, html=html, category_nav_html=category_nav, source="miss"
        )
    segments = render_to_string("shop/category_listing.html", {**context, "badge_slot": BADGE_SLOT}).split(
        BADGE_SLOT
    )
    badges = [card_badge_html(p.availability) for p in page_obj.object_list]
    entry = _Entry(
        catalog=catalog,
        category=category,
        count=page_obj.paginator.count,
        number=page_obj.number,
        segments=segments,
        products=[
            ListedProduct(pk=p.pk, name=p.name, variant_ids=tuple(v.pk for v in p.active_variants))
            for p in page_obj.object_list
        ],
        badges=badges,
        epoch=epoch,
        tokens=tokens,
        day=today,
        category_nav=category_nav,
    )
    cache.set(key, entry, timeout=settings.SHOP_PAGE_CACHE_TTL)
    return Listing(
        category=category,
        page_obj=page_obj,
        html=_join(segments, badges),
        category_nav_html=category_nav,
        source="miss",
    )
