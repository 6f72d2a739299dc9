"""The demo catalog that `manage.py seed_demo` puts in an empty shop.

A hand-written part (12 categories, 45 products with sizes and colours) is what a
visitor sees by default; `products=N` tops it up with generated products such as
"Trail Jacket 0412" so the shop can be tried with a catalog of 10,000+ products.

Every row is keyed by its unique slug or SKU and written in bulk, one round of
queries per chunk of products: seeding again creates nothing, and the number of
queries grows with the number of chunks, never with the number of products.
Randomness comes from one seed, so the same seed always gives the same catalog.
"""

import itertools
import random
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from django.db import transaction
from django.utils.text import slugify
from tqdm import tqdm

from .models import Category, Product, Variant

CHUNK_SIZE = 1000  # products per round of existence checks and inserts
BATCH_SIZE = 1000  # rows per INSERT (Django lowers it further on SQLite)

T = TypeVar("T")


# --- Categories --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategorySpec:
    name: str
    slug: str
    description: str
    parent: str | None = None  # slug of the parent; None for a top-level category
    position: int = 0


def _tree(*branches: tuple[str, str, str, list[tuple[str, str, str]]]) -> list[CategorySpec]:
    """Flatten (name, slug, description, children) branches into specs, parents first."""
    specs = [
        CategorySpec(name, slug, text, position=i * 10) for i, (name, slug, text, _) in enumerate(branches)
    ]
    for _name, parent, _text, children in branches:
        specs += [
            CategorySpec(n, s, t, parent=parent, position=i * 10) for i, (n, s, t) in enumerate(children)
        ]
    return specs


CATEGORIES = _tree(
    (
        "Outdoor",
        "outdoor",
        "Shelter, packs and sleep systems for nights outside.",
        [
            ("Tents", "tents", "Dome, tunnel and ultralight tents for one to six people."),
            ("Backpacks", "backpacks", "Daypacks to expedition packs, fitted by back length."),
            ("Sleeping gear", "sleeping-gear", "Sleeping bags, quilts, mats and pillows."),
        ],
    ),
    (
        "Kitchen",
        "kitchen",
        "Pans, knives and brewing kit that last for decades.",
        [
            ("Cookware", "cookware", "Cast iron, carbon steel and stainless pans and pots."),
            ("Knives", "knives", "Forged kitchen knives and the stones to keep them sharp."),
            ("Coffee & tea", "coffee-tea", "Grinders, kettles and brewers for the morning ritual."),
        ],
    ),
    (
        "Apparel",
        "apparel",
        "Clothing for the trail and the town.",
        [
            ("Jackets", "jackets", "Rain shells, down and fleece."),
            ("T-shirts", "t-shirts", "Merino, organic cotton and technical tees."),
            ("Footwear", "footwear", "Boots, trail shoes, sandals and socks."),
        ],
    ),
)
LEAF_CATEGORIES = [c.slug for c in CATEGORIES if c.parent is not None]


# --- Hand-written products ------------------------------------------------------------------------


@dataclass(frozen=True)
class CuratedProduct:
    category: str  # slug of a leaf category
    name: str
    sku: str  # variant SKUs add one code per option value: TENT-ALP2-GRN
    price: str
    description: str
    options: dict[str, list[str]] = field(default_factory=dict)
    price_step: str = "0"  # added per step along the first option (a bigger pan costs more)
    featured: bool = False


SIZES = ["S", "M", "L", "XL"]
OPTION_CODES = {
    "Green": "GRN", "Orange": "ORG", "Sand": "SND", "Grey": "GRY", "Black": "BLK", "Olive": "OLV",
    "Red": "RED", "Navy": "NVY", "Slate": "SLT", "Blue": "BLU", "White": "WHT", "Stainless": "SST",
    "Regular": "REG", "Long": "LNG", "Wide": "WDE",
}  # fmt: skip

CURATED_PRODUCTS = [
    # Tents
    CuratedProduct(
        "tents", "Alpine 2 Tent", "TENT-ALP2", "289.00",
        "A two-person, three-season dome that pitches in under five minutes. Two doors, two vestibules "
        "and a trail weight of 2.1 kg.",
        {"colour": ["Green", "Orange"]}, featured=True,
    ),
    CuratedProduct(
        "tents", "Alpine 3 Tent", "TENT-ALP3", "339.00",
        "The Alpine 2 with room for a third sleeper or a dog. Same colour-coded poles, same storm-proof "
        "geometry.",
        {"colour": ["Green", "Orange"]},
    ),
    CuratedProduct(
        "tents", "Ridgeline 1 Ultralight Tent", "TENT-RDG1", "419.00",
        "A single-wall shelter pitched with trekking poles. 790 g packed, for long-distance walkers who "
        "count every gram.",
    ),
    CuratedProduct(
        "tents", "Meadow 4 Family Tent", "TENT-MDW4", "449.00",
        "Stand-up headroom, two bedrooms and a porch for muddy boots. Built for a fortnight at the same "
        "campsite.",
        {"colour": ["Sand", "Green"]},
    ),
    CuratedProduct(
        "tents", "Basecamp 6 Tunnel Tent", "TENT-BSC6", "629.00",
        "A six-person tunnel tent with a sewn-in groundsheet and blackout bedrooms for light summer "
        "nights.",
    ),
    # Backpacks
    CuratedProduct(
        "backpacks", "Trailhead 28 Daypack", "PACK-TRH28", "89.00",
        "A 28-litre daypack with a ventilated mesh back, a hydration sleeve and a stretch pocket for a "
        "wet jacket.",
        {"colour": ["Black", "Olive", "Red"]}, featured=True,
    ),
    CuratedProduct(
        "backpacks", "Summit 45 Backpack", "PACK-SUM45", "179.00",
        "A 45-litre pack for hut-to-hut trips, with an adjustable harness and a lid that becomes a hip "
        "bag.",
        {"back length": ["S/M", "M/L"], "colour": ["Navy", "Slate"]},
    ),
    CuratedProduct(
        "backpacks", "Expedition 65 Backpack", "PACK-EXP65", "259.00",
        "Carries 20 kg in comfort: aluminium frame, load lifters and a hip belt that moulds to you.",
        {"back length": ["S/M", "M/L"]},
    ),
    CuratedProduct(
        "backpacks", "Commuter 20 Roll-top", "PACK-CMT20", "99.00",
        "A waterproof roll-top with a padded laptop sleeve, made from recycled tarpaulin.",
        {"colour": ["Black", "Grey"]},
    ),
    CuratedProduct(
        "backpacks", "Hydration Vest 10", "PACK-HYD10", "119.00",
        "A running vest that holds two soft flasks, a shell and the mandatory kit of a mountain race.",
        {"size": ["S", "M", "L"]},
    ),
    # Sleeping gear
    CuratedProduct(
        "sleeping-gear", "Down 0° Sleeping Bag", "SLBG-DWN0", "349.00",
        "Responsibly sourced 800-fill down, comfortable to 0 °C, packing down to the size of a loaf.",
        {"length": ["Regular", "Long"]}, price_step="30.00", featured=True,
    ),
    CuratedProduct(
        "sleeping-gear", "Synthetic 5° Sleeping Bag", "SLBG-SYN5", "149.00",
        "Keeps its warmth when damp. The sensible choice for wet climates and first trips.",
        {"length": ["Regular", "Long"]}, price_step="15.00",
    ),
    CuratedProduct(
        "sleeping-gear", "Summer Quilt", "SLBG-QLT", "129.00",
        "An open quilt with strap clips for warm nights, when a zipped bag is too much.",
    ),
    CuratedProduct(
        "sleeping-gear", "Insulated Sleeping Mat", "SLBG-MAT", "139.00",
        "An R-value of 4.2 in a mat that inflates in twelve breaths with the pump sack included.",
        {"width": ["Regular", "Wide"]}, price_step="20.00",
    ),
    CuratedProduct(
        "sleeping-gear", "Camp Pillow", "SLBG-PLW", "29.00",
        "An inflatable pillow with a brushed cover that does not slide off the mat.",
        {"colour": ["Grey", "Blue"]},
    ),
    # Cookware
    CuratedProduct(
        "cookware", "Cast Iron Skillet", "COOK-CIS", "39.00",
        "Pre-seasoned cast iron that sears, bakes and goes from hob to campfire to oven.",
        {"size": ["20 cm", "26 cm", "30 cm"]}, price_step="15.00", featured=True,
    ),
    CuratedProduct(
        "cookware", "Stainless Saucepan Set", "COOK-SSS", "149.00",
        "Three tri-ply saucepans with lids, for every hob including induction.",
    ),
    CuratedProduct(
        "cookware", "Enamelled Dutch Oven", "COOK-DOV", "189.00",
        "A 5-litre enamelled cast-iron casserole for slow stews and no-knead bread.",
        {"colour": ["Red", "Blue", "White"]},
    ),
    CuratedProduct(
        "cookware", "Carbon Steel Wok", "COOK-WOK", "69.00",
        "Hand-hammered carbon steel that turns non-stick with use. A flat base for modern hobs.",
    ),
    CuratedProduct(
        "cookware", "Non-stick Frying Pan", "COOK-NFP", "49.00",
        "A PFAS-free ceramic coating on a heavy aluminium base that spreads heat evenly.",
        {"size": ["24 cm", "28 cm"]}, price_step="10.00",
    ),
    # Knives
    CuratedProduct(
        "knives", "Chef's Knife 20 cm", "KNIF-CHF20", "119.00",
        "Forged from one piece of stainless steel and balanced at the bolster. The knife for everything.",
        featured=True,
    ),
    CuratedProduct(
        "knives", "Santoku Knife 18 cm", "KNIF-SAN18", "109.00",
        "A Japanese-style all-rounder with a hollow-ground edge that keeps slices from sticking.",
    ),
    CuratedProduct(
        "knives", "Paring Knife 9 cm", "KNIF-PAR9", "39.00",
        "For peeling, trimming and all the small jobs in the hand.",
    ),
    CuratedProduct(
        "knives", "Bread Knife 23 cm", "KNIF-BRD23", "79.00",
        "A scalloped edge that cuts a crusty loaf without crushing it.",
    ),
    CuratedProduct(
        "knives", "Whetstone 1000/6000", "KNIF-WHT", "45.00",
        "A two-sided water stone with a non-slip base: coarse side to sharpen, fine side to polish.",
    ),
    # Coffee & tea
    CuratedProduct(
        "coffee-tea", "Gooseneck Pour-over Kettle", "BREW-GNK", "79.00",
        "A one-litre kettle with a precise spout and a thermometer in the lid.",
        {"colour": ["Black", "White"]},
    ),
    CuratedProduct(
        "coffee-tea", "Hand Burr Grinder", "BREW-HBG", "99.00",
        "Steel conical burrs and 40 click settings, from espresso to cold brew.",
        featured=True,
    ),
    CuratedProduct(
        "coffee-tea", "Glass Pour-over Dripper", "BREW-DRP", "29.00",
        "A borosilicate dripper with spiral ribs for an even extraction.",
    ),
    CuratedProduct(
        "coffee-tea", "French Press 1 L", "BREW-FPR", "45.00",
        "A double-walled press that keeps coffee hot for an hour; the mesh filter comes apart to clean.",
        {"colour": ["Stainless", "Black"]},
    ),
    CuratedProduct(
        "coffee-tea", "Cast Iron Teapot", "BREW-TPT", "59.00",
        "A 0.8-litre tetsubin-style teapot with a removable stainless infuser.",
        {"colour": ["Black", "Red"]},
    ),
    # Jackets
    CuratedProduct(
        "jackets", "Stormline Rain Jacket", "JKT-STRM", "189.00",
        "A three-layer waterproof, breathable shell with pit zips and a helmet-compatible hood.",
        {"size": SIZES, "colour": ["Navy", "Red"]}, featured=True,
    ),
    CuratedProduct(
        "jackets", "Ridge Down Jacket", "JKT-RDGD", "249.00",
        "Warmth for its weight: 700-fill down in a windproof shell that stuffs into its own pocket.",
        {"size": SIZES, "colour": ["Black", "Olive"]},
    ),
    CuratedProduct(
        "jackets", "Trail Fleece Jacket", "JKT-TFLC", "89.00",
        "A grid fleece that breathes on the climb and stays warm at the top.",
        {"size": ["S", "M", "L"]},
    ),
    CuratedProduct(
        "jackets", "Windbreaker Shell", "JKT-WIND", "99.00",
        "A 90-gram wind shell that lives in a pocket until the weather turns.",
        {"size": SIZES},
    ),
    CuratedProduct(
        "jackets", "Insulated Parka", "JKT-PRKA", "329.00",
        "A thigh-length parka for winter cities: waterproof outside, synthetic fill inside.",
        {"size": ["M", "L", "XL"]},
    ),
    # T-shirts
    CuratedProduct(
        "t-shirts", "Merino Crew Tee", "TEE-MERC", "65.00",
        "150 g/m² merino wool that stays fresh for days on the trail.",
        {"size": SIZES, "colour": ["Black", "Grey"]},
    ),
    CuratedProduct(
        "t-shirts", "Organic Cotton Tee", "TEE-ORGC", "29.00",
        "A heavyweight organic cotton T-shirt with a relaxed fit.",
        {"size": SIZES, "colour": ["White", "Navy", "Olive"]}, featured=True,
    ),
    CuratedProduct(
        "t-shirts", "Trail Running Tee", "TEE-TRUN", "39.00",
        "A featherweight technical tee with flat seams that do not chafe.",
        {"size": ["S", "M", "L"]},
    ),
    CuratedProduct(
        "t-shirts", "Long-sleeve Base Layer", "TEE-BASE", "55.00",
        "A close-fitting first layer that moves sweat away from the skin.",
        {"size": SIZES},
    ),
    CuratedProduct(
        "t-shirts", "Graphic Mountain Tee", "TEE-GRPH", "32.00",
        "A soft cotton tee with a screen-printed contour map of the Matterhorn.",
        {"size": ["S", "M", "L"]},
    ),
    # Footwear
    CuratedProduct(
        "footwear", "Ridgewalker Hiking Boot", "SHOE-RDGW", "179.00",
        "A waterproof leather boot with a Vibram sole, resoleable when the tread wears out.",
        {"size": ["EU 40", "EU 41", "EU 42", "EU 43", "EU 44", "EU 45"]}, featured=True,
    ),
    CuratedProduct(
        "footwear", "Trail Runner", "SHOE-TRLR", "139.00",
        "A cushioned trail shoe with a rock plate and a grippy, lugged outsole.",
        {"size": ["EU 39", "EU 40", "EU 41", "EU 42", "EU 43", "EU 44", "EU 45"]},
    ),
    CuratedProduct(
        "footwear", "Approach Shoe", "SHOE-APPR", "149.00",
        "Sticky rubber for scrambling to the foot of the climb, stiff enough for the walk out.",
        {"size": ["EU 40", "EU 41", "EU 42", "EU 43", "EU 44"]},
    ),
    CuratedProduct(
        "footwear", "Camp Sandal", "SHOE-SNDL", "59.00",
        "A recycled-strap sandal for camp, river crossings and the walk to the shower block.",
        {"size": ["EU 38", "EU 40", "EU 42", "EU 44", "EU 46"]},
    ),
    CuratedProduct(
        "footwear", "Merino Hiking Socks", "SHOE-SOCK", "22.00",
        "Cushioned merino socks with a seamless toe, sold as a pair.",
        {"size": ["S", "M", "L"]},
    ),
]  # fmt: skip
DEFAULT_PRODUCTS = len(CURATED_PRODUCTS)


# --- Generated products (for large catalogs) ---------------------------------------------------------


@dataclass(frozen=True)
class ProductLine:
    """How to invent believable products for one leaf category."""

    code: str  # SKU prefix
    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]
    prices: tuple[int, int]  # whole euros, inclusive
    option: str
    values: tuple[str, ...]
    blurbs: tuple[str, ...]


PRODUCT_LINES = {
    "tents": ProductLine(
        "TENT", ("Alpine", "Ridge", "Fjord", "Canyon", "Highland"), ("Tent", "Shelter", "Tarp Tent"),
        (120, 650), "colour", ("Green", "Orange", "Sand", "Grey"),
        ("Pitches in minutes, fly first.", "Taped seams and a 3000 mm fly.", "Two doors, two porches.",
         "Colour-coded poles and clips.", "Packs small enough for a bike trip."),
    ),
    "backpacks": ProductLine(
        "PACK", ("Trail", "Summit", "Valley", "Scree", "Cairn"), ("Daypack", "Backpack", "Pack"),
        (49, 289), "colour", ("Black", "Olive", "Red", "Navy"),
        ("A ventilated mesh back.", "Hip-belt pockets for snacks.", "Made from recycled nylon.",
         "A hydration sleeve and hose port.", "An adjustable harness."),
    ),
    "sleeping-gear": ProductLine(
        "SLBG", ("Ember", "Glacier", "Bivouac", "Twilight", "Aurora"), ("Sleeping Bag", "Quilt", "Mat"),
        (29, 399), "size", ("Regular", "Long", "Wide"),
        ("Comfortable well below freezing.", "Packs into its own stuff sack.", "A full-length zip.",
         "A hood that cinches with one hand.", "Tested to EN ISO 23537."),
    ),
    "cookware": ProductLine(
        "COOK", ("Hearth", "Forge", "Copperline", "Heritage", "Ironclad"),
        ("Skillet", "Saucepan", "Sauté Pan"),
        (25, 220), "size", ("20 cm", "24 cm", "28 cm"),
        ("Works on induction.", "Oven-safe to 260 °C.", "A riveted stay-cool handle.",
         "Heavy base, even heat.", "Dishwasher-safe."),
    ),
    "knives": ProductLine(
        "KNIF", ("Damascus", "Nordic", "Atelier", "Tosa", "Solingen"),
        ("Chef's Knife", "Utility Knife", "Cleaver"),
        (25, 260), "handle", ("Walnut", "Olive", "Black"),
        ("Hand-sharpened to 15°.", "A full tang for balance.", "Comes with a magnetic sheath.",
         "Forged from one bar of steel.", "A lifetime sharpening service."),
    ),
    "coffee-tea": ProductLine(
        "BREW", ("Morning", "Roastery", "Kyoto", "Barista", "Slowdrip"), ("Kettle", "Grinder", "Dripper"),
        (15, 180), "colour", ("Black", "White", "Stainless"),
        ("Brews a cup in four minutes.", "Borosilicate glass.", "Stainless steel burrs.",
         "A spout made for slow pouring.", "Fits in a rucksack side pocket."),
    ),
    "jackets": ProductLine(
        "JKT", ("Trail", "Storm", "Summit", "Coastal", "Tundra"), ("Jacket", "Shell", "Parka", "Anorak"),
        (59, 399), "size", tuple(SIZES),
        ("Fully taped seams.", "Pit zips for the climb.", "A hood that turns with your head.",
         "PFC-free water repellency.", "Packs into its own chest pocket."),
    ),
    "t-shirts": ProductLine(
        "TEE", ("Merino", "Everyday", "Ultralight", "Organic", "Basecamp"), ("Tee", "Crew", "Base Layer"),
        (19, 79), "size", tuple(SIZES),
        ("Flat seams that never chafe.", "Stays fresh for days.", "Organic cotton, fairly made.",
         "A relaxed fit.", "Fast-drying fabric."),
    ),
    "footwear": ProductLine(
        "SHOE", ("Ridgewalker", "Scree", "Bog", "Tarmac", "Canyon"), ("Boot", "Trail Shoe", "Sandal"),
        (39, 259), "size", ("EU 39", "EU 40", "EU 41", "EU 42", "EU 43", "EU 44", "EU 45"),
        ("A resoleable Vibram outsole.", "A waterproof membrane.", "A wide toe box.",
         "Recycled laces and lining.", "Grips on wet rock."),
    ),
}  # fmt: skip
CENTS = (Decimal("0.00"), Decimal("0.50"), Decimal("0.90"), Decimal("0.95"))


# --- Plans: what the catalog should contain, before the database is asked ------------------------------


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


def _product_plans(*, products: int, rng_seed: int) -> Iterator[ProductPlan]:
    curated = _curated_plans(min(products, len(CURATED_PRODUCTS)))
    yield from curated
    yield from _generated_plans(count=products - len(curated), rng_seed=rng_seed)


# --- Writing the plans ------------------------------------------------------------------------------


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
    return ids, len(missing)


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
    plans = _product_plans(products=products, rng_seed=rng_seed)
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
