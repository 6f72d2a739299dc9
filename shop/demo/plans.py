"""Plans: what the demo catalog should contain, before the database is asked.

The first products are the hand-written ones, taken round-robin over the categories; beyond
those, products are generated from a seed. Product number n is the same for a given seed whatever
the number of products asked for, so growing the catalog only adds products. Each plan also says
what its picture shows (`images.Picture`) and how long ago the product was listed, so the shop
reads like one that has been selling for a while rather than one that opened today.
"""

import itertools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.utils.text import slugify

from .categories import LEAF_CATEGORIES
from .curated import CURATED_PRODUCTS, OPTION_CODES, CuratedProduct
from .generated import CENTS, PRODUCT_LINES
from .images import Picture, colour_for, monogram_for, shape_for

# Products were listed between these many days ago: before any demo order (placed up to 30 days ago).
LISTED_DAYS_AGO = (45, 720)


@dataclass(frozen=True)
class VariantPlan:
    sku: str
    option_values: dict[str, str]
    price: Decimal
    position: int


@dataclass(frozen=True)
class ProductPlan:
    slug: str
    name: str
    description: str
    category: str  # leaf category slug
    featured: bool
    variants: list[VariantPlan]
    substitutes: list[str]  # slugs of similar products, linked both ways
    picture: Picture
    listed_minutes_ago: int  # the product's created_at is this long before seeding


def _listed_minutes_ago(slug: str, rng_seed: int) -> int:
    """How long ago the product was listed: a day in LISTED_DAYS_AGO and a time of day, from the seed."""
    rng = random.Random(f"{rng_seed}:listed:{slug}")
    return rng.randint(*LISTED_DAYS_AGO) * 24 * 60 + rng.randint(0, 24 * 60 - 1)


def _picture(*, name: str, slug: str, category: str, variants: list[VariantPlan], monogram: bool) -> Picture:
    return Picture(
        shape=shape_for(name, category),
        colour=colour_for(slug=slug, category=category, option_values=variants[0].option_values),
        monogram=monogram_for(name) if monogram else "",
    )


def _option_code(value: str) -> str:
    return OPTION_CODES.get(value) or re.sub(r"[^0-9A-Z]", "", value.upper())


def _curated_variants(spec: CuratedProduct) -> list[VariantPlan]:
    if not spec.options:
        return [VariantPlan(sku=spec.sku, option_values={}, price=Decimal(spec.price), position=0)]
    axes = list(spec.options)
    combos = itertools.product(*(list(enumerate(spec.options[axis])) for axis in axes))
    plans = []
    for position, combo in enumerate(combos):
        step = combo[0][0]  # index along the first option, e.g. the pan size
        plans.append(
            VariantPlan(
                sku="-".join([spec.sku, *(_option_code(value) for _, value in combo)]),
                option_values={axis: value for axis, (_, value) in zip(axes, combo, strict=True)},
                price=Decimal(spec.price) + Decimal(spec.price_step) * step,
                position=position,
            )
        )
    return plans


def _curated_plans(count: int, rng_seed: int) -> list[ProductPlan]:
    """The first `count` hand-written products, taken round-robin so every category gets some."""
    by_category = [[p for p in CURATED_PRODUCTS if p.category == slug] for slug in LEAF_CATEGORIES]
    chosen = [p for row in itertools.zip_longest(*by_category) for p in row if p is not None][:count]
    plans = []
    for spec in chosen:
        # The two products of the same category closest in price stand in for this one.
        similar = sorted(
            (p for p in chosen if p.category == spec.category and p is not spec),
            key=lambda p: abs(Decimal(p.price) - Decimal(spec.price)),
        )[:2]
        slug, variants = slugify(spec.name), _curated_variants(spec)
        plans.append(
            ProductPlan(
                slug=slug,
                name=spec.name,
                description=spec.description,
                category=spec.category,
                featured=spec.featured,
                variants=variants,
                substitutes=[slugify(p.name) for p in similar],
                # One picture per hand-written product, with its monogram.
                picture=_picture(
                    name=spec.name, slug=slug, category=spec.category, variants=variants, monogram=True
                ),
                listed_minutes_ago=_listed_minutes_ago(slug, rng_seed),
            )
        )
    return plans


def _generated_plans(*, count: int, rng_seed: int) -> Iterator[ProductPlan]:
    """`count` invented products; product number n is the same for a given seed whatever `count` is."""
    previous_in_category: dict[str, str] = {}
    for number in range(1, count + 1):
        rng = random.Random(f"{rng_seed}:{number}")
        category = rng.choice(LEAF_CATEGORIES)
        line = PRODUCT_LINES[category]
        name = f"{rng.choice(line.adjectives)} {rng.choice(line.nouns)} {number:04d}"
        price = Decimal(rng.randint(*line.prices)) + rng.choice(CENTS)
        sku = f"{line.code}-{number:05d}"
        picked = sorted(rng.sample(range(len(line.values)), rng.choice((1, 2, 2, 3))))
        if len(picked) == 1:
            variants = [VariantPlan(sku=sku, option_values={}, price=price, position=0)]
        else:
            variants = [
                VariantPlan(
                    sku=f"{sku}-{_option_code(line.values[i])}",
                    option_values={line.option: line.values[i]},
                    price=price,
                    position=position,
                )
                for position, i in enumerate(picked)
            ]
        slug = slugify(name)
        previous = previous_in_category.get(category)
        previous_in_category[category] = slug
        yield ProductPlan(
            slug=slug,
            name=name,
            description=" ".join(rng.sample(line.blurbs, 2)),
            category=category,
            featured=rng.random() < 0.01,
            variants=variants,
            substitutes=[previous] if previous else [],
            # Thousands of products share one picture per shape and colour (no monogram).
            picture=_picture(name=name, slug=slug, category=category, variants=variants, monogram=False),
            listed_minutes_ago=_listed_minutes_ago(slug, rng_seed),
        )


def product_plans(*, products: int, rng_seed: int) -> Iterator[ProductPlan]:
    """The plans of the first `products` products: hand-written ones first, then generated ones."""
    curated = _curated_plans(min(products, len(CURATED_PRODUCTS)), rng_seed)
    yield from curated
    yield from _generated_plans(count=products - len(curated), rng_seed=rng_seed)
