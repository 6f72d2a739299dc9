"""Plans: what the demo catalog should contain, before the database is asked.

The first products are the hand-written ones, taken round-robin over the categories; beyond
those, products are generated from a seed. Product number n is the same for a given seed whatever
the number of products asked for, so growing the catalog only adds products.
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


def _curated_plans(count: int) -> list[ProductPlan]:
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
        plans.append(
            ProductPlan(
                slug=slugify(spec.name),
                name=spec.name,
                description=spec.description,
                category=spec.category,
                featured=spec.featured,
                variants=_curated_variants(spec),
                substitutes=[slugify(p.name) for p in similar],
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
        )


def product_plans(*, products: int, rng_seed: int) -> Iterator[ProductPlan]:
    """The plans of the first `products` products: hand-written ones first, then generated ones."""
    curated = _curated_plans(min(products, len(CURATED_PRODUCTS)))
    yield from curated
    yield from _generated_plans(count=products - len(curated), rng_seed=rng_seed)
