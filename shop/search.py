"""Catalog search: which products match what a customer typed, and how well.

One entry point, `products_matching`, used by `shop.selectors.product_search` (the search page
and a category's "search within"). What it does depends on the database:

- **PostgreSQL**: full-text search over the product's name (weight A) and description (weight C)
  in the `english` configuration (so "tents" finds "Tent"), with the customer's syntax
  (`websearch_to_tsquery`: quoted phrases, `-word`, `or`) and the SKU of an active variant,
  contained case-insensitively, as before, each answered from its own GIN index (migration
  `shop.0003_search_indexes`), so the cost follows the number of matches rather than the size of
  the catalog. When neither matches (one query asks), a typo or part of a word: names with a word
  close to the text by trigrams ("backpak" finds "Backpack") or containing it (as SQLite's search),
  both from pg_trgm's GIN index of the names. Ranking: an exact SKU first, then the text rank plus
  the name's similarity.
- **SQLite** (and any other database): today's behaviour, the name or an active variant's SKU
  containing the text, case-insensitively; an exact SKU first, then by name.

The matched products carry `search_rank` (higher is better) for the "Best match" sort.
"""

import re

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector, TrigramWordSimilarity
from django.db import connections
from django.db.models import Case, Exists, F, FloatField, OuterRef, Q, QuerySet, Value, When

from .models import Product, Variant

# The text-search configuration of both the index and the queries: they must be the same for the
# index to be used. Changing it needs a migration that rebuilds `shop_product_search_vector`.
SEARCH_CONFIG = "english"
EXACT_SKU_BONUS = 100.0  # above any text rank plus similarity (each at most 1)


def product_search_vector() -> SearchVector:
    """The weighted document of a product; the expression of the GIN index, so the same in queries."""
    return SearchVector("name", weight="A", config=SEARCH_CONFIG) + SearchVector(
        "description", weight="C", config=SEARCH_CONFIG
    )


def _sku_variants(query: str) -> QuerySet[Variant]:
    return Variant.objects.filter(is_active=True, sku__icontains=query)


def _exact_sku(query: str) -> Exists:
    return Exists(Variant.objects.filter(product=OuterRef("pk"), is_active=True, sku__iexact=query))


def _postgres(products: QuerySet[Product], query: str) -> QuerySet[Product]:
    text_query = SearchQuery(query, config=SEARCH_CONFIG, search_type="websearch")
    # One subquery, the UNION of what each index finds: PostgreSQL estimates its size from the indexes,
    # so the page's plan stays small (an OR of three subqueries was estimated at most of the catalog,
    # which made the planner scan it and compile the query with JIT: 1.5 s instead of 0.1 s at 100k).
    by_text = Product.objects.annotate(document=product_search_vector()).filter(document=text_query)
    found = by_text.order_by().values("pk").union(_sku_variants(query).order_by().values("product_id"))
    if not found.exists():  # one query more than on SQLite, the same for every page
        # No word and no SKU matched: a typo ("backpak") or part of a word ("kett"): names with a word
        # close to it (the trigram index), or containing it as SQLite's search does (a scan of names).
        # `~*` (iregex) of the text taken literally, not `icontains`: pg_trgm's index answers both.
        similar = Q(name__trigram_word_similar=query) | Q(name__iregex=re.escape(query))
        found = Product.objects.filter(similar).order_by().values("pk")
    return products.filter(pk__in=found).annotate(
        search_rank=Case(When(_exact_sku(query), then=Value(EXACT_SKU_BONUS)), default=Value(0.0))
        + SearchRank(product_search_vector(), text_query)
        + TrigramWordSimilarity(query, "name")
    )


def _fallback(products: QuerySet[Product], query: str) -> QuerySet[Product]:
    sku_match = _sku_variants(query).filter(product=OuterRef("pk"))
    matching = products.filter(Q(name__icontains=query) | Exists(sku_match))
    return matching.annotate(
        search_rank=Case(When(_exact_sku(query), then=Value(EXACT_SKU_BONUS)), default=Value(0.0))
    )


def products_matching(*, products: QuerySet[Product], query: str) -> QuerySet[Product]:
    """`products` narrowed to those matching `query` (stripped; empty: all of them, unranked), each
    annotated with `search_rank`. Each product appears once, however many of its variants match."""
    query = query.strip()
    if not query:
        return products.annotate(search_rank=Value(0.0, output_field=FloatField()))
    if connections[products.db].vendor == "postgresql":
        return _postgres(products, query)
    return _fallback(products, query)


def search_rank_ordering() -> tuple:
    """The "Best match" order: highest rank first, then by name; total (ends with the pk)."""
    return (F("search_rank").desc(), "name", "pk")
