"""Writing the demo catalog's plans: `seed_catalog`, in bulk, creating only what is missing.

Every row is keyed by its unique slug or SKU and written in bulk, one round of
queries per chunk of products: seeding again creates nothing, and the number of
queries grows with the number of chunks, never with the number of products.

New products get their picture (drawn by `images`, saved once per picture through
Django's default storage, MEDIA_ROOT: `var/media/products/demo/`) and a listing
date in the past months (`created_at`, which the product page shows as "In our
catalogue since ...").
"""

import itertools
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from shop.models import Category, Product, Variant

from .categories import CATEGORIES
from .images import Picture, picture_png
from .plans import ProductPlan, product_plans

CHUNK_SIZE = 1000  # products per round of existence checks and inserts
BATCH_SIZE = 1000  # rows per INSERT (Django lowers it further on SQLite)

T = TypeVar("T")


@dataclass(frozen=True)
class SeedResult:
    """How many rows one seeding run created (0 everywhere when the catalog was already there)."""

    categories: int
    products: int
    variants: int
    substitute_links: int

    @property
    def created_anything(self) -> bool:
        return any((self.categories, self.products, self.variants, self.substitute_links))

    def summary(self) -> str:
        if not self.created_anything:
            return "Nothing to do: demo catalog already present"
        counts = [
            (self.products, "products"),
            (self.variants, "variants"),
            (self.substitute_links, "substitute links"),
            (self.categories, "categories"),
        ]
        return "Created " + ", ".join(f"{n} {label}" for n, label in counts if n)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _categories_ensure() -> tuple[dict[str, int], int]:
    """Create the missing demo categories; return (slug -> id for all of them, number created)."""
    ids = dict(Category.objects.filter(slug__in=[c.slug for c in CATEGORIES]).values_list("slug", "id"))
    created = 0
    for level in ([c for c in CATEGORIES if c.parent is None], [c for c in CATEGORIES if c.parent]):
        missing = [c for c in level if c.slug not in ids]  # parents first: children need their ids
        if not missing:
            continue
        Category.objects.bulk_create(
            [
                Category(
                    name=c.name,
                    slug=c.slug,
                    description=c.description,
                    parent_id=ids[c.parent] if c.parent else None,
                    position=c.position,
                )
                for c in missing
            ],
            ignore_conflicts=True,
        )
        ids.update(Category.objects.filter(slug__in=[c.slug for c in missing]).values_list("slug", "id"))
        created += len(missing)
    return ids, created


def _products_ensure(chunk: list[ProductPlan], category_ids: dict[str, int]) -> tuple[dict[str, int], int]:
    """Create the chunk's missing products; return (slug -> id for the whole chunk, number created)."""
    ids = dict(Product.objects.filter(slug__in=[p.slug for p in chunk]).values_list("slug", "id"))
    missing = [p for p in chunk if p.slug not in ids]
    if missing:
        Product.objects.bulk_create(
            [
                Product(
                    name=p.name,
                    slug=p.slug,
                    description=p.description,
                    category_id=category_ids[p.category],
                    is_featured=p.featured,
                )
                for p in missing
            ],
            batch_size=BATCH_SIZE,
            ignore_conflicts=True,  # pks are not returned then, hence the query below
        )
        ids.update(Product.objects.filter(slug__in=[p.slug for p in missing]).values_list("slug", "id"))
        # created_at is set by the database row's creation (auto_now_add): backdate it, and attach
        # the picture, in one bulk update (which, unlike a save, keeps the given created_at).
        now = timezone.now()
        Product.objects.bulk_update(
            [
                Product(
                    pk=ids[p.slug],
                    created_at=now - timedelta(minutes=p.listed_minutes_ago),
                    image=_picture_stored(p.picture),
                )
                for p in missing
            ],
            ["created_at", "image"],
            batch_size=BATCH_SIZE,
        )
    return ids, len(missing)


def _picture_stored(picture: Picture) -> str:
    """The picture's file in the default storage, drawn and saved the first time it is needed.

    Its name says what it shows (`Picture.file_name`), so equal pictures are stored once and a
    second seeding, or a second shop on the same MEDIA_ROOT, reuses the file.
    """
    name = picture.file_name
    if default_storage.exists(name):
        return name
    return default_storage.save(name, ContentFile(picture_png(picture)))


def _variants_ensure(chunk: list[ProductPlan], product_ids: dict[str, int]) -> int:
    """Create the chunk's missing variants (by SKU); return how many."""
    planned = [(product_ids[p.slug], v) for p in chunk for v in p.variants]
    existing = set(Variant.objects.filter(sku__in=[v.sku for _, v in planned]).values_list("sku", flat=True))
    new = [
        Variant(
            product_id=product_id,
            sku=v.sku,
            option_values=v.option_values,
            price=v.price,
            position=v.position,
        )
        for product_id, v in planned
        if v.sku not in existing
    ]
    Variant.objects.bulk_create(new, batch_size=BATCH_SIZE, ignore_conflicts=True)
    return len(new)


def _substitutes_ensure(pairs: list[tuple[int, int]]) -> int:
    """Create the missing (from product id, to product id) substitute links; return how many."""
    link = Product.substitutes.through
    created = 0
    for chunk in _chunks(dict.fromkeys(pairs), CHUNK_SIZE):  # dict.fromkeys: unique, in order
        existing = set(
            link.objects.filter(from_product_id__in={a for a, _ in chunk}).values_list(
                "from_product_id", "to_product_id"
            )
        )
        new = [link(from_product_id=a, to_product_id=b) for a, b in chunk if (a, b) not in existing]
        link.objects.bulk_create(new, batch_size=BATCH_SIZE, ignore_conflicts=True)
        created += len(new)
    return created


@transaction.atomic(durable=True)
def seed_catalog(*, products: int, rng_seed: int, progress: bool) -> SeedResult:
    """Make sure the demo catalog with `products` products exists; create only what is missing.

    The first products are the hand-written ones (all of them with the default
    DEFAULT_PRODUCTS); beyond those, products are generated from `rng_seed`.
    One transaction: an interrupted run leaves nothing half-written.
    """
    if products < 0:
        raise ValueError("products must be zero or more")
    category_ids, categories_created = _categories_ensure()
    slug_to_id: dict[str, int] = {}
    links: list[tuple[str, str]] = []
    products_created = variants_created = 0
    plans = product_plans(products=products, rng_seed=rng_seed)
    with tqdm(total=products, unit=" products", disable=not progress, file=sys.stderr) as bar:
        for chunk in _chunks(plans, CHUNK_SIZE):
            ids, created = _products_ensure(chunk, category_ids)
            slug_to_id.update(ids)
            products_created += created
            variants_created += _variants_ensure(chunk, ids)
            links += [pair for p in chunk for s in p.substitutes for pair in ((p.slug, s), (s, p.slug))]
            bar.update(len(chunk))
    # Links last: a substitute may be planned in a later chunk than the product that names it.
    links_created = _substitutes_ensure([(slug_to_id[a], slug_to_id[b]) for a, b in links])
    return SeedResult(
        categories=categories_created,
        products=products_created,
        variants=variants_created,
        substitute_links=links_created,
    )
